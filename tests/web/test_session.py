"""Server-side sessions: idle and absolute expiry, and a bounded store."""

from __future__ import annotations

import pytest

from socialcredit.web import session as session_module
from socialcredit.web.session import SessionStore
from socialcredit.web.settings import WebSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sessions_expire_when_idle_and_at_their_maximum() -> None:
    clock = Clock()
    store = SessionStore(
        WebSettings(secret="s", session_idle_seconds=60, session_max_seconds=150), clock=clock
    )
    session = store.create("sc_sub_key")
    clock.now += 59
    assert store.get(session.sid) is session
    clock.now += 59  # idle time restarts at each use
    assert store.get(session.sid) is session
    clock.now += 61
    assert store.get(session.sid) is None
    other = store.create("sc_sub_key")
    for _ in range(3):
        clock.now += 50
        assert store.get(other.sid) is other
    clock.now += 50
    assert store.get(other.sid) is None  # used every 50 s, but now older than 150 s


def test_the_store_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    store = SessionStore(WebSettings(secret="s"), clock=clock)
    monkeypatch.setattr(session_module, "MAX_SESSIONS", 3)
    first = store.create("k1")
    for key in ("k2", "k3", "k4"):
        clock.now += 1
        store.create(key)
    assert len(store) == 3
    assert store.get(first.sid) is None  # the least recently used went first
