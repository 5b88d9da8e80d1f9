"""Appending to the hash-chained audit log.

Each entry's ``hash`` is the SHA-256 (lower-case hex) of the UTF-8 bytes of

    json.dumps({"seq": ..., "at": ..., "actor": ..., "role": ..., "purpose": ...,
                "subject_id": ..., "action": ..., "outcome": ..., "detail": ...,
                "prev_hash": ...},
               sort_keys=True, separators=(",", ":"), ensure_ascii=False)

where ``at`` is the naive UTC time as ``YYYY-MM-DDTHH:MM:SS.ffffff`` (always six
fraction digits), ``detail`` is the stored text exactly as it is in the column (a
JSON document, hashed as a string so that any byte of it counts), absent
``purpose``/``subject_id`` are ``null``, and ``prev_hash`` is the previous entry's
hash, or 64 zeros for entry 1. The format is spelled out here so that anyone given
an export of the table and a published checkpoint can check it without this code.

Entries are numbered densely from 1: ``seq`` is assigned here as last + 1 under a
lock, never by the database's sequence, so a missing number always means a removed
entry. Because ``seq`` is the primary key, two appenders that somehow read the same
last entry cannot both insert (one gets a key violation): the chain can fail to
grow but can never fork. The lock only turns that failure into a wait.

Durability: ``append`` writes inside the caller's transaction and commits nothing.
No answer is sent before its entry is durable, so a caller commits first and
answers after::

    with engine.begin() as conn:           # or session.connection() in a Session
        rows = read_the_file(conn, ...)
        append(conn, actor=..., role=..., action="file.read", outcome="ok", ...)
    return rows                             # only now, after the commit

The lock is held until the caller's transaction ends, so keep the work after
``append`` short: every other appender waits for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, insert, select, text

from socialcredit.db.models import AuditEntry, utcnow

GENESIS_HASH = "0" * 64

# Key of the PostgreSQL transaction-level advisory lock that serialises appends. Any
# constant works as long as nothing else in the database uses it; this one is the
# first 8 bytes of sha256(b"socialcredit.audit_log") read as a signed integer.
PG_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"socialcredit.audit_log").digest()[:8], "big", signed=True
)

audit_table: Table = AuditEntry.__table__  # type: ignore[assignment]

# Column widths from the schema. SQLite would store longer values and PostgreSQL
# would refuse them; checking here makes both back ends behave the same, and makes
# a bad caller fail before it takes the lock.
_LIMITS = {"actor": 100, "role": 20, "purpose": 60, "action": 80, "outcome": 40}


class AuditError(ValueError):
    """An entry that cannot be appended; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What happened, before it has a place in the chain."""

    actor: str
    role: str
    action: str
    outcome: str
    purpose: str | None = None
    subject_id: int | None = None
    detail: Mapping[str, Any] | None = field(default=None, hash=False)
    at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry as stored: its place in the chain and the hashes that link it."""

    seq: int
    at: dt.datetime
    actor: str
    role: str
    purpose: str | None
    subject_id: int | None
    action: str
    outcome: str
    detail: str
    prev_hash: str
    hash: str

    def detail_dict(self) -> Any:
        """The detail parsed back from its JSON text."""
        return json.loads(self.detail)

    def as_row(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "role": self.role,
            "purpose": self.purpose,
            "subject_id": self.subject_id,
            "action": self.action,
            "outcome": self.outcome,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def canonical_time(at: dt.datetime) -> str:
    return at.isoformat(timespec="microseconds")


def canonical_detail(detail: Mapping[str, Any] | None) -> str:
    """Detail as stored: compact JSON with sorted keys, so equal details store equal text."""
    return json.dumps(
        dict(detail or {}),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def entry_hash(
    *,
    seq: int,
    at: dt.datetime,
    actor: str,
    role: str,
    purpose: str | None,
    subject_id: int | None,
    action: str,
    outcome: str,
    detail: str,
    prev_hash: str,
) -> str:
    """The hash of one entry in the documented canonical form (see the module docstring)."""
    payload = {
        "seq": seq,
        "at": canonical_time(at),
        "actor": actor,
        "role": role,
        "purpose": purpose,
        "subject_id": subject_id,
        "action": action,
        "outcome": outcome,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    data = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _utc_naive(at: dt.datetime) -> dt.datetime:
    # The column is a naive timestamp holding UTC; an aware time is converted rather
    # than having its offset silently dropped.
    if at.tzinfo is not None:
        return at.astimezone(dt.UTC).replace(tzinfo=None)
    return at


def _check_text(name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        raise AuditError(f"audit {name} must be a non-empty string, not {value!r}")
    if len(value) > _LIMITS[name]:
        raise AuditError(f"audit {name} is longer than {_LIMITS[name]} characters: {value!r}")
    # PostgreSQL cannot store NUL in text; refuse it on both back ends alike.
    if "\x00" in value:
        raise AuditError(f"audit {name} contains a NUL character")


def validate(event: AuditEvent) -> None:
    """Raise AuditError if the event could not be stored; cheap, and needs no database."""
    _check_text("actor", event.actor)
    _check_text("role", event.role)
    _check_text("action", event.action)
    _check_text("outcome", event.outcome)
    _check_text("purpose", event.purpose, optional=True)
    if event.subject_id is not None and (
        isinstance(event.subject_id, bool) or not isinstance(event.subject_id, int)
    ):
        raise AuditError(f"audit subject_id must be an integer, not {event.subject_id!r}")
    if event.detail is not None and not isinstance(event.detail, Mapping):
        raise AuditError("audit detail must be a mapping (it is stored as a JSON object)")
    canonical_detail(event.detail)  # fails here, not under the lock, if unserialisable


# Built once: constructing these per call costs about as much as running them.
_PG_LOCK = text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=PG_LOCK_KEY)
_SQLITE_LOCK = text("UPDATE audit_log SET seq = seq WHERE 0")
_LAST = select(audit_table.c.seq, audit_table.c.hash).order_by(audit_table.c.seq.desc()).limit(1)
_INSERT = insert(audit_table)


def _lock(conn: Connection) -> None:
    """Serialise appenders until the caller's transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_LOCK)
    elif conn.dialect.name == "sqlite":
        # pysqlite opens its transaction lazily, at the first INSERT/UPDATE/DELETE, and
        # not at all for a SELECT: reading the last entry first would happen outside the
        # write lock, and two appenders could read the same one. A write that matches
        # no row makes SQLite take the database's write lock now (or wait for it under
        # busy_timeout), so the read below sees the true last entry and nobody can
        # append after it until this transaction ends.
        conn.execute(_SQLITE_LOCK)
    # Other back ends rely on the primary key: a racing append fails rather than forks.


def _last(conn: Connection) -> tuple[int, str]:
    row = conn.execute(_LAST).first()
    if row is None:
        return 0, GENESIS_HASH
    return int(row[0]), str(row[1])


def append_many(conn: Connection, events: Sequence[AuditEvent]) -> list[AuditRecord]:
    """Append events in order as consecutive entries, in the caller's transaction.

    One lock, one read of the last entry and one multi-row INSERT for the lot: this
    is what group commits use. Events without ``at`` get the time at which the lock
    was taken, so ``at`` follows ``seq`` for entries stamped here.
    """
    if not events:
        return []
    for event in events:
        validate(event)
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        # The lock would end with the statement that took it, and the caller could not
        # commit the entry before answering: neither guarantee would hold.
        raise AuditError("append needs a connection in a transaction, not AUTOCOMMIT")
    _lock(conn)
    seq, prev = _last(conn)
    now = utcnow()
    records: list[AuditRecord] = []
    for event in events:
        seq += 1
        at = _utc_naive(event.at) if event.at is not None else now
        detail = canonical_detail(event.detail)
        digest = entry_hash(
            seq=seq,
            at=at,
            actor=event.actor,
            role=event.role,
            purpose=event.purpose,
            subject_id=event.subject_id,
            action=event.action,
            outcome=event.outcome,
            detail=detail,
            prev_hash=prev,
        )
        records.append(
            AuditRecord(
                seq=seq,
                at=at,
                actor=event.actor,
                role=event.role,
                purpose=event.purpose,
                subject_id=event.subject_id,
                action=event.action,
                outcome=event.outcome,
                detail=detail,
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    conn.execute(_INSERT, [r.as_row() for r in records])
    return records


def append(
    conn: Connection,
    *,
    actor: str,
    role: str,
    action: str,
    outcome: str,
    purpose: str | None = None,
    subject_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditRecord:
    """Append one entry inside the caller's transaction; the caller commits, then answers.

    ``actor`` is who (an API key prefix, a relying party, "cli"), ``role`` their role,
    ``purpose`` the declared purpose of a query, ``subject_id`` whose data was touched,
    ``action`` what was done (e.g. "measures.query"), ``outcome`` how it ended (e.g.
    "ok", "denied", "not_found", "invalid"), ``detail`` anything else worth keeping (a
    JSON object; keep identifiers masked). Raises AuditError for a value that cannot
    be stored, before touching the database.
    """
    event = AuditEvent(
        actor=actor,
        role=role,
        action=action,
        outcome=outcome,
        purpose=purpose,
        subject_id=subject_id,
        detail=detail,
        at=at,
    )
    return append_many(conn, [event])[0]
