"""Tampering by direct SQL is found, and the report says where."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from socialcredit.audit import GENESIS_HASH, Checkpoint, CheckpointFormatError, checkpoint, verify
from socialcredit.audit.chain import entry_hash

from .helpers import fill, put, row, sql


def only_problem(engine: Engine, cp: Checkpoint | None = None) -> tuple[int, str, str]:
    result = verify(engine, checkpoint=cp)
    assert not result.ok
    assert len(result.problems) == 1, result.problems
    p = result.problems[0]
    assert result.first_bad_seq == p.seq
    return p.seq, p.kind, p.message


def test_one_changed_byte_of_detail(engine: Engine) -> None:
    fill(engine, 12)
    before = row(engine, 6)["detail"]
    sql(
        engine,
        "UPDATE audit_log SET detail = :d WHERE seq = 6",
        d=before.replace('"q":"x"', '"q":"y"'),
    )
    assert row(engine, 6)["detail"] != before
    seq, kind, message = only_problem(engine)
    assert (seq, kind) == (6, "changed")
    assert "entry 6" in message


def test_one_changed_byte_of_actor(engine: Engine) -> None:
    fill(engine, 12)
    sql(engine, "UPDATE audit_log SET actor = 'key:rp09' WHERE seq = 4")
    assert only_problem(engine)[:2] == (4, "changed")


def test_any_field_counts(engine: Engine) -> None:
    fill(engine, 8)
    # Values fill() never writes, one field per entry.
    edits = [
        ("role", "public"),
        ("purpose", "financial_credit"),
        ("subject_id", 1),
        ("outcome", "OK"),
        ("action", "file.reed"),
        ("hash", "0" * 63 + "1"),
    ]
    for seq, (column, value) in enumerate(edits, start=2):
        sql(engine, f"UPDATE audit_log SET {column} = :v WHERE seq = :s", v=value, s=seq)
    result = verify(engine)
    changed = [p.seq for p in result.problems if p.kind == "changed"]
    assert changed == [2, 3, 4, 5, 6, 7]
    # An edited hash also breaks the next entry's link to it.
    assert [(p.seq, p.kind) for p in result.problems if p.kind != "changed"] == [(8, "link")]


def test_changed_time(engine: Engine) -> None:
    fill(engine, 5)
    at = row(engine, 2)["at"]
    if isinstance(at, str):  # SQLite keeps the text; edit a byte SQLAlchemy would ignore
        sql(engine, "UPDATE audit_log SET at = :v WHERE seq = 2", v=at + "9")
    else:
        sql(engine, "UPDATE audit_log SET at = at + interval '1 microsecond' WHERE seq = 2")
    assert only_problem(engine)[:2] == (2, "changed")


def test_deleted_entry_in_the_middle(engine: Engine) -> None:
    fill(engine, 12)
    sql(engine, "DELETE FROM audit_log WHERE seq = 7")
    seq, kind, message = only_problem(engine)
    assert (seq, kind) == (7, "missing")
    assert "entry 7 removed" in message


def test_deleted_run_and_first_entry(engine: Engine) -> None:
    fill(engine, 12)
    sql(engine, "DELETE FROM audit_log WHERE seq IN (1, 5, 6, 7)")
    result = verify(engine)
    assert [(p.seq, p.kind) for p in result.problems] == [(1, "missing"), (5, "missing")]
    assert "entries 5-7 removed" in result.problems[1].message


def test_swapped_contents(engine: Engine) -> None:
    fill(engine, 10)
    a, b = row(engine, 4), row(engine, 5)
    put(engine, 4, {**b, "hash": "tmp"})  # hash is unique: step through a placeholder
    put(engine, 5, a)
    put(engine, 4, b)
    result = verify(engine)
    assert result.first_bad_seq == 4
    assert {(p.seq, p.kind) for p in result.problems} >= {(4, "changed"), (5, "changed")}


def test_swapped_sequence_numbers(engine: Engine) -> None:
    fill(engine, 10)
    sql(engine, "UPDATE audit_log SET seq = -1 WHERE seq = 8")
    sql(engine, "UPDATE audit_log SET seq = 8 WHERE seq = 9")
    sql(engine, "UPDATE audit_log SET seq = 9 WHERE seq = -1")
    result = verify(engine)
    assert result.first_bad_seq == 8
    assert (8, "link") in {(p.seq, p.kind) for p in result.problems}


def rewrite_from(engine: Engine, start: int) -> None:
    """Edit entry ``start`` and recompute every hash after it: a consistent forgery."""
    prev = row(engine, start - 1)["hash"] if start > 1 else GENESIS_HASH
    last = verify(engine).last_seq
    for seq in range(start, last + 1):
        r = row(engine, seq)
        if seq == start:
            r["outcome"] = "denied" if r["outcome"] == "ok" else "ok"
        # SQLite hands back the stored text of the timestamp, PostgreSQL a datetime.
        at = dt.datetime.fromisoformat(r["at"]) if isinstance(r["at"], str) else r["at"]
        r["prev_hash"] = prev
        r["hash"] = entry_hash(
            seq=seq,
            at=at,
            actor=r["actor"],
            role=r["role"],
            purpose=r["purpose"],
            subject_id=r["subject_id"],
            action=r["action"],
            outcome=r["outcome"],
            detail=r["detail"],
            prev_hash=prev,
        )
        put(engine, seq, r)
        prev = r["hash"]


def test_rewritten_prev_hash_breaks_the_next_link(engine: Engine) -> None:
    fill(engine, 8)
    rewrite_from(engine, 3)
    sql(engine, "UPDATE audit_log SET prev_hash = :h WHERE seq = 4", h="f" * 64)
    result = verify(engine)
    assert [(p.seq, p.kind) for p in result.problems] == [(4, "link"), (4, "changed")]


def test_truncated_tail_needs_a_checkpoint(engine: Engine) -> None:
    fill(engine, 10)
    cp = checkpoint(engine)
    assert verify(engine, checkpoint=cp).ok
    fill(engine, 3, start=10)
    assert verify(engine, checkpoint=cp).ok  # growth after the checkpoint is fine
    sql(engine, "DELETE FROM audit_log WHERE seq > 8")
    assert verify(engine).ok  # the rest is still a valid chain
    seq, kind, message = only_problem(engine, cp)
    assert (seq, kind) == (10, "checkpoint")
    assert "ends at entry 8" in message


def test_rewritten_history_needs_a_checkpoint(engine: Engine) -> None:
    fill(engine, 10)
    cp = Checkpoint.parse(checkpoint(engine).token)
    fill(engine, 2, start=10)
    rewrite_from(engine, 3)
    assert verify(engine).ok  # a full rewrite is a valid chain again...
    seq, kind, _ = only_problem(engine, cp)  # ...but not the one that was published
    assert (seq, kind) == (10, "checkpoint")


def test_checkpoint_entry_deleted(engine: Engine) -> None:
    fill(engine, 10)
    cp = checkpoint(engine)
    fill(engine, 2, start=10)
    sql(engine, "DELETE FROM audit_log WHERE seq = 10")
    result = verify(engine, checkpoint=cp)
    assert [(p.seq, p.kind) for p in result.problems] == [(10, "missing"), (10, "checkpoint")]


def test_max_problems(engine: Engine) -> None:
    fill(engine, 10)
    sql(engine, "UPDATE audit_log SET actor = 'x'")
    result = verify(engine, max_problems=3)
    assert [p.seq for p in result.problems] == [1, 2, 3]
    assert result.truncated


@pytest.mark.parametrize(
    "token", ["", "abc:1", f"{'0' * 64}", f"{'g' * 64}:3", f"{'a' * 64}:-1", f"{'a' * 64}:0"]
)
def test_checkpoint_tokens(token: str) -> None:
    with pytest.raises(CheckpointFormatError):
        Checkpoint.parse(token)


def test_checkpoint_token_round_trip() -> None:
    cp = Checkpoint.parse(f"{'AB' * 32}:12")
    assert (cp.root_hash, cp.count, cp.token) == ("ab" * 32, 12, f"{'ab' * 32}:12")
