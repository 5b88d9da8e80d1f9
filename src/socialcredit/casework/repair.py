"""Credit repair (NDRC credit-repair measures in force 2026-04-01).

A subject (or a caseworker for them) applies for one record once its minimum display
window has passed, stating the obligations met (fine paid, tax settled...) and giving a
credit commitment. Eligibility is checked at filing and again at approval:

- the record is the subject's, current and active, and a negative one;
- its type is repairable (the catalogue's ``repairable`` flag): a court dishonest-debtor
  listing is not repaired, it ends on performance, when the court annuls it;
- the minimum window has passed: ``on >= add_months(decided_on, min_window_months)``;
- no other application for the record is open.

The decision is due within 3 working days of filing (``decision_due``, stored at filing).
On approval the record gets the status ``repaired``: from that day it is neither shown
nor counted, the subject is rescored and its black-list entry for the record exits. It is
free of charge; there is deliberately no fee anywhere in the application.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from socialcredit.casework.annulments import write_status_event
from socialcredit.casework.calendar import add_working_days, working_days_between
from socialcredit.casework.common import (
    CASEWORKER,
    SUBJECT,
    Actor,
    CaseworkError,
    Outcome,
    RecordRow,
    case_rows,
    check_subject_scope,
    clean_text,
    enqueue_rescore,
    find_record,
    not_found,
    rescore_now,
    run_audited,
    table,
)
from socialcredit.db.models import RecordType, RepairApplication
from socialcredit.scoring.dates import add_months

FILED = "filed"
APPROVED = "approved"
REJECTED = "rejected"
STATUSES = (FILED, APPROVED, REJECTED)
DECISION_WORKING_DAYS = 3
MAX_OBLIGATIONS = 20


@dataclass(frozen=True, slots=True)
class RepairView:
    id: int
    subject_id: int
    subject_code: str
    record_id: int
    record_ref: str
    record_type: str
    status: str
    obligations: tuple[str, ...]
    commitment: str
    filed_by: str
    filed_on: dt.date
    decision_due: dt.date
    decided_on: dt.date | None
    decided_by: str | None
    decision_reason: str | None
    escalated_on: dt.date | None

    def as_dict(self, *, mask_id: bool = True) -> dict[str, Any]:
        from socialcredit.identity.ids import display

        return {
            "id": self.id,
            "subject": display(self.subject_code, full=not mask_id),
            "record_id": self.record_id,
            "record": self.record_ref,
            "record_type": self.record_type,
            "status": self.status,
            "obligations": list(self.obligations),
            "commitment": self.commitment,
            "filed_by": self.filed_by,
            "filed_on": self.filed_on.isoformat(),
            "decision_due": self.decision_due.isoformat(),
            "decided_on": None if self.decided_on is None else self.decided_on.isoformat(),
            "decided_by": self.decided_by,
            "decision_reason": self.decision_reason,
            "escalated_on": None if self.escalated_on is None else self.escalated_on.isoformat(),
        }


def list_repairs(
    conn: Connection,
    *,
    ids: list[int] | None = None,
    status: str | None = None,
    subject_id: int | None = None,
) -> list[RepairView]:
    a = table(RepairApplication)
    conds: list[Any] = []
    if ids is not None:
        conds.append(a.c.id.in_(ids))
    if status is not None:
        if status not in STATUSES:
            raise CaseworkError(
                "bad_status", "status", f"status must be one of {', '.join(STATUSES)}"
            )
        conds.append(a.c.status == status)
    if subject_id is not None:
        conds.append(a.c.subject_id == subject_id)
    rows = case_rows(conn, a, *conds)
    return [
        RepairView(
            id=row.id,
            subject_id=row.subject_id,
            subject_code=row.subject_code,
            record_id=row.record_id,
            record_ref=f"{row.provider_name}:{row.provider_record_id}",
            record_type=row.record_type,
            status=row.status,
            obligations=tuple(json.loads(row.obligations)),
            commitment=row.commitment,
            filed_by=row.filed_by,
            filed_on=row.filed_on,
            decision_due=row.decision_due,
            decided_on=row.decided_on,
            decided_by=row.decided_by,
            decision_reason=row.decision_reason,
            escalated_on=row.escalated_on,
        )
        for row in rows
    ]


def get_repair(conn: Connection, application_id: int) -> RepairView:
    found = list_repairs(conn, ids=[application_id])
    if not found:
        raise not_found("repair_application", "application_id", application_id)
    return found[0]


def eligible_from(conn: Connection, record: RecordRow) -> dt.date:
    """The first day the record may be repaired: its minimum display window passed."""
    months = conn.scalar(
        select(RecordType.min_window_months).where(RecordType.code == record.record_type)
    )
    return add_months(record.decided_on, int(months or 0))


def check_eligible(conn: Connection, record: RecordRow, on: dt.date) -> None:
    """Raise ``CaseworkError`` naming why ``record`` cannot be repaired on ``on``."""
    rtype = conn.execute(
        select(RecordType.repairable, RecordType.polarity, RecordType.min_window_months).where(
            RecordType.code == record.record_type
        )
    ).one()
    if record.status != "active":
        raise CaseworkError(
            "record_not_active",
            "record_id",
            f"record {record.ref} is {record.status}; only an active record is repaired",
            status=409,
        )
    if rtype.polarity != "negative":
        raise CaseworkError(
            "not_repairable",
            "record_id",
            f"{record.record_type} is a positive record; there is nothing to repair",
        )
    if not rtype.repairable:
        raise CaseworkError(
            "not_repairable",
            "record_id",
            f"{record.record_type} is not repairable under the published catalogue: a court "
            "listing ends when the obligation is performed and the court annuls it, not by "
            "credit repair",
        )
    first = eligible_from(conn, record)
    if on < first:
        raise CaseworkError(
            "too_early",
            "record_id",
            f"{record.record_type} decided on {record.decided_on} may be repaired from {first}, "
            f"after its minimum display window of {rtype.min_window_months} months",
        )


def _obligations(obligations: list[str]) -> list[str]:
    if not isinstance(obligations, list) or not obligations:
        raise CaseworkError(
            "missing_value",
            "obligations",
            "state at least one obligation met (e.g. fine paid, tax settled)",
        )
    if len(obligations) > MAX_OBLIGATIONS:
        raise CaseworkError(
            "too_long", "obligations", f"at most {MAX_OBLIGATIONS} obligations per application"
        )
    return [clean_text(o, "obligations", limit=500) for o in obligations]


def apply_for_repair(
    engine: Engine,
    *,
    actor: Actor,
    obligations: list[str],
    commitment: str,
    on: dt.date,
    record_id: int | None = None,
    provider: str | None = None,
    provider_record_id: str | None = None,
) -> RepairView:
    """File an application; refused (and audited, nothing stored) if the record is not
    the subject's, not repairable, too early, already under repair, or the obligations or
    commitment are missing."""

    def body(conn: Connection, out: Outcome) -> RepairView:
        if actor.role not in (SUBJECT, CASEWORKER):
            raise CaseworkError(
                "forbidden_role",
                "actor",
                "only the subject or a caseworker applies for repair",
                status=403,
            )
        record = find_record(
            conn,
            record_id=record_id,
            provider=provider,
            provider_record_id=provider_record_id,
            for_update=True,
        )
        out.subject_id = record.subject_id  # audited against the owner's file, see objections
        out.detail.update(record_id=record.id, record=record.ref)
        check_subject_scope(actor, record.subject_id, what="apply for repair of")
        stated = _obligations(obligations)
        promise = clean_text(commitment, "commitment", minimum=4)
        check_eligible(conn, record, on)
        a = table(RepairApplication)
        open_id = conn.scalar(select(a.c.id).where(a.c.record_id == record.id, a.c.status == FILED))
        if open_id is not None:
            raise CaseworkError(
                "application_open",
                "record_id",
                f"repair application {open_id} for record {record.ref} is still open",
                status=409,
            )
        due = add_working_days(on, DECISION_WORKING_DAYS)
        aid = conn.execute(
            insert(a)
            .values(
                subject_id=record.subject_id,
                record_id=record.id,
                status=FILED,
                obligations=json.dumps(stated, ensure_ascii=False),
                commitment=promise,
                filed_by=actor.name,
                filed_on=on,
                decision_due=due,
            )
            .returning(a.c.id)
        ).scalar_one()
        out.detail.update(application_id=aid, decision_due=due.isoformat())
        return get_repair(conn, int(aid))

    return run_audited(engine, actor, "repair.apply", body, detail={"on": on.isoformat()})


def decide_repair(
    engine: Engine,
    *,
    actor: Actor,
    application_id: int,
    approve: bool,
    reason: str,
    on: dt.date,
) -> RepairView:
    """A caseworker approves or rejects an open application. Approval re-checks
    eligibility, marks the record ``repaired`` and rescores the subject (its black-list
    entry exits). Deciding twice is refused (409)."""

    def body(conn: Connection, out: Outcome) -> RepairView:
        if actor.role != CASEWORKER:
            raise CaseworkError(
                "forbidden_role", "actor", "a caseworker decides repair applications", status=403
            )
        text = clean_text(reason, "reason")
        a = table(RepairApplication)
        locked = conn.execute(
            select(a.c.id, a.c.subject_id).where(a.c.id == application_id).with_for_update()
        ).first()
        if locked is None:
            raise not_found("repair_application", "application_id", application_id)
        out.subject_id = int(locked.subject_id)
        out.detail.update(application_id=application_id, approve=approve)
        app = get_repair(conn, application_id)
        if app.status != FILED:
            raise CaseworkError(
                "already_decided",
                "application_id",
                f"repair application {app.id} was {app.status} on {app.decided_on}",
                status=409,
            )
        if on < app.filed_on:
            raise CaseworkError("bad_date", "on", f"{on} is before the filing on {app.filed_on}")
        if approve:
            record = find_record(conn, record_id=app.record_id, for_update=True)
            check_eligible(conn, record, on)
            obligations = "; ".join(app.obligations)
            write_status_event(
                conn,
                record,
                "repaired",
                f"credit repair {app.id} approved on {on}: {obligations}; credit commitment "
                f"given ({text})",
                "casework",
                on,
            )
            enqueue_rescore(conn, [app.subject_id])
        late = on > app.decision_due
        conn.execute(
            update(a)
            .where(a.c.id == application_id)
            .values(
                status=APPROVED if approve else REJECTED,
                decided_on=on,
                decided_by=actor.name,
                decision_reason=text
                + (
                    f" ({working_days_between(app.decision_due, on)} working days late)"
                    if late
                    else ""
                ),
            )
        )
        out.detail.update(late=late)
        return get_repair(conn, application_id)

    decided = run_audited(engine, actor, "repair.decide", body, detail={"on": on.isoformat()})
    if decided.status == APPROVED:
        rescore_now(engine, [decided.subject_id], on)
    return decided


def overdue_repairs(conn: Connection, as_of: dt.date) -> list[RepairView]:
    return [r for r in list_repairs(conn, status=FILED) if as_of > r.decision_due]


def escalate_repairs(conn: Connection, day: dt.date) -> list[int]:
    """Open applications past their decision date, marked once (the daily job)."""
    late = [r.id for r in overdue_repairs(conn, day) if r.escalated_on is None]
    if late:
        conn.execute(
            update(RepairApplication).where(RepairApplication.id.in_(late)).values(escalated_on=day)
        )
    return late
