"""What every kind of case shares: who acts, the errors they get, the audit entry every
attempt leaves, and the dates stamped on what a case writes.

Each case operation runs in one transaction: its changes and its audit entry commit
together. On bad input it raises ``CaseworkError`` before anything is written; the
transaction is rolled back and the refused attempt is audited in a transaction of its
own, so a refusal changes nothing but is still on record.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, Row, Table, and_, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from socialcredit.audit import append
from socialcredit.db.models import (
    Provider,
    Record,
    RecordStatusEvent,
    RescoreQueue,
    Subject,
    utcnow,
)

T = TypeVar("T")


def table(model: type[Any]) -> Table:
    """A mapped class's table, typed as one (``__table__`` is typed as a FromClause)."""
    return cast(Table, model.__table__)


def case_rows(conn: Connection, case: Table, *conds: Any) -> list[Row[Any]]:
    """Rows of a case table (objections, repair applications, annulments), oldest first,
    each with what every view shows of its record: the provider's name and record id, the
    record type and the subject's code. ``conds`` may use ``table(Record)``'s columns."""
    r, p, s = table(Record), table(Provider), table(Subject)
    return list(
        conn.execute(
            select(
                case,
                r.c.provider_record_id,
                r.c.record_type,
                p.c.name.label("provider_name"),
                s.c.code.label("subject_code"),
            )
            .join(r, r.c.id == case.c.record_id)
            .join(p, p.c.id == r.c.provider_id)
            .join(s, s.c.id == case.c.subject_id)
            .where(and_(true(), *conds))
            .order_by(case.c.id)
        ).all()
    )


# Roles as in ``socialcredit.access.Role`` (strings here, so the CLI and tests need no key).
SUBJECT = "subject"
CASEWORKER = "caseworker"
PROVIDER = "provider"
REGULATOR = "regulator"
ADMIN = "admin"
RELYING_PARTY = "relying_party"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performs a case step: an API key (prefix and role, with the subject or provider
    it is bound to) or a person at the command line (``--by``, role caseworker)."""

    name: str
    role: str
    subject_id: int | None = None  # a subject key: whose file it may act on
    provider_id: int | None = None  # a provider key: whose records it may act on
    relying_party_id: int | None = None  # a relying-party key: whose notifications it reads
    # A provider key's record types (its provider's, narrowed by the key); None: any.
    record_types: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 100:
            raise ValueError("actor name must be 1 to 100 characters")


class CaseworkError(ValueError):
    """Refused input: a stable ``code``, the ``field`` at fault and why, for a person.

    ``status`` is the HTTP status the API answers with (404 unknown, 403 not yours,
    409 the case has moved on, 422 invalid)."""

    def __init__(self, code: str, field: str, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message
        self.status = status


def not_found(what: str, field: str, value: object) -> CaseworkError:
    return CaseworkError(f"unknown_{what}", field, f"no {what} {value!r}", status=404)


@dataclass
class Outcome:
    """What an operation tells the audit entry: the subject it touched, and details."""

    subject_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def run_audited(
    engine: Engine,
    actor: Actor,
    action: str,
    body: Callable[[Connection, Outcome], T],
    *,
    detail: Mapping[str, Any] | None = None,
) -> T:
    """Run ``body`` in one transaction with its audit entry; on ``CaseworkError`` roll
    it back, audit the refusal (outcome = the error code) and raise it again."""
    outcome = Outcome(detail=dict(detail or {}))
    try:
        with engine.begin() as conn:
            result = body(conn, outcome)
            audit(conn, actor, action, "ok", outcome)
        return result
    except CaseworkError as exc:
        refusal = Outcome(
            subject_id=outcome.subject_id,
            detail=outcome.detail | {"field": exc.field, "reason": exc.message},
        )
        with engine.begin() as conn:
            audit(conn, actor, action, exc.code, refusal)
        raise


def audit(conn: Connection, actor: Actor, action: str, result: str, outcome: Outcome) -> None:
    append(
        conn,
        actor=actor.name,
        role=actor.role,
        action=action,
        outcome=result[:40],
        subject_id=outcome.subject_id,
        detail=outcome.detail,
    )


def stamp(on: dt.date, *, not_before: dt.datetime | None = None) -> dt.datetime:
    """The ``recorded_at`` of a status event a case writes on business day ``on``.

    Today it is now. A case step dated another day (a catch-up run, a test or the demo
    with fixed dates) is stamped at noon that day: as-of scoring then sees the change
    from that day on and not before, which a wall-clock stamp would get wrong in both
    directions. Never before ``not_before`` (the record's own arrival), so a status is
    never older than the record it is about.
    """
    now = utcnow()
    at = now if on == now.date() else dt.datetime.combine(on, dt.time(12))
    if not_before is not None and at <= not_before:
        at = not_before + dt.timedelta(microseconds=1)
    return at


def enqueue_rescore(conn: Connection, subject_ids: Iterable[int]) -> None:
    """Mark subjects' scores stale in the caller's transaction (a crash cannot lose it)."""
    rows = [{"subject_id": sid, "enqueued_at": utcnow()} for sid in sorted(set(subject_ids))]
    if not rows:
        return
    queue = table(RescoreQueue)
    if conn.dialect.name == "postgresql":
        conn.execute(pg_insert(queue).values(rows).on_conflict_do_nothing())
    else:
        conn.execute(sqlite_insert(queue).values(rows).on_conflict_do_nothing())


def rescore_now(engine: Engine, subject_ids: Iterable[int], on: dt.date) -> None:
    """Rescore and re-list subjects after a case step has committed. A policy error
    leaves them in the rescore queue for the next ``rescore`` (the step itself stands)."""
    # Imported here: the lists package imports scoring, which is heavy for the CLI's
    # commands that never rescore.
    from socialcredit.lists import rescore_and_list
    from socialcredit.policy import PolicyError

    ids = sorted(set(subject_ids))
    if not ids:
        return
    with contextlib.suppress(PolicyError):
        rescore_and_list(engine, ids, on)


@dataclass(frozen=True, slots=True)
class RecordRow:
    """The current version of a record, with what casework needs to judge it."""

    id: int
    provider_id: int
    provider_name: str
    provider_record_id: str
    version: int
    subject_id: int
    subject_code: str
    record_type: str
    decision_ref: str | None
    decided_on: dt.date
    conduct_ended_on: dt.date | None
    amount_fen: int | None
    status: str
    recorded_at: dt.datetime

    @property
    def ref(self) -> str:
        return f"{self.provider_name}:{self.provider_record_id}"


def find_record(
    conn: Connection,
    *,
    record_id: int | None = None,
    provider: str | int | None = None,
    provider_record_id: str | None = None,
    for_update: bool = False,
) -> RecordRow:
    """A record by its id, or the newest version of (provider, provider_record_id).

    Raises ``CaseworkError`` naming the field: unknown record, or a superseded version
    (cases are about the current version of a fact, which is what the file shows).
    """
    r, p, s = table(Record), table(Provider), table(Subject)
    query = select(
        r.c.id,
        r.c.provider_id,
        p.c.name.label("provider_name"),
        r.c.provider_record_id,
        r.c.version,
        r.c.subject_id,
        s.c.code.label("subject_code"),
        r.c.record_type,
        r.c.decision_ref,
        r.c.decided_on,
        r.c.conduct_ended_on,
        r.c.amount_fen,
        r.c.status,
        r.c.recorded_at,
    ).select_from(r.join(p, p.c.id == r.c.provider_id).join(s, s.c.id == r.c.subject_id))
    if record_id is not None:
        query = query.where(r.c.id == record_id)
        field_name: str = "record_id"
        value: object = record_id
    elif provider is not None and provider_record_id is not None:
        by = p.c.id == provider if isinstance(provider, int) else p.c.name == provider
        query = (
            query.where(by, r.c.provider_record_id == provider_record_id)
            .order_by(r.c.version.desc())
            .limit(1)
        )
        field_name, value = "provider_record_id", provider_record_id
    else:
        raise CaseworkError(
            "missing_value",
            "record_id",
            "name the record: record_id, or provider and provider_record_id",
        )
    if for_update:
        query = query.with_for_update(of=r)
    row = conn.execute(query).first()
    if row is None:
        raise not_found("record", field_name, value)
    found = RecordRow(**row._mapping)
    if found.status == "corrected":
        newest = conn.scalar(
            select(Record.version)
            .where(
                Record.provider_id == found.provider_id,
                Record.provider_record_id == found.provider_record_id,
            )
            .order_by(Record.version.desc())
            .limit(1)
        )
        raise CaseworkError(
            "superseded_record",
            field_name,
            f"record {found.id} is version {found.version} of {found.ref}, since corrected "
            f"(now version {newest}); cases are about the current version",
            status=409,
        )
    return found


def check_subject_scope(actor: Actor, subject_id: int, *, what: str) -> None:
    """A subject key acts on its own file only; other roles are checked by the caller."""
    if actor.role == SUBJECT and actor.subject_id != subject_id:
        raise CaseworkError(
            "out_of_scope",
            "record_id",
            f"a subject may {what} its own records only; this record is someone else's",
            status=403,
        )


def check_provider_scope(actor: Actor, provider_id: int, record_type: str, *, what: str) -> None:
    """A provider key acts on its own provider's records, of the types the key covers."""
    if actor.role != PROVIDER:
        return
    if actor.provider_id != provider_id:
        raise CaseworkError(
            "out_of_scope",
            "record_id",
            f"a provider may {what} its own records only; this record is another provider's",
            status=403,
        )
    if actor.record_types is not None and record_type not in actor.record_types:
        raise CaseworkError(
            "out_of_scope",
            "record_id",
            f"record type {record_type} is outside this key's scope",
            status=403,
        )


def newest_status_event(conn: Connection, record_id: int) -> tuple[int, dt.datetime] | None:
    row = conn.execute(
        select(RecordStatusEvent.id, RecordStatusEvent.recorded_at)
        .where(RecordStatusEvent.record_id == record_id)
        .order_by(RecordStatusEvent.recorded_at.desc(), RecordStatusEvent.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (int(row[0]), row[1])


def clean_text(value: str, field_name: str, *, limit: int = 2000, minimum: int = 1) -> str:
    """Free text a person gave (a reason, a commitment): trimmed, bounded, storable."""
    text = value.replace("\x00", "").strip() if isinstance(value, str) else ""
    if len(text) < minimum:
        raise CaseworkError(
            "missing_value",
            field_name,
            f"{field_name} is required"
            + (f" (at least {minimum} characters)" if minimum > 1 else ""),
        )
    if len(text) > limit:
        raise CaseworkError("too_long", field_name, f"{field_name} exceeds {limit} characters")
    return text
