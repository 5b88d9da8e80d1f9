"""A token bucket per API key, in process.

In process is enough for one server; behind several workers each has its own
buckets, so the effective limit is the per-worker limit times the workers, which
the settings should account for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Buckets that are full again carry no information; past this many, they are dropped.
_MAX_BUCKETS = 10_000


class RateLimiter:
    def __init__(
        self,
        *,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate limit needs per_minute > 0 and burst >= 1")
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[object, tuple[float, float]] = {}  # key -> (tokens, stamp)
        self._lock = threading.Lock()

    def take(self, key: object) -> float | None:
        """Spend one token; None if allowed, else the seconds until one is available."""
        now = self._clock()
        with self._lock:
            tokens, stamp = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - stamp) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > _MAX_BUCKETS:
                    self._prune(now)
                return None
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        full = [
            k
            for k, (tokens, stamp) in self._buckets.items()
            if tokens + (now - stamp) * self.rate >= self.burst
        ]
        for k in full:
            del self._buckets[k]
