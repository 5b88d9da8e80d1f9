"""Filling a log with varied entries and editing it behind the code's back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, text

from socialcredit.audit import AuditRecord, append

ROLES = ("relying_party", "caseworker", "regulator", "subject", "provider", "admin")


def fill(engine: Engine, n: int, *, start: int = 0) -> list[AuditRecord]:
    """``n`` entries, one transaction each, with non-ASCII text and absent fields."""
    out: list[AuditRecord] = []
    for i in range(start, start + n):
        with engine.begin() as conn:
            out.append(
                append(
                    conn,
                    actor=f"key:rp{i % 3:02d}",
                    role=ROLES[i % len(ROLES)],
                    action="measures.query" if i % 2 else "file.read",
                    outcome="ok" if i % 5 else "denied",
                    purpose="employment" if i % 4 else None,
                    subject_id=1000 + i % 7 if i % 6 else None,
                    detail={"i": i, "单位": "上海市某某学校", "q": "x"},
                )
            )
    return out


def sql(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def row(engine: Engine, seq: int) -> dict[str, Any]:
    with engine.connect() as conn:
        r = conn.execute(text("SELECT * FROM audit_log WHERE seq = :s"), {"s": seq}).one()
    return dict(r._mapping)


def put(engine: Engine, seq: int, values: dict[str, Any]) -> None:
    """Overwrite every column of entry ``seq`` except ``seq`` itself."""
    cols = [c for c in values if c != "seq"]
    assignments = ", ".join(f"{c} = :{c}" for c in cols)
    sql(
        engine,
        f"UPDATE audit_log SET {assignments} WHERE seq = :seq",
        seq=seq,
        **{c: values[c] for c in cols},
    )


UTC_NAIVE = dt.datetime(2026, 11, 27, 9, 30, 0, 120000)
