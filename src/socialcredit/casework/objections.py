"""Objections (Shanghai Social Credit Regulations art. 36): a subject contests a record.

States and working-day deadlines, all computed and stored when the case is filed:

    filed ──► flagged ──► forwarded ──► decided (upheld | corrected | deleted)
     │  flag_due = filed_on + 1 working day   (the record shows as disputed)
     │  forward_due = filed_on + 2 working days (passed to the furnishing provider)
     └─ decision_due = forward_due + 5 working days (the provider checks it within 5
        working days of receiving it; counted from the latest day it may be forwarded,
        so the promise made at filing never moves)

A record is *disputed* from filing until the decision (``disputed_record_ids``): it is
not newly published on the black list meanwhile. Every step is dated, with who and why
(``objection_events``). A case past the deadline of its current step is overdue and
appears in the escalation list; the daily ``maintain`` marks it escalated once per step.
Every decision rescores the subject; a deletion or correction runs the annulment cascade
(scores and lists recomputed, everyone who received an answer about the subject told).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, select, true, tuple_, update

from socialcredit.casework.annulments import (
    Correction,
    cascade_events,
    write_annulment,
    write_correction,
)
from socialcredit.casework.calendar import add_working_days, working_days_between
from socialcredit.casework.common import (
    CASEWORKER,
    PROVIDER,
    SUBJECT,
    Actor,
    CaseworkError,
    Outcome,
    case_rows,
    check_provider_scope,
    check_subject_scope,
    clean_text,
    enqueue_rescore,
    find_record,
    not_found,
    rescore_now,
    run_audited,
    table,
)
from socialcredit.db.models import Objection, ObjectionEvent, Record

FILED = "filed"
FLAGGED = "flagged"
FORWARDED = "forwarded"
DECIDED = "decided"
OPEN = (FILED, FLAGGED, FORWARDED)
STATUSES = (*OPEN, DECIDED)

UPHELD = "upheld"
CORRECTED = "corrected"
DELETED = "deleted"
OUTCOMES = (UPHELD, CORRECTED, DELETED)

FLAG_WORKING_DAYS = 1
FORWARD_WORKING_DAYS = 2
DECISION_WORKING_DAYS = 5  # after forwarding

_NEXT_STEP = {FILED: "flag", FLAGGED: "forward", FORWARDED: "decision"}
# Records a subject may object to: what its file shows (a corrected version is history,
# an annulled or repaired record no longer counts against anyone).
_OBJECTABLE = ("active", "expired")


# --- what the report and the lists need --------------------------------------------------


def disputed_record_ids(conn: Connection, subject_id: int) -> set[int]:
    """Ids of ``subject_id``'s records with an objection not yet decided.

    Every version of a disputed fact is included, so a correction the provider sends
    while the case is open stays disputed until the case is decided.
    """
    return disputed_by_subject(conn, [subject_id]).get(subject_id, set())


def disputed_by_subject(conn: Connection, subject_ids: Iterable[int]) -> dict[int, set[int]]:
    """``disputed_record_ids`` for many subjects in one query (for batch list runs)."""
    ids = sorted(set(subject_ids))
    out: dict[int, set[int]] = defaultdict(set)
    if not ids:
        return {}
    o, r = table(Objection), table(Record)
    disputed = r.alias("disputed")
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        facts = (
            select(disputed.c.provider_id, disputed.c.provider_record_id)
            .join(o, o.c.record_id == disputed.c.id)
            .where(o.c.subject_id.in_(part), o.c.status.in_(OPEN))
        )
        for sid, rid in conn.execute(
            select(r.c.subject_id, r.c.id).where(
                tuple_(r.c.provider_id, r.c.provider_record_id).in_(facts)
            )
        ):
            out[sid].add(rid)
    return dict(out)


def disputes_decided_on(conn: Connection, record_ids: Iterable[int]) -> dict[int, dt.date]:
    """For each of ``record_ids`` whose fact had an objection decided, the latest decision
    day. A black-list entry held back while its record was disputed is published no
    earlier than this (it was not public before), not on its original publication day."""
    ids = sorted(set(record_ids))
    if not ids:
        return {}
    o, r = table(Objection), table(Record)
    asked, objected = r.alias("asked"), r.alias("objected")
    out: dict[int, dt.date] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        for rid, decided in conn.execute(
            select(asked.c.id, o.c.decided_on)
            .join(
                objected,
                and_(
                    objected.c.provider_id == asked.c.provider_id,
                    objected.c.provider_record_id == asked.c.provider_record_id,
                ),
            )
            .join(o, o.c.record_id == objected.c.id)
            .where(asked.c.id.in_(part), o.c.status == DECIDED)
        ):
            if decided is not None and (rid not in out or decided > out[rid]):
                out[rid] = decided
    return out


# --- reading cases -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ObjectionStep:
    action: str
    from_status: str | None
    to_status: str
    on: dt.date
    actor: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "on": self.on.isoformat(),
            "actor": self.actor,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class ObjectionView:
    id: int
    subject_id: int
    subject_code: str
    record_id: int
    record_ref: str  # "<provider name>:<provider_record_id>"
    record_type: str
    provider_id: int
    status: str
    outcome: str | None
    reason: str
    filed_by: str
    filed_on: dt.date
    flag_due: dt.date
    forward_due: dt.date
    decision_due: dt.date
    flagged_on: dt.date | None
    forwarded_on: dt.date | None
    decided_on: dt.date | None
    decision_reason: str | None
    escalated_on: dt.date | None
    steps: tuple[ObjectionStep, ...] = ()

    @property
    def current_due(self) -> dt.date | None:
        """The deadline of the step the case waits for; None once decided."""
        return {
            FILED: self.flag_due,
            FLAGGED: self.forward_due,
            FORWARDED: self.decision_due,
        }.get(self.status)

    def overdue_on(self, day: dt.date) -> bool:
        due = self.current_due
        return due is not None and day > due

    def as_dict(self, *, mask_id: bool = True) -> dict[str, Any]:
        from socialcredit.identity.ids import display

        return {
            "id": self.id,
            "subject": display(self.subject_code, full=not mask_id),
            "record_id": self.record_id,
            "record": self.record_ref,
            "record_type": self.record_type,
            "status": self.status,
            "outcome": self.outcome,
            "reason": self.reason,
            "filed_by": self.filed_by,
            "filed_on": self.filed_on.isoformat(),
            "deadlines": {
                "flag": self.flag_due.isoformat(),
                "forward": self.forward_due.isoformat(),
                "decision": self.decision_due.isoformat(),
            },
            "flagged_on": _iso(self.flagged_on),
            "forwarded_on": _iso(self.forwarded_on),
            "decided_on": _iso(self.decided_on),
            "decision_reason": self.decision_reason,
            "escalated_on": _iso(self.escalated_on),
            "steps": [s.as_dict() for s in self.steps],
        }


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


@dataclass(frozen=True, slots=True)
class Deadlines:
    flag: dt.date
    forward: dt.date
    decision: dt.date


def deadlines(filed_on: dt.date) -> Deadlines:
    """The three deadlines of a case filed on ``filed_on`` (a filing on a day off counts
    from that day all the same: the next working day is the first of the period)."""
    forward = add_working_days(filed_on, FORWARD_WORKING_DAYS)
    return Deadlines(
        flag=add_working_days(filed_on, FLAG_WORKING_DAYS),
        forward=forward,
        decision=add_working_days(forward, DECISION_WORKING_DAYS),
    )


def _views(conn: Connection, where: Any, *, steps: bool = False) -> list[ObjectionView]:
    rows = case_rows(conn, table(Objection), where)
    history: dict[int, list[ObjectionStep]] = defaultdict(list)
    if steps and rows:
        e = table(ObjectionEvent)
        for ev in conn.execute(
            select(e).where(e.c.objection_id.in_([row.id for row in rows])).order_by(e.c.id)
        ):
            history[ev.objection_id].append(
                ObjectionStep(
                    action=ev.action,
                    from_status=ev.from_status,
                    to_status=ev.to_status,
                    on=ev.on,
                    actor=ev.actor,
                    reason=ev.reason,
                )
            )
    return [
        ObjectionView(
            id=row.id,
            subject_id=row.subject_id,
            subject_code=row.subject_code,
            record_id=row.record_id,
            record_ref=f"{row.provider_name}:{row.provider_record_id}",
            record_type=row.record_type,
            provider_id=row.provider_id,
            status=row.status,
            outcome=row.outcome,
            reason=row.reason,
            filed_by=row.filed_by,
            filed_on=row.filed_on,
            flag_due=row.flag_due,
            forward_due=row.forward_due,
            decision_due=row.decision_due,
            flagged_on=row.flagged_on,
            forwarded_on=row.forwarded_on,
            decided_on=row.decided_on,
            decision_reason=row.decision_reason,
            escalated_on=row.escalated_on,
            steps=tuple(history.get(row.id, ())),
        )
        for row in rows
    ]


def get_objection(conn: Connection, objection_id: int) -> ObjectionView:
    found = _views(conn, table(Objection).c.id == objection_id, steps=True)
    if not found:
        raise not_found("objection", "objection_id", objection_id)
    return found[0]


def list_objections(
    conn: Connection,
    *,
    status: str | None = None,
    subject_id: int | None = None,
    provider_id: int | None = None,
    record_types: Collection[str] | None = None,
) -> list[ObjectionView]:
    """Cases, oldest first; ``provider_id`` and ``record_types`` narrow them to what a
    provider key covers (its provider's records, of the key's types)."""
    o, r = table(Objection), table(Record)
    conds = []
    if status is not None:
        if status not in (*STATUSES, "open"):
            raise CaseworkError(
                "bad_status", "status", f"status must be one of {', '.join(STATUSES)} or open"
            )
        conds.append(o.c.status.in_(OPEN) if status == "open" else o.c.status == status)
    if subject_id is not None:
        conds.append(o.c.subject_id == subject_id)
    if provider_id is not None:
        conds.append(o.c.provider_id == provider_id)
    if record_types is not None:
        conds.append(r.c.record_type.in_(sorted(record_types)))
    return _views(conn, and_(true(), *conds))


@dataclass(frozen=True, slots=True)
class OverdueCase:
    """An objection past the deadline of the step it waits for."""

    objection: ObjectionView
    step: str  # flag | forward | decision
    due: dt.date
    working_days_late: int

    def as_dict(self, *, mask_id: bool = True) -> dict[str, Any]:
        return self.objection.as_dict(mask_id=mask_id) | {
            "waiting_for": self.step,
            "due": self.due.isoformat(),
            "working_days_late": self.working_days_late,
        }


def overdue_objections(
    conn: Connection,
    as_of: dt.date,
    *,
    provider_id: int | None = None,
    record_types: Collection[str] | None = None,
) -> list[OverdueCase]:
    """The escalation list: open cases whose current step is past due on ``as_of``,
    the longest overdue first."""
    out = []
    for view in list_objections(
        conn, status="open", provider_id=provider_id, record_types=record_types
    ):
        due = view.current_due
        if due is not None and as_of > due:
            out.append(
                OverdueCase(
                    objection=view,
                    step=_NEXT_STEP[view.status],
                    due=due,
                    working_days_late=working_days_between(due, as_of),
                )
            )
    out.sort(key=lambda c: (c.due, c.objection.id))
    return out


# --- the steps -----------------------------------------------------------------------


def _event(
    conn: Connection,
    objection_id: int,
    action: str,
    from_status: str | None,
    to_status: str,
    on: dt.date,
    actor: Actor,
    reason: str,
) -> None:
    conn.execute(
        insert(ObjectionEvent).values(
            objection_id=objection_id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            on=on,
            actor=actor.name,
            reason=reason,
        )
    )


def file_objection(
    engine: Engine,
    *,
    actor: Actor,
    reason: str,
    on: dt.date,
    record_id: int | None = None,
    provider: str | None = None,
    provider_record_id: str | None = None,
) -> ObjectionView:
    """A subject (its own record) or a caseworker for them objects to a record.

    Refused: another subject's record (403), an unknown record (404), a superseded,
    annulled or repaired record, or one with an objection already open (409), no reason.
    """

    def body(conn: Connection, out: Outcome) -> ObjectionView:
        if actor.role not in (SUBJECT, CASEWORKER):
            raise CaseworkError(
                "forbidden_role",
                "actor",
                "only the subject or a caseworker files an objection",
                status=403,
            )
        text = clean_text(reason, "reason")
        record = find_record(
            conn,
            record_id=record_id,
            provider=provider,
            provider_record_id=provider_record_id,
            for_update=True,
        )
        # Audited against the record's subject even when refused: an attempt on someone's
        # file is an access they see. The caller learns nothing beyond "not yours".
        out.subject_id = record.subject_id
        out.detail.update(record_id=record.id, record=record.ref)
        check_subject_scope(actor, record.subject_id, what="object to")
        if record.status not in _OBJECTABLE:
            raise CaseworkError(
                "record_not_active",
                "record_id",
                f"record {record.ref} is {record.status}; it no longer counts against anyone",
                status=409,
            )
        o = table(Objection)
        open_id = conn.scalar(
            select(o.c.id).where(o.c.record_id == record.id, o.c.status.in_(OPEN))
        )
        if open_id is not None:
            raise CaseworkError(
                "objection_open",
                "record_id",
                f"objection {open_id} about record {record.ref} is still open",
                status=409,
            )
        due = deadlines(on)
        oid = conn.execute(
            insert(Objection)
            .values(
                subject_id=record.subject_id,
                record_id=record.id,
                provider_id=record.provider_id,
                status=FILED,
                reason=text,
                filed_by=actor.name,
                filed_on=on,
                flag_due=due.flag,
                forward_due=due.forward,
                decision_due=due.decision,
            )
            .returning(Objection.id)
        ).scalar_one()
        _event(conn, oid, "filed", None, FILED, on, actor, text)
        out.detail.update(objection_id=oid, decision_due=due.decision.isoformat())
        return get_objection(conn, oid)

    return run_audited(engine, actor, "objection.file", body, detail={"on": on.isoformat()})


def _load_open(conn: Connection, objection_id: int, out: Outcome) -> ObjectionView:
    o = table(Objection)
    # Locked: two caseworkers deciding the same case at once must not both succeed.
    locked = conn.execute(
        select(o.c.id, o.c.subject_id).where(o.c.id == objection_id).with_for_update()
    ).first()
    if locked is None:
        raise not_found("objection", "objection_id", objection_id)
    out.subject_id = int(locked.subject_id)
    out.detail["objection_id"] = objection_id
    return get_objection(conn, objection_id)


def _check_step(view: ObjectionView, expected: str, step: str, on: dt.date) -> None:
    if view.status == DECIDED:
        raise CaseworkError(
            "already_decided",
            "objection_id",
            f"objection {view.id} was decided ({view.outcome}) on {view.decided_on}",
            status=409,
        )
    if view.status != expected:
        raise CaseworkError(
            "wrong_status",
            "objection_id",
            f"objection {view.id} is {view.status}; only a {expected} case can be {step}",
            status=409,
        )
    last = max(d for d in (view.filed_on, view.flagged_on, view.forwarded_on) if d is not None)
    if on < last:
        raise CaseworkError("bad_date", "on", f"{on} is before the case's last step on {last}")


def _require(actor: Actor, *roles: str, what: str) -> None:
    if actor.role not in roles:
        raise CaseworkError(
            "forbidden_role",
            "actor",
            f"a {actor.role} may not {what} (open to: {', '.join(roles)})",
            status=403,
        )


def _advance(
    engine: Engine,
    *,
    actor: Actor,
    objection_id: int,
    on: dt.date,
    note: str | None,
    expected: str,
    to: str,
    action: str,
) -> ObjectionView:
    def body(conn: Connection, out: Outcome) -> ObjectionView:
        _require(actor, CASEWORKER, what=f"mark an objection {to}")
        view = _load_open(conn, objection_id, out)
        _check_step(view, expected, to, on)
        due = view.flag_due if to == FLAGGED else view.forward_due
        why = (note or "").strip() or (
            f"record {view.record_ref} shown as disputed"
            if to == FLAGGED
            else f"forwarded to the provider for checking, decision due {view.decision_due}"
        )
        values: dict[str, Any] = {"status": to, f"{to}_on": on, "escalated_on": None}
        conn.execute(update(Objection).where(Objection.id == objection_id).values(**values))
        late = f" ({working_days_between(due, on)} working days late)" if on > due else ""
        _event(conn, objection_id, action, expected, to, on, actor, why + late)
        out.detail.update(step=action, late=on > due)
        return get_objection(conn, objection_id)

    return run_audited(engine, actor, f"objection.{action}", body, detail={"on": on.isoformat()})


def flag_objection(
    engine: Engine, *, actor: Actor, objection_id: int, on: dt.date, note: str | None = None
) -> ObjectionView:
    """filed → flagged: the record shows as disputed (due within 1 working day)."""
    return _advance(
        engine,
        actor=actor,
        objection_id=objection_id,
        on=on,
        note=note,
        expected=FILED,
        to=FLAGGED,
        action="flagged",
    )


def forward_objection(
    engine: Engine, *, actor: Actor, objection_id: int, on: dt.date, note: str | None = None
) -> ObjectionView:
    """flagged → forwarded to the provider (due within 2 working days of filing)."""
    return _advance(
        engine,
        actor=actor,
        objection_id=objection_id,
        on=on,
        note=note,
        expected=FLAGGED,
        to=FORWARDED,
        action="forwarded",
    )


def decide_objection(
    engine: Engine,
    *,
    actor: Actor,
    objection_id: int,
    outcome: str,
    reason: str,
    on: dt.date,
    correction: Correction | None = None,
) -> ObjectionView:
    """forwarded → decided. ``upheld`` keeps the record; ``deleted`` annuls it;
    ``corrected`` writes a new version with ``correction`` (or accepts a correction the
    provider already sent). The provider decides on its own records; a caseworker may
    record the provider's answer. A deletion or correction runs the annulment cascade;
    every decision rescores the subject. A record annulled while the case was open is not
    corrected (409 ``record_annulled``: that would bring it back); a repaired one is, and
    stays repaired (``write_correction``)."""
    cascaded: list[int] = []

    def body(conn: Connection, out: Outcome) -> ObjectionView:
        _require(actor, PROVIDER, CASEWORKER, what="decide an objection")
        if outcome not in OUTCOMES:
            raise CaseworkError(
                "bad_outcome", "outcome", f"outcome must be one of {', '.join(OUTCOMES)}"
            )
        text = clean_text(reason, "reason")
        view = _load_open(conn, objection_id, out)
        check_provider_scope(
            actor, view.provider_id, view.record_type, what="decide objections about"
        )
        _check_step(view, FORWARDED, DECIDED, on)
        out.detail.update(outcome=outcome)
        record = conn.execute(select(Record.status).where(Record.id == view.record_id)).scalar_one()
        event_ids: list[int] = []
        if outcome == UPHELD:
            if record not in _OBJECTABLE:
                raise CaseworkError(
                    "record_changed",
                    "outcome",
                    f"record {view.record_ref} is {record} since the objection was filed; "
                    "it cannot be upheld as it was",
                    status=409,
                )
            if correction is not None:
                raise CaseworkError(
                    "unexpected_value", "correction", "an upheld record is not corrected"
                )
        elif outcome == DELETED:
            if correction is not None:
                raise CaseworkError(
                    "unexpected_value", "correction", "a deleted record is not corrected"
                )
            if record != "annulled":  # else the provider already annulled it by feed
                current = find_record(conn, record_id=view.record_id, for_update=True)
                event_ids.append(
                    write_annulment(
                        conn,
                        current,
                        reason=f"deleted on objection {objection_id}: {text}",
                        source="casework",
                        on=on,
                    )
                )
        else:  # corrected
            if record == "annulled":
                # Correcting it would bring an annulled decision back into the file.
                raise CaseworkError(
                    "record_annulled",
                    "outcome",
                    f"record {view.record_ref} was annulled since the objection was filed; "
                    "an annulled record is not corrected (decide deleted: it is gone already)",
                    status=409,
                )
            if record == "corrected" and correction is None:
                pass  # the provider's feed already sent the new version
            elif record == "corrected":
                raise CaseworkError(
                    "record_changed",
                    "correction",
                    f"record {view.record_ref} was already corrected by its provider; decide "
                    "corrected without new values, or object to the new version",
                    status=409,
                )
            elif correction is None:
                raise CaseworkError(
                    "missing_value",
                    "correction",
                    "a corrected outcome needs the corrected values (record_type, "
                    "decision_ref, decided_on, conduct_ended_on or amount_cny)",
                )
            else:
                current = find_record(conn, record_id=view.record_id, for_update=True)
                event_ids.append(
                    write_correction(
                        conn,
                        current,
                        correction,
                        reason=f"corrected on objection {objection_id}: {text}",
                        source="casework",
                        on=on,
                    )[1]
                )
        conn.execute(
            update(Objection)
            .where(Objection.id == objection_id)
            .values(
                status=DECIDED,
                outcome=outcome,
                decided_on=on,
                decision_reason=text,
                escalated_on=None,
            )
        )
        late = (
            f" ({working_days_between(view.decision_due, on)} working days late)"
            if on > view.decision_due
            else ""
        )
        _event(
            conn, objection_id, "decided", FORWARDED, DECIDED, on, actor, f"{outcome}: {text}{late}"
        )
        if event_ids:
            cascaded.extend(
                a.id for a in cascade_events(conn, event_ids=event_ids, on=on, source="objection")
            )
            out.detail["annulments"] = list(cascaded)
        enqueue_rescore(conn, [view.subject_id])
        return get_objection(conn, objection_id)

    decided = run_audited(engine, actor, "objection.decide", body, detail={"on": on.isoformat()})
    # After the commit: the decision stands even if rescoring has to wait for a policy.
    rescore_now(engine, [decided.subject_id], on)
    return decided


# --- escalation ----------------------------------------------------------------------------


def escalate_objections(conn: Connection, day: dt.date, actor: Actor) -> list[int]:
    """Mark every case overdue on ``day`` and not yet escalated at its current step;
    returns their ids (inside the caller's transaction: the daily job's)."""
    done = []
    for case in overdue_objections(conn, day):
        view = case.objection
        if view.escalated_on is not None:
            continue
        conn.execute(update(Objection).where(Objection.id == view.id).values(escalated_on=day))
        _event(
            conn,
            view.id,
            "escalated",
            view.status,
            view.status,
            day,
            actor,
            f"{case.step} was due on {case.due}"
            + (f"; {case.working_days_late} working days late" if case.working_days_late else ""),
        )
        done.append(view.id)
    return done
