"""Annulment and correction of a record, and the cascade that follows.

A provider annuls a record (its decision was revoked, the debtor performed) or corrects
it (new content): by feed (``action`` column), by API or at the command line; an
objection decided ``deleted`` or ``corrected`` does the same. The record stops counting
at once: a status event is written, and every score and list computed from then on
leaves it out. Then the cascade, once per status event (``annulments`` row):

- the subject is queued for a rescore, which also recomputes its list entries;
- every relying party that received an answer about the subject since the record was
  recorded is told, in the outbox (``notifications``), and so is the subject. For an
  organisation, answers about its legal representative count too: measures aimed at a
  legal representative follow the organisation's list entries. A relying party learns
  only the masked subject, the date and that it should ask again (``party_message``):
  no record, type, provider or reason, which may hold health or other data it must not
  see. The subject's own message carries the detail and the reason;
- a correction never brings back what due process ended: an annulled record is not
  corrected, and a repaired one stays repaired in its new version (``write_correction``);
- the deletion deadline is checked: the cascade is due within 3 working days of the
  platform receiving the annulment (``removal_due``); ``maintain`` completes any cascade
  an interrupted import left undone and escalates those past due.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, or_, select, true, update

from socialcredit.audit.chain import audit_table
from socialcredit.casework.calendar import add_working_days, working_days_between
from socialcredit.casework.common import (
    ADMIN,
    CASEWORKER,
    PROVIDER,
    REGULATOR,
    RELYING_PARTY,
    SUBJECT,
    Actor,
    CaseworkError,
    Outcome,
    RecordRow,
    case_rows,
    check_provider_scope,
    clean_text,
    enqueue_rescore,
    find_record,
    newest_status_event,
    rescore_now,
    run_audited,
    stamp,
    table,
)
from socialcredit.db.models import (
    Annulment,
    ApiKey,
    Notification,
    Provider,
    ProviderRecordType,
    Record,
    RecordStatusEvent,
    RecordType,
    Subject,
)
from socialcredit.identity.ids import mask

REMOVAL_WORKING_DAYS = 3
CAUSE = "annulment"
# What a relying party is answered about a subject (the measures question).
_ANSWER_ACTIONS = ("measures.query",)
_CARRIED = "repaired as version"


@dataclass(frozen=True, slots=True)
class Correction:
    """New values for a record; the fields left None keep their current value."""

    record_type: str | None = None
    decision_ref: str | None = None
    decided_on: dt.date | None = None
    conduct_ended_on: dt.date | None = None
    amount_fen: int | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    @staticmethod
    def amount_from_cny(raw: str | int | float | None) -> int | None:
        """Yuan as given (at most 2 decimals, not negative) → fen; errors name the field."""
        if raw is None:
            return None
        try:
            amount = Decimal(str(raw).replace(",", ""))
        except InvalidOperation:
            raise CaseworkError("bad_amount", "amount_cny", f"{raw!r} is not a number") from None
        if not amount.is_finite() or amount < 0:
            raise CaseworkError(
                "bad_amount", "amount_cny", f"amount_cny must be a sum of yuan, not {raw!r}"
            )
        fen = amount * 100
        if fen != fen.to_integral_value():
            raise CaseworkError("bad_amount", "amount_cny", f"{raw} has more than 2 decimals")
        return int(fen)


# --- writing status changes ---------------------------------------------------------------


def write_status_event(
    conn: Connection, record: RecordRow, status: str, reason: str, source: str, on: dt.date
) -> int:
    prior = newest_status_event(conn, record.id)
    floor = max(record.recorded_at, prior[1]) if prior is not None else record.recorded_at
    event_id = conn.execute(
        insert(RecordStatusEvent)
        .values(
            record_id=record.id,
            status=status,
            reason=reason,
            source=source,
            recorded_at=stamp(on, not_before=floor),
        )
        .returning(RecordStatusEvent.id)
    ).scalar_one()
    conn.execute(update(Record).where(Record.id == record.id).values(status=status))
    return int(event_id)


def write_annulment(
    conn: Connection, record: RecordRow, *, reason: str, source: str, on: dt.date
) -> int:
    """Mark the record annulled (status event + status); returns the event id. The caller
    runs ``cascade_events`` on it in the same transaction."""
    return write_status_event(conn, record, "annulled", reason, source, on)


def write_correction(
    conn: Connection,
    record: RecordRow,
    correction: Correction,
    *,
    reason: str,
    source: str,
    on: dt.date,
) -> tuple[int, int]:
    """Store a new version of the record with the corrected values and mark the old one
    ``corrected``; returns (new record id, status event id). Checked as a feed row would
    be: a catalogue type in the provider's scope, no future dates, no dates before birth.

    What the old version's status means for the new one (a correction fixes the facts of
    a decision; it does not undo what due process decided about it):

    - ``annulled``: refused (409 ``record_annulled``). The decision is gone; correcting it
      would bring it back. A provider that remakes the decision sends a new record.
    - ``repaired``: the new version is ``repaired`` too, with its own status event, so an
      approved credit repair stands whatever the provider corrects.
    - ``active`` or ``expired``: the new version is ``active``. Display and the query bar
      follow from its (corrected) dates: scoring and the lists count a record only inside
      its window, so a corrected version whose window has ended counts for nothing, and
      the next ``maintain`` run gives it its ``expired`` event again.
    """
    from socialcredit.records.ingest.rows import content_hash

    if record.status == "annulled":
        raise CaseworkError(
            "record_annulled",
            "provider_record_id",
            f"record {record.ref} was annulled; an annulled record is not corrected (a "
            "decision made again is sent as a new record)",
            status=409,
        )
    carried = _repair_carried(conn, record) if record.status == "repaired" else None
    if correction.is_empty():
        raise CaseworkError("missing_value", "correction", "a correction needs a changed value")
    rtype = correction.record_type or record.record_type
    if correction.record_type is not None:
        known = conn.scalar(select(RecordType.code).where(RecordType.code == rtype))
        if known is None:
            raise CaseworkError(
                "unknown_record_type",
                "record_type",
                f"record type {rtype!r} is not in the published catalogue",
            )
        in_scope = conn.scalar(
            select(ProviderRecordType.record_type).where(
                ProviderRecordType.provider_id == record.provider_id,
                ProviderRecordType.record_type == rtype,
            )
        )
        if in_scope is None:
            raise CaseworkError(
                "out_of_scope",
                "record_type",
                f"record type {rtype!r} is outside {record.provider_name}'s scope",
            )
    decided = correction.decided_on or record.decided_on
    ended = correction.conduct_ended_on or record.conduct_ended_on
    born = conn.scalar(select(Subject.birth_date).where(Subject.id == record.subject_id))
    for name, day in (("decided_on", decided), ("conduct_ended_on", ended)):
        if day is not None and day > on:
            raise CaseworkError("future_date", name, f"{name} {day} is after {on}")
        if day is not None and born is not None and day < born:
            raise CaseworkError("before_birth", name, f"{name} {day} is before the subject's birth")
    ref = correction.decision_ref if correction.decision_ref is not None else record.decision_ref
    if ref is not None and len(ref) > 200:
        raise CaseworkError("too_long", "decision_ref", "decision_ref exceeds 200 characters")
    amount = correction.amount_fen if correction.amount_fen is not None else record.amount_fen
    chash = content_hash(
        record.subject_code,
        rtype,
        ref,
        decided.isoformat(),
        ended.isoformat() if ended else None,
        amount,
    )
    event_id = write_status_event(
        conn,
        record,
        "corrected",
        f"superseded by version {record.version + 1}; {reason}",
        source,
        on,
    )
    new_id = conn.execute(
        insert(Record)
        .values(
            provider_id=record.provider_id,
            provider_record_id=record.provider_record_id,
            version=record.version + 1,
            subject_id=record.subject_id,
            record_type=rtype,
            decision_ref=ref,
            decided_on=decided,
            conduct_ended_on=ended,
            amount_fen=amount,
            content_hash=chash,
            status="active",
            recorded_at=stamp(on, not_before=record.recorded_at),
        )
        .returning(Record.id)
    ).scalar_one()
    if carried is not None:
        new_version = find_record(conn, record_id=int(new_id))
        write_status_event(conn, new_version, "repaired", carried, source, on)
    return int(new_id), event_id


def _repair_carried(conn: Connection, record: RecordRow) -> str:
    """The reason a new version of a repaired record carries: the repair still stands."""
    e = table(RecordStatusEvent)
    why = conn.scalar(
        select(e.c.reason)
        .where(e.c.record_id == record.id, e.c.status == "repaired")
        .order_by(e.c.recorded_at.desc(), e.c.id.desc())
        .limit(1)
    )
    if why and why.startswith(_CARRIED):
        return str(why)  # carried over already: still the first repaired version's repair
    return (
        f"{_CARRIED} {record.version} was; a correction does not undo a credit "
        f"repair ({why or 'credit repaired'})"
    )[:2000]


# --- the cascade ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnnulmentView:
    id: int
    record_id: int
    record_ref: str
    record_type: str
    subject_id: int
    subject_code: str
    provider_id: int
    action: str  # annulled | corrected
    source: str
    reason: str
    received_on: dt.date
    removal_due: dt.date
    removed_on: dt.date | None
    notified: int
    escalated_on: dt.date | None

    @property
    def late(self) -> bool:
        return self.removed_on is not None and self.removed_on > self.removal_due

    def as_dict(self, *, mask_id: bool = True) -> dict[str, Any]:
        from socialcredit.identity.ids import display

        return {
            "id": self.id,
            "record_id": self.record_id,
            "record": self.record_ref,
            "record_type": self.record_type,
            "subject": display(self.subject_code, full=not mask_id),
            "action": self.action,
            "source": self.source,
            "reason": self.reason,
            "received_on": self.received_on.isoformat(),
            "removal_due": self.removal_due.isoformat(),
            "removed_on": None if self.removed_on is None else self.removed_on.isoformat(),
            "late": self.late,
            "notified": self.notified,
            "escalated_on": None if self.escalated_on is None else self.escalated_on.isoformat(),
        }


def _recipients(conn: Connection, subject_id: int, since: dt.datetime) -> list[int]:
    """Relying parties that were answered about the subject (or, for an organisation,
    about its legal representative) at or after ``since``: from the audit log, whose
    actor is the key prefix, joined to the keys to name the party."""
    about = [subject_id]
    rep = conn.scalar(
        select(Subject.legal_rep_id).where(Subject.id == subject_id, Subject.kind == "organisation")
    )
    if rep is not None:
        about.append(int(rep))
    a, k = audit_table, table(ApiKey)
    return sorted(
        {
            int(pid)
            for pid in conn.scalars(
                select(k.c.relying_party_id)
                .join(a, a.c.actor == k.c.prefix)
                .where(
                    a.c.subject_id.in_(about),
                    a.c.role == RELYING_PARTY,
                    a.c.action.in_(_ANSWER_ACTIONS),
                    a.c.outcome == "ok",
                    a.c.at >= since,
                    k.c.relying_party_id.is_not(None),
                )
                .distinct()
            )
        }
    )


def _notify(
    conn: Connection,
    annulment_id: int,
    recipient: str,
    *,
    party_id: int | None,
    subject_id: int,
    record_id: int | None,
    message: str,
    on: dt.date,
) -> int:
    """One outbox message, at most once per cause and recipient (a retried cascade finds
    it there and writes nothing)."""
    n = table(Notification)
    exists = conn.scalar(
        select(n.c.id).where(
            n.c.cause == CAUSE, n.c.cause_id == annulment_id, n.c.recipient == recipient
        )
    )
    if exists is not None:
        return 0
    conn.execute(
        insert(n).values(
            cause=CAUSE,
            cause_id=annulment_id,
            recipient=recipient,
            relying_party_id=party_id,
            subject_id=subject_id,
            record_id=record_id,
            message=message,
            created_on=on,
        )
    )
    return 1


def party_message(subject_code: str, changed_on: dt.date) -> str:
    """What a relying party is told: which subject (masked), when, and to ask again.

    Nothing more: not the record, its type or provider, nor any reason (a decision's
    reason may hold what a relying party must never learn, health data above all). The
    party asks the measures question again and gets the answer that holds now.
    """
    return (
        f"The credit file of {mask(subject_code)} changed on {changed_on}. An answer you "
        "received about this subject before then may no longer hold; ask again for the "
        "current measures."
    )


def subject_message(
    status: str, fact: str, changed_on: dt.date, reason: str | None, *, now: str = "active"
) -> str:
    """What the subject is told about its own record, with the detail and the reason
    (``now``: the status of the record's newest version)."""
    if status == "annulled":
        why = reason or "annulled by its provider"
        return (
            f"Your {fact} was annulled on {changed_on} ({why}). It no longer counts; your "
            "score and list entries have been recomputed, and every relying party that "
            "received an answer about you since it was recorded has been told to ask again."
        )
    why = reason or "corrected by its provider"
    counts = {
        "repaired": "stays repaired: it does not count against you",
        "annulled": "has been annulled since: it no longer counts",
    }.get(now, "counts in its place for as long as it is shown")
    return (
        f"Your {fact} was corrected on {changed_on} ({why}). The corrected version "
        f"replaces it in your file and {counts}; your score and list entries have been "
        "recomputed, and every relying party that received an answer about you since it "
        "was recorded has been told to ask again."
    )


def cascade_events(
    conn: Connection,
    *,
    event_ids: list[int] | None = None,
    record_ids: list[int] | None = None,
    on: dt.date,
    source: str,
    recorded_before: dt.datetime | None = None,
) -> list[AnnulmentView]:
    """Run the cascade for annulled or corrected status events that have none yet:
    the given events, those of the given records, or (neither given) every pending one.
    ``recorded_before`` leaves out events recorded at or after it: a catch-up run dated
    an earlier day completes only what had arrived by then, never back-dating a later
    event's receipt or removal. Inside the caller's transaction; returns the cascades
    written."""
    e, r, a = table(RecordStatusEvent), table(Record), table(Annulment)
    query = (
        select(
            e.c.id.label("event_id"),
            e.c.status,
            e.c.reason,
            e.c.recorded_at,
            r.c.id.label("record_id"),
            r.c.subject_id,
            r.c.provider_id,
            r.c.provider_record_id,
            r.c.record_type,
            r.c.decided_on,
        )
        .join(r, r.c.id == e.c.record_id)
        .outerjoin(a, a.c.status_event_id == e.c.id)
        .where(e.c.status.in_(("annulled", "corrected")), a.c.id.is_(None))
        .order_by(e.c.id)
    )
    if event_ids is not None:
        query = query.where(e.c.id.in_(event_ids))
    if recorded_before is not None:
        query = query.where(e.c.recorded_at < recorded_before)
    pending: list[Any] = []
    if record_ids is not None:
        # By record (indexed), in slices: an import may annul many thousands at once.
        ids = sorted(set(record_ids))
        for start in range(0, len(ids), 1000):
            pending += conn.execute(query.where(e.c.record_id.in_(ids[start : start + 1000]))).all()
        pending.sort(key=lambda ev: ev.event_id)
    else:
        pending = list(conn.execute(query).all())
    if not pending:
        return []
    written: list[int] = []
    for ev in pending:
        received = min(ev.recorded_at.date(), on)
        due = add_working_days(received, REMOVAL_WORKING_DAYS)
        # "Since the record was recorded": the fact's first version, whatever version the
        # annulment names.
        since: dt.datetime = conn.execute(
            select(r.c.recorded_at)
            .where(
                r.c.provider_id == ev.provider_id, r.c.provider_record_id == ev.provider_record_id
            )
            .order_by(r.c.version)
            .limit(1)
        ).scalar_one()
        newest: str = conn.execute(
            select(r.c.status)
            .where(
                r.c.provider_id == ev.provider_id, r.c.provider_record_id == ev.provider_record_id
            )
            .order_by(r.c.version.desc())
            .limit(1)
        ).scalar_one()
        provider = conn.execute(
            select(Provider.name).where(Provider.id == ev.provider_id)
        ).scalar_one()
        code: str = conn.execute(
            select(Subject.code).where(Subject.id == ev.subject_id)
        ).scalar_one()
        aid = conn.execute(
            insert(a)
            .values(
                status_event_id=ev.event_id,
                record_id=ev.record_id,
                subject_id=ev.subject_id,
                provider_id=ev.provider_id,
                action=ev.status,
                source=source,
                reason=ev.reason or f"record {ev.status} by its provider",
                received_on=received,
                removal_due=due,
                removed_on=on,
                escalated_on=on if on > due else None,
            )
            .returning(a.c.id)
        ).scalar_one()
        count = 0
        for party in _recipients(conn, ev.subject_id, since):
            count += _notify(
                conn,
                aid,
                f"party:{party}",
                party_id=party,
                subject_id=ev.subject_id,
                record_id=None,
                message=party_message(code, received),
                on=on,
            )
        count += _notify(
            conn,
            aid,
            f"subject:{ev.subject_id}",
            party_id=None,
            subject_id=ev.subject_id,
            record_id=ev.record_id,
            message=subject_message(
                ev.status,
                f"{ev.record_type} record {provider}:{ev.provider_record_id} "
                f"decided {ev.decided_on}",
                received,
                ev.reason,
                now=newest,
            ),
            on=on,
        )
        conn.execute(update(a).where(a.c.id == aid).values(notified=count))
        written.append(int(aid))
    enqueue_rescore(conn, {ev.subject_id for ev in pending})
    return list_annulments(conn, ids=written)


def cascade_records(engine: Engine, *, record_ids: list[int], on: dt.date) -> list[AnnulmentView]:
    """The cascade of an import's annulments and corrections, right after it."""
    with engine.begin() as conn:
        return cascade_events(conn, record_ids=record_ids, on=on, source="feed")


def list_annulments(
    conn: Connection,
    *,
    ids: list[int] | None = None,
    subject_id: int | None = None,
    provider_id: int | None = None,
    record_types: Collection[str] | None = None,
    late_only: bool = False,
) -> list[AnnulmentView]:
    """Cascades, oldest first; ``provider_id`` and ``record_types`` narrow them to what a
    provider key covers (its provider's records, of the key's types)."""
    a, r = table(Annulment), table(Record)
    conds: list[Any] = []
    if ids is not None:
        conds.append(a.c.id.in_(ids))
    if subject_id is not None:
        conds.append(a.c.subject_id == subject_id)
    if provider_id is not None:
        conds.append(a.c.provider_id == provider_id)
    if record_types is not None:
        conds.append(r.c.record_type.in_(sorted(record_types)))
    if late_only:
        conds.append(or_(a.c.removed_on > a.c.removal_due, a.c.escalated_on.is_not(None)))
    rows = case_rows(conn, a, *conds)
    return [
        AnnulmentView(
            id=row.id,
            record_id=row.record_id,
            record_ref=f"{row.provider_name}:{row.provider_record_id}",
            record_type=row.record_type,
            subject_id=row.subject_id,
            subject_code=row.subject_code,
            provider_id=row.provider_id,
            action=row.action,
            source=row.source,
            reason=row.reason,
            received_on=row.received_on,
            removal_due=row.removal_due,
            removed_on=row.removed_on,
            notified=row.notified,
            escalated_on=row.escalated_on,
        )
        for row in rows
    ]


# --- annulment and correction by API and CLI ---------------------------------------------


def _provider_record(
    conn: Connection,
    actor: Actor,
    provider: str | int,
    provider_record_id: str,
    out: Outcome,
    *,
    annulling: bool,
) -> RecordRow:
    if actor.role not in (PROVIDER, ADMIN, CASEWORKER):
        raise CaseworkError(
            "forbidden_role",
            "actor",
            "records are annulled or corrected by their provider",
            status=403,
        )
    out.detail.update(provider_record_id=provider_record_id[:100])
    record = find_record(
        conn, provider=provider, provider_record_id=provider_record_id, for_update=True
    )
    check_provider_scope(actor, record.provider_id, record.record_type, what="annul or correct")
    out.subject_id = record.subject_id
    out.detail.update(record_id=record.id, record=record.ref)
    # (A correction of an annulled record is refused by ``write_correction``.)
    if annulling and record.status == "annulled":
        raise CaseworkError(
            "already_annulled",
            "provider_record_id",
            f"record {record.ref} is already annulled",
            status=409,
        )
    return record


def annul_record(
    engine: Engine,
    *,
    actor: Actor,
    provider: str | int,
    provider_record_id: str,
    reason: str,
    on: dt.date,
    decision_ref: str | None = None,
    source: str = "api",
) -> AnnulmentView:
    """A provider annuls one of its records; the cascade runs in the same transaction and
    the subject is rescored right after. Unknown record: 404, audited, nothing changed."""

    def body(conn: Connection, out: Outcome) -> AnnulmentView:
        text = clean_text(reason, "reason")
        record = _provider_record(conn, actor, provider, provider_record_id, out, annulling=True)
        ref = f" ({decision_ref.strip()})" if decision_ref and decision_ref.strip() else ""
        event = write_annulment(
            conn, record, reason=f"annulled by the provider{ref}: {text}", source=source, on=on
        )
        (view,) = cascade_events(conn, event_ids=[event], on=on, source=source)
        out.detail.update(annulment_id=view.id, notified=view.notified)
        return view

    view = run_audited(engine, actor, "record.annul", body, detail={"on": on.isoformat()})
    rescore_now(engine, [view.subject_id], on)
    return view


def correct_record(
    engine: Engine,
    *,
    actor: Actor,
    provider: str | int,
    provider_record_id: str,
    correction: Correction,
    reason: str,
    on: dt.date,
    source: str = "api",
) -> AnnulmentView:
    """A provider corrects one of its records: a new version, the old one ``corrected``,
    and the same cascade as an annulment (whoever was answered is told)."""

    def body(conn: Connection, out: Outcome) -> AnnulmentView:
        text = clean_text(reason, "reason")
        record = _provider_record(conn, actor, provider, provider_record_id, out, annulling=False)
        new_id, event = write_correction(
            conn,
            record,
            correction,
            reason=f"corrected by the provider: {text}",
            source=source,
            on=on,
        )
        (view,) = cascade_events(conn, event_ids=[event], on=on, source=source)
        out.detail.update(annulment_id=view.id, new_record_id=new_id, notified=view.notified)
        return view

    view = run_audited(engine, actor, "record.correct", body, detail={"on": on.isoformat()})
    rescore_now(engine, [view.subject_id], on)
    return view


def escalate_annulments(conn: Connection, day: dt.date) -> list[int]:
    """Cascades past their 3-working-day deadline and not yet escalated (the daily job)."""
    a = table(Annulment)
    late = list(
        conn.scalars(
            select(a.c.id).where(
                a.c.escalated_on.is_(None),
                or_(a.c.removed_on.is_(None), a.c.removed_on > a.c.removal_due),
                a.c.removal_due < day,
            )
        )
    )
    if late:
        conn.execute(update(a).where(a.c.id.in_(late)).values(escalated_on=day))
    return late


# --- the outbox ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NotificationView:
    id: int
    cause: str
    cause_id: int
    recipient: str
    relying_party: str | None
    subject_id: int
    subject_code: str
    record_id: int | None
    message: str
    created_on: dt.date
    delivered_at: dt.datetime | None

    def as_dict(self, *, mask_id: bool = True) -> dict[str, Any]:
        from socialcredit.identity.ids import display

        return {
            "id": self.id,
            "cause": self.cause,
            "cause_id": self.cause_id,
            "recipient": self.recipient,
            "relying_party": self.relying_party,
            "subject": display(self.subject_code, full=not mask_id),
            "record_id": self.record_id,
            "message": self.message,
            "created_on": self.created_on.isoformat(),
            "delivered_at": None if self.delivered_at is None else self.delivered_at.isoformat(),
        }


def list_notifications(
    conn: Connection,
    *,
    actor: Actor | None = None,
    subject_id: int | None = None,
    relying_party_id: int | None = None,
    cause_id: int | None = None,
    undelivered: bool = False,
) -> list[NotificationView]:
    """The outbox, narrowed to what ``actor`` may read: a relying party its own messages,
    a subject the messages to it; caseworkers, regulators and admins all of them."""
    from socialcredit.db.models import RelyingParty

    n, rp, s = table(Notification), table(RelyingParty), table(Subject)
    conds: list[Any] = []
    if actor is not None:
        if actor.role == RELYING_PARTY:
            conds.append(n.c.relying_party_id == actor.relying_party_id)
        elif actor.role == SUBJECT:
            conds.append(n.c.recipient == f"subject:{actor.subject_id}")
        elif actor.role not in (CASEWORKER, REGULATOR, ADMIN):
            raise CaseworkError(
                "forbidden_role", "actor", f"a {actor.role} has no notifications", status=403
            )
    if subject_id is not None:
        conds.append(n.c.subject_id == subject_id)
    if relying_party_id is not None:
        conds.append(n.c.relying_party_id == relying_party_id)
    if cause_id is not None:
        conds.append(n.c.cause_id == cause_id)
    if undelivered:
        conds.append(n.c.delivered_at.is_(None))
    rows = conn.execute(
        select(n, rp.c.name.label("party_name"), s.c.code.label("subject_code"))
        .outerjoin(rp, rp.c.id == n.c.relying_party_id)
        .join(s, s.c.id == n.c.subject_id)
        .where(and_(true(), *conds))
        .order_by(n.c.id)
    ).all()
    return [
        NotificationView(
            id=row.id,
            cause=row.cause,
            cause_id=row.cause_id,
            recipient=row.recipient,
            relying_party=row.party_name,
            subject_id=row.subject_id,
            subject_code=row.subject_code,
            record_id=row.record_id,
            message=row.message,
            created_on=row.created_on,
            delivered_at=row.delivered_at,
        )
        for row in rows
    ]


def removal_delay(view: AnnulmentView) -> int | None:
    """Working days from receipt to removal (the figure the 3-day deadline is held to)."""
    if view.removed_on is None:
        return None
    return working_days_between(view.received_on, view.removed_on)
