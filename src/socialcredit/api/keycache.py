"""A short-lived, in-process cache of authenticated keys.

Looking a key up costs a database round trip and a worker thread on every request,
which is most of what a cheap endpoint costs. The cache keeps a key's principal for
a few seconds (``ApiSettings.key_cache_seconds``), so a revoked key, or a scope that
was narrowed, stops working within that time rather than at once; 0 turns it off.
Only keys that authenticated are kept, by hash, never the key itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from socialcredit.access import Principal

# Enough for every key of a large deployment; past it the cache starts over.
_MAX_ENTRIES = 50_000


class KeyCache:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> Principal | None:
        if self.seconds <= 0:
            return None
        found = self._entries.get(key_hash)
        if found is None:
            return None
        principal, expires = found
        if self.clock() >= expires:
            with self._lock:
                self._entries.pop(key_hash, None)
            return None
        return principal

    def put(self, key_hash: str, principal: Principal) -> None:
        if self.seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[key_hash] = (principal, self.clock() + self.seconds)
