"""Concurrent appenders make one chain: the lock serialises them, the key backs it up."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from socialcredit.audit import append, verify
from socialcredit.audit import chain as chain_mod
from socialcredit.db.engine import make_engine
from socialcredit.db.models import AuditEntry


def slow_last(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the window between reading the last entry and inserting after it."""
    real: Callable[[Connection], tuple[int, str]] = chain_mod._last

    def last(conn: Connection) -> tuple[int, str]:
        found = real(conn)
        time.sleep(0.002)
        return found

    monkeypatch.setattr(chain_mod, "_last", last)


def run_threads(engine: Engine, n_threads: int, per_thread: int) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(n_threads)

    def worker(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            try:
                with engine.begin() as conn:
                    append(
                        conn, actor=f"t{t}", role="admin", action="x", outcome="ok", detail={"i": i}
                    )
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return errors


def test_two_threads_one_chain(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    slow_last(monkeypatch)
    errors = run_threads(engine, 2, 60)
    assert errors == []
    result = verify(engine)
    assert result.ok, result.problems
    assert result.count == 120


def test_many_threads_one_chain(engine: Engine) -> None:
    assert run_threads(engine, 8, 50) == []
    result = verify(engine)
    assert result.ok and result.count == 400


def test_without_the_lock_appends_fail_but_never_fork(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The control: this race is real, and the primary key is what stops a fork.
    slow_last(monkeypatch)
    monkeypatch.setattr(chain_mod, "_lock", lambda conn: None)
    errors = run_threads(engine, 2, 60)
    assert errors and all(isinstance(e, IntegrityError) for e in errors)
    result = verify(engine)
    assert result.ok
    assert result.count == 120 - len(errors)


def _append_in_process(url: str, tag: str, n: int, start: Any) -> None:
    eng = make_engine(url)
    start.wait(60)
    for i in range(n):
        with eng.begin() as conn:
            append(conn, actor=tag, role="admin", action="x", outcome="ok", detail={"i": i})
    eng.dispose()


def test_two_processes_on_sqlite(sqlite_url: str, sqlite_engine: Engine) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)  # both processes start appending at the same moment
    procs = [
        ctx.Process(target=_append_in_process, args=(sqlite_url, f"p{k}", 300, start))
        for k in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    result = verify(sqlite_engine)
    assert result.ok, result.problems
    assert result.count == 600
    with sqlite_engine.connect() as conn:
        actors = list(conn.scalars(select(AuditEntry.actor).order_by(AuditEntry.seq)))
    assert Counter(actors) == {"p0": 300, "p1": 300}
