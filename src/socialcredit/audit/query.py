"""Reading the audit log: who accessed a subject's file, and recent entries.

These are reads of personal data themselves; a caller that shows them to someone
appends its own entry for that (the CLI's ``audit list`` does).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from socialcredit.audit.chain import AuditRecord, audit_table, canonical_time


@dataclass(frozen=True, slots=True)
class Access:
    """One access to a subject's file, as shown to that subject: who, in what role, for
    what purpose, what they did, when, and how it ended. The free-form detail is left
    out, since it may describe the caller's side of the request."""

    seq: int
    at: dt.datetime
    actor: str
    role: str
    purpose: str | None
    action: str
    outcome: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": canonical_time(self.at) + "Z",
            "actor": self.actor,
            "role": self.role,
            "purpose": self.purpose,
            "action": self.action,
            "outcome": self.outcome,
        }


def accesses(conn: Connection, subject_id: int, *, limit: int | None = None) -> list[Access]:
    """Entries about ``subject_id``, newest first (served by the subject_id index)."""
    t = audit_table
    query = (
        select(t.c.seq, t.c.at, t.c.actor, t.c.role, t.c.purpose, t.c.action, t.c.outcome)
        .where(t.c.subject_id == subject_id)
        .order_by(t.c.seq.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        Access(
            seq=r.seq,
            at=r.at,
            actor=r.actor,
            role=r.role,
            purpose=r.purpose,
            action=r.action,
            outcome=r.outcome,
        )
        for r in conn.execute(query)
    ]


def recent(
    conn: Connection, *, subject_id: int | None = None, limit: int | None = None
) -> list[AuditRecord]:
    """Whole entries, newest first, optionally only those about one subject."""
    t = audit_table
    query = select(t).order_by(t.c.seq.desc())
    if subject_id is not None:
        query = query.where(t.c.subject_id == subject_id)
    if limit is not None:
        query = query.limit(limit)
    return [AuditRecord(**r._mapping) for r in conn.execute(query)]
