"""Appending: the documented hash format, linking, validation, transactions, queries."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from itertools import pairwise

import pytest
from sqlalchemy import Engine, func, select

from socialcredit.audit import (
    GENESIS_HASH,
    AuditError,
    AuditEvent,
    GroupCommitter,
    accesses,
    append,
    append_many,
    checkpoint,
    recent,
    verify,
)
from socialcredit.db.models import AuditEntry

from .helpers import UTC_NAIVE, fill


def test_hash_follows_the_documented_format(engine: Engine) -> None:
    with engine.begin() as conn:
        first = append(
            conn,
            actor="key:ab12",
            role="relying_party",
            purpose="school_admission",
            subject_id=42,
            action="measures.query",
            outcome="ok",
            detail={"z": 1, "学校": "复旦附中"},
            at=UTC_NAIVE,
        )
    # Written out by hand from the module docstring, as an outside verifier would.
    expected_detail = '{"z":1,"学校":"复旦附中"}'
    payload = (
        '{"action":"measures.query","actor":"key:ab12","at":"2026-11-27T09:30:00.120000",'
        f'"detail":{json.dumps(expected_detail, ensure_ascii=False)},"outcome":"ok",'
        f'"prev_hash":"{GENESIS_HASH}","purpose":"school_admission","role":"relying_party",'
        '"seq":1,"subject_id":42}'
    )
    assert first.seq == 1
    assert first.prev_hash == GENESIS_HASH
    assert first.detail == expected_detail
    assert first.hash == hashlib.sha256(payload.encode("utf-8")).hexdigest()

    with engine.connect() as conn:
        stored = conn.execute(select(AuditEntry.__table__)).one()
    assert stored.hash == first.hash
    assert stored.at == UTC_NAIVE  # microseconds survive the round trip


def test_entries_link_and_verify(engine: Engine) -> None:
    records = fill(engine, 25)
    assert [r.seq for r in records] == list(range(1, 26))
    for before, after in pairwise(records):
        assert after.prev_hash == before.hash
    result = verify(engine)
    assert result.ok, result.problems
    assert (result.count, result.last_seq, result.root_hash) == (25, 25, records[-1].hash)
    cp = checkpoint(engine)
    assert (cp.root_hash, cp.count) == (records[-1].hash, 25)


def test_empty_log_verifies(engine: Engine) -> None:
    result = verify(engine)
    assert result.ok
    assert (result.count, result.root_hash) == (0, GENESIS_HASH)
    cp = checkpoint(engine)
    assert (cp.root_hash, cp.count) == (GENESIS_HASH, 0)
    assert verify(engine, checkpoint=cp).ok


def test_aware_times_are_stored_as_utc(engine: Engine) -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    with engine.begin() as conn:
        rec = append(
            conn,
            actor="a",
            role="admin",
            action="x",
            outcome="ok",
            at=dt.datetime(2026, 11, 27, 17, 30, tzinfo=shanghai),
        )
    assert rec.at == dt.datetime(2026, 11, 27, 9, 30)
    assert verify(engine).ok


def test_rolled_back_append_leaves_no_trace(engine: Engine) -> None:
    fill(engine, 3)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        append(conn, actor="a", role="admin", action="x", outcome="ok")
        raise RuntimeError("the caller's work failed")
    fill(engine, 2, start=3)
    result = verify(engine)
    assert result.ok and result.count == 5


def test_append_many_is_one_consecutive_run(engine: Engine) -> None:
    fill(engine, 2)
    events = [AuditEvent(actor=f"a{i}", role="admin", action="x", outcome="ok") for i in range(300)]
    with engine.begin() as conn:
        records = append_many(conn, events)
        assert append_many(conn, []) == []
    assert [r.seq for r in records] == list(range(3, 303))
    assert len({r.at for r in records}) == 1  # stamped once, under the lock
    assert verify(engine).ok


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("actor", "x" * 101, "longer than 100"),
        ("role", "", "non-empty"),
        ("purpose", "p" * 61, "longer than 60"),
        ("action", "a\x00b", "NUL"),
        ("outcome", None, "non-empty"),
        ("subject_id", "42", "integer"),
        ("subject_id", True, "integer"),
        ("detail", ["not", "a", "mapping"], "mapping"),
    ],
)
def test_bad_values_fail_before_the_database(
    sqlite_engine: Engine, field: str, value: object, message: str
) -> None:
    engine = sqlite_engine  # validation does not depend on the back end
    kwargs: dict[str, object] = {"actor": "a", "role": "admin", "action": "x", "outcome": "ok"}
    kwargs[field] = value
    with pytest.raises(AuditError, match=message), engine.begin() as conn:
        append(conn, **kwargs)  # type: ignore[arg-type]
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_accesses_lists_who_touched_a_file(engine: Engine) -> None:
    with engine.begin() as conn:
        append(
            conn,
            actor="rp:school",
            role="relying_party",
            purpose="school_admission",
            subject_id=7,
            action="measures.query",
            outcome="ok",
            detail={"k": "v"},
        )
        append(
            conn, actor="cw:3", role="caseworker", subject_id=8, action="file.read", outcome="ok"
        )
        append(
            conn,
            actor="cw:3",
            role="caseworker",
            subject_id=7,
            action="file.read",
            outcome="denied",
        )
    with engine.connect() as conn:
        seen = accesses(conn, 7)
        assert [(a.seq, a.actor, a.role, a.purpose, a.action, a.outcome) for a in seen] == [
            (3, "cw:3", "caseworker", None, "file.read", "denied"),
            (1, "rp:school", "relying_party", "school_admission", "measures.query", "ok"),
        ]
        assert [a.seq for a in accesses(conn, 7, limit=1)] == [3]
        assert accesses(conn, 999) == []
        assert set(seen[0].as_dict()) == {
            "seq",
            "at",
            "actor",
            "role",
            "purpose",
            "action",
            "outcome",
        }
        assert [r.seq for r in recent(conn, limit=2)] == [3, 2]
        assert recent(conn, subject_id=8)[0].detail_dict() == {}


def test_group_committer_batches_and_chains(engine: Engine) -> None:
    n_threads, per_thread = 8, 40
    results: list[int] = []
    lock = threading.Lock()

    with GroupCommitter(engine) as committer:

        def worker(t: int) -> None:
            for i in range(per_thread):
                rec = committer.append(
                    AuditEvent(
                        actor=f"t{t}", role="admin", action="x", outcome="ok", detail={"i": i}
                    )
                )
                with lock:
                    results.append(rec.seq)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        with pytest.raises(AuditError):
            committer.submit(AuditEvent(actor="", role="admin", action="x", outcome="ok"))
    total = n_threads * per_thread
    assert sorted(results) == list(range(1, total + 1))
    assert committer.entries == total
    assert committer.batches <= total
    result = verify(engine)
    assert result.ok and result.count == total
    with pytest.raises(RuntimeError, match="closed"):
        committer.submit(AuditEvent(actor="a", role="admin", action="x", outcome="ok"))


def test_autocommit_connections_are_refused(engine: Engine) -> None:
    with (
        engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn,
        pytest.raises(AuditError, match="AUTOCOMMIT"),
    ):
        append(conn, actor="a", role="admin", action="x", outcome="ok")


def test_group_committer_failure_reaches_every_waiter(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> list[object]:
        raise RuntimeError("database went away")

    monkeypatch.setattr("socialcredit.audit.group.append_many", broken)
    with GroupCommitter(sqlite_engine) as committer:
        futures = [
            committer.submit(AuditEvent(actor="a", role="admin", action="x", outcome="ok"))
            for _ in range(5)
        ]
        for f in futures:
            with pytest.raises(RuntimeError, match="went away"):
                f.result(10)
