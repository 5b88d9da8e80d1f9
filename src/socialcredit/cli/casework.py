"""Due process at the command line: ``objections``, ``repair``, ``records annul|correct``,
``annulments``, ``notifications`` and the daily ``maintain``.

A caseworker runs these (``--by NAME`` says who, for the case history and the audit
log; default "cli"). Every step takes ``--as-of`` (default today) so a missed day can be
recorded on its own date, and every listing of cases is itself audited, like
``audit list``. Bad input exits 2 with the field and the reason; nothing is changed and
the attempt is in the audit log: a step's refusal by the casework service, a read's
(an unknown case, subject, provider or party, a bad status) by ``_audited_read``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Connection, select

from socialcredit.audit import append
from socialcredit.casework import annulments, maintenance, objections, repair
from socialcredit.casework.common import ADMIN, CASEWORKER, Actor, CaseworkError
from socialcredit.cli.common import console, fail, parse_as_of, print_json, progress_bars, store
from socialcredit.db.models import Provider, RelyingParty, Subject
from socialcredit.identity.ids import compact, mask

T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="The day of the step (YYYY-MM-DD; default today)."),
]
ByOpt = Annotated[
    str, typer.Option("--by", help="Who acts (a caseworker's name), for the history and audit.")
]
RecordIdOpt = Annotated[
    int | None, typer.Option("--record-id", min=1, help="The record's number in the store.")
]
ProviderOpt = Annotated[
    str | None, typer.Option("--provider", help="The furnishing provider's name...")
]
PridOpt = Annotated[
    str | None, typer.Option("--provider-record-id", help="...and its own id for the record.")
]
FullOpt = Annotated[bool, typer.Option("--full", help="Show full ID numbers.")]

objections_app = typer.Typer(
    help="Objections to records: file, flag, forward, decide; the escalation list.",
    no_args_is_help=True,
)
repair_app = typer.Typer(
    help="Credit repair: apply after the minimum window, decide within 3 working days.",
    no_args_is_help=True,
)
notifications_app = typer.Typer(
    help="The outbox: messages owed to relying parties and subjects.", no_args_is_help=True
)


def _call(action: Callable[[], T]) -> T:
    try:
        return action()
    except CaseworkError as exc:
        fail(escape(f"{exc.field}: {exc.message} [{exc.code}]"))


def _actor(by: str, role: str = CASEWORKER) -> Actor:
    try:
        return Actor(by.strip(), role)
    except ValueError as exc:
        fail(f"--by: {exc}")


def _subject_id(conn: Connection, raw: str | None) -> int | None:
    if raw is None:
        return None
    sid = conn.scalar(select(Subject.id).where(Subject.code == compact(raw)))
    if sid is None:
        raise CaseworkError(
            "unknown_subject",
            "subject",
            f"no subject registered with ID {mask(compact(raw))}",
            status=404,
        )
    return int(sid)


def _named(conn: Connection, model: Any, name: str | None, what: str, option: str) -> int | None:
    """The id of a provider or relying party named by an option; refused if unknown."""
    if name is None:
        return None
    found = conn.scalar(select(model.id).where(model.name == name))
    if found is None:
        raise CaseworkError(
            f"unknown_{what.replace(' ', '_')}", option, f"unknown {what} {name!r}", status=404
        )
    return int(found)


def _audit_read(
    conn: Connection,
    by: str,
    action: str,
    subject_id: int | None,
    n: int,
    *,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> None:
    append(
        conn,
        actor=by[:100] or "cli",
        role=ADMIN,
        action=action,
        outcome=outcome[:40],
        subject_id=subject_id,
        detail=detail if detail is not None else {"count": n},
    )


Read = tuple[T, int | None, int]  # what was read, whose file (if one), how many


def _audited_read(by: str, action: str, read: Callable[[Connection], Read[T]]) -> T:
    """Read in one transaction with its audit entry. A refusal (an unknown case, subject,
    provider or party; a bad status) rolls the read back, is audited in a transaction of
    its own with its code, and then exits 2 with the reason: on record before it is
    reported, like every other refusal."""
    engine = store()
    try:
        with engine.begin() as conn:
            found, subject_id, count = read(conn)
            _audit_read(conn, by, action, subject_id, count)
    except CaseworkError as exc:
        with engine.begin() as conn:
            _audit_read(
                conn,
                by,
                action,
                None,
                0,
                outcome=exc.code,
                detail={"field": exc.field, "reason": exc.message[:300]},
            )
        fail(escape(f"{exc.field}: {exc.message} [{exc.code}]"))
    return found


def _day(value: Any) -> str:
    return str(value) if value else "—"


# --- objections ---------------------------------------------------------------------------


def _print_objection(view: objections.ObjectionView, *, full: bool) -> None:
    d = view.as_dict(mask_id=not full)
    console.print(
        f"[bold]Objection {d['id']}[/] {d['status']}"
        + (f" ({d['outcome']})" if d["outcome"] else "")
        + f" — record {escape(d['record'])} ({d['record_type']}) of {d['subject']}"
    )
    console.print(
        f"  filed {d['filed_on']} by {escape(d['filed_by'])}: {escape(d['reason'])}\n"
        f"  due: flag {d['deadlines']['flag']}, forward {d['deadlines']['forward']}, "
        f"decision {d['deadlines']['decision']}"
    )
    for step in d["steps"]:
        console.print(
            f"  {step['on']}  {step['action']:<10} {escape(step['actor'])}: "
            f"{escape(step['reason'])}"
        )


def _objection_out(view: objections.ObjectionView, json_out: bool, full: bool = False) -> None:
    if json_out:
        print_json(view.as_dict(mask_id=not full))
    else:
        _print_objection(view, full=full)


@objections_app.command("file")
def objection_file(
    reason: Annotated[str, typer.Option("--reason", help="Why the record is wrong.")],
    record_id: RecordIdOpt = None,
    provider: ProviderOpt = None,
    provider_record_id: PridOpt = None,
    by: ByOpt = "cli",
    as_of: AsOfOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """File an objection for a subject (a caseworker at the counter). Deadlines are
    counted in working days and fixed now."""
    engine, on = store(), parse_as_of(as_of)
    view = _call(
        lambda: objections.file_objection(
            engine,
            actor=_actor(by),
            reason=reason,
            on=on,
            record_id=record_id,
            provider=provider,
            provider_record_id=provider_record_id,
        )
    )
    _objection_out(view, json_out)


def _advance(step: Any, objection_id: int, note: str | None, by: str, as_of: str | None) -> Any:
    engine, on = store(), parse_as_of(as_of)
    return _call(
        lambda: step(engine, actor=_actor(by), objection_id=objection_id, on=on, note=note)
    )


NoteOpt = Annotated[str | None, typer.Option("--note", help="Why, if not the usual.")]
CaseArg = Annotated[int, typer.Argument(min=1, help="The objection's number.")]


@objections_app.command("flag")
def objection_flag(
    objection_id: CaseArg,
    note: NoteOpt = None,
    by: ByOpt = "cli",
    as_of: AsOfOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """filed → flagged: the record shows as disputed (due within 1 working day)."""
    _objection_out(_advance(objections.flag_objection, objection_id, note, by, as_of), json_out)


@objections_app.command("forward")
def objection_forward(
    objection_id: CaseArg,
    note: NoteOpt = None,
    by: ByOpt = "cli",
    as_of: AsOfOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """flagged → forwarded to the provider (due within 2 working days of filing)."""
    _objection_out(_advance(objections.forward_objection, objection_id, note, by, as_of), json_out)


def _correction(
    record_type: str | None,
    decision_ref: str | None,
    decided_on: str | None,
    conduct_ended_on: str | None,
    amount_cny: str | None,
) -> annulments.Correction | None:
    def day(name: str, value: str | None) -> dt.date | None:
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            fail(f"--{name.replace('_', '-')} must be a date YYYY-MM-DD, not {escape(value)!r}")

    correction = annulments.Correction(
        record_type=record_type,
        decision_ref=decision_ref,
        decided_on=day("decided_on", decided_on),
        conduct_ended_on=day("conduct_ended_on", conduct_ended_on),
        amount_fen=_call(lambda: annulments.Correction.amount_from_cny(amount_cny)),
    )
    return None if correction.is_empty() else correction


RecordTypeOpt = Annotated[
    str | None, typer.Option("--record-type", help="Corrected: the record type.")
]
DecisionRefOpt = Annotated[
    str | None, typer.Option("--decision-ref", help="Corrected: the decision document.")
]
DecidedOpt = Annotated[str | None, typer.Option("--decided-on", help="Corrected: YYYY-MM-DD.")]
EndedOpt = Annotated[str | None, typer.Option("--conduct-ended-on", help="Corrected: YYYY-MM-DD.")]
AmountOpt = Annotated[str | None, typer.Option("--amount-cny", help="Corrected: yuan.")]


@objections_app.command("decide")
def objection_decide(
    objection_id: CaseArg,
    outcome: Annotated[str, typer.Option("--outcome", help="upheld, corrected or deleted.")],
    reason: Annotated[str, typer.Option("--reason", help="The provider's answer.")],
    record_type: RecordTypeOpt = None,
    decision_ref: DecisionRefOpt = None,
    decided_on: DecidedOpt = None,
    conduct_ended_on: EndedOpt = None,
    amount_cny: AmountOpt = None,
    by: ByOpt = "cli",
    as_of: AsOfOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """forwarded → decided, recording the provider's answer (due within 5 working days
    of forwarding). Deleted or corrected records run the annulment cascade; the subject
    is rescored either way."""
    engine, on = store(), parse_as_of(as_of)
    correction = _correction(record_type, decision_ref, decided_on, conduct_ended_on, amount_cny)
    view = _call(
        lambda: objections.decide_objection(
            engine,
            actor=_actor(by),
            objection_id=objection_id,
            outcome=outcome,
            reason=reason,
            on=on,
            correction=correction,
        )
    )
    _objection_out(view, json_out)


@objections_app.command("show")
def objection_show(
    objection_id: CaseArg, by: ByOpt = "cli", full: FullOpt = False, json_out: JsonOpt = False
) -> None:
    """One objection with every dated step."""

    def read(conn: Connection) -> Read[objections.ObjectionView]:
        view = objections.get_objection(conn, objection_id)
        return view, view.subject_id, 1

    _objection_out(_audited_read(by, "objection.read", read), json_out, full)


@objections_app.command("list")
def objection_list(
    status: Annotated[
        str | None,
        typer.Option("--status", help="filed, flagged, forwarded, decided or open."),
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Only this subject's (ID number).")
    ] = None,
    by: ByOpt = "cli",
    full: FullOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Objections, oldest first."""

    def read(conn: Connection) -> Read[list[objections.ObjectionView]]:
        sid = _subject_id(conn, subject)
        found = objections.list_objections(conn, status=status, subject_id=sid)
        return found, sid, len(found)

    found = _audited_read(by, "objection.list", read)
    if json_out:
        print_json([v.as_dict(mask_id=not full) for v in found])
        return
    table = Table("id", "subject", "record", "status", "outcome", "filed", "next due", "escalated")
    for v in found:
        d = v.as_dict(mask_id=not full)
        table.add_row(
            str(v.id),
            d["subject"],
            escape(v.record_ref),
            v.status,
            v.outcome or "",
            str(v.filed_on),
            _day(v.current_due),
            _day(v.escalated_on),
        )
    console.print(table if found else "No objections.")


@objections_app.command("overdue")
def objection_overdue(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Overdue on this day (default today).")
    ] = None,
    by: ByOpt = "cli",
    full: FullOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """The escalation list: open objections past the deadline of the step they wait for.
    Exit 0 with none; 1 when any is overdue."""
    day = parse_as_of(as_of)

    def read(conn: Connection) -> Read[list[objections.OverdueCase]]:
        cases = objections.overdue_objections(conn, day)
        return cases, None, len(cases)

    cases = _audited_read(by, "objection.overdue", read)
    if json_out:
        print_json(
            {
                "as_of": day.isoformat(),
                "overdue": [c.as_dict(mask_id=not full) for c in cases],
            }
        )
    elif not cases:
        console.print(f"No objection is overdue on {day}.")
    else:
        table = Table("id", "subject", "record", "waiting for", "due", "working days late")
        for c in cases:
            table.add_row(
                str(c.objection.id),
                c.objection.as_dict(mask_id=not full)["subject"],
                escape(c.objection.record_ref),
                c.step,
                str(c.due),
                str(c.working_days_late),
            )
        console.print(table)
    raise typer.Exit(1 if cases else 0)


# --- credit repair --------------------------------------------------------------------------


def _repair_out(view: repair.RepairView, json_out: bool, full: bool = False) -> None:
    d = view.as_dict(mask_id=not full)
    if json_out:
        print_json(d)
        return
    console.print(
        f"[bold]Repair application {d['id']}[/] {d['status']} — record {escape(d['record'])} "
        f"({d['record_type']}) of {d['subject']}\n"
        f"  filed {d['filed_on']} by {escape(d['filed_by'])}; decision due {d['decision_due']}\n"
        f"  obligations met: {escape('; '.join(d['obligations']))}\n"
        f"  credit commitment: {escape(d['commitment'])}"
    )
    if d["decided_on"]:
        console.print(
            f"  decided {d['decided_on']} by {escape(d['decided_by'] or '')}: "
            f"{escape(d['decision_reason'] or '')}"
        )


@repair_app.command("apply")
def repair_apply(
    obligation: Annotated[
        list[str],
        typer.Option("--obligation", help="An obligation met (repeat for several)."),
    ],
    commitment: Annotated[
        str, typer.Option("--commitment", help="The subject's credit commitment (信用承诺).")
    ],
    record_id: RecordIdOpt = None,
    provider: ProviderOpt = None,
    provider_record_id: PridOpt = None,
    by: ByOpt = "cli",
    as_of: AsOfOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Apply for credit repair of a record, free of charge. Refused before the minimum
    display window has passed, and for types that are not repairable."""
    engine, on = store(), parse_as_of(as_of)
    view = _call(
        lambda: repair.apply_for_repair(
            engine,
            actor=_actor(by),
            obligations=obligation,
            commitment=commitment,
            on=on,
            record_id=record_id,
            provider=provider,
            provider_record_id=provider_record_id,
        )
    )
    _repair_out(view, json_out)


@repair_app.command("decide")
def repair_decide(
    application_id: Annotated[int, typer.Argument(min=1, help="The application's number.")],
    approve: Annotated[
        bool, typer.Option("--approve/--reject", help="Approve or reject the application.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why.")],
    by: ByOpt = "cli",
    as_of: AsOfOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Approve (the record stops being shown and counted; the subject leaves the black
    list) or reject an application (due within 3 working days)."""
    engine, on = store(), parse_as_of(as_of)
    view = _call(
        lambda: repair.decide_repair(
            engine,
            actor=_actor(by),
            application_id=application_id,
            approve=approve,
            reason=reason,
            on=on,
        )
    )
    _repair_out(view, json_out)


@repair_app.command("list")
def repair_list(
    status: Annotated[
        str | None, typer.Option("--status", help="filed, approved or rejected.")
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Only this subject's (ID number).")
    ] = None,
    by: ByOpt = "cli",
    full: FullOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Repair applications, oldest first."""

    def read(conn: Connection) -> Read[list[repair.RepairView]]:
        sid = _subject_id(conn, subject)
        found = repair.list_repairs(conn, status=status, subject_id=sid)
        return found, sid, len(found)

    found = _audited_read(by, "repair.list", read)
    if json_out:
        print_json([v.as_dict(mask_id=not full) for v in found])
        return
    table = Table("id", "subject", "record", "type", "status", "filed", "due", "decided")
    for v in found:
        table.add_row(
            str(v.id),
            v.as_dict(mask_id=not full)["subject"],
            escape(v.record_ref),
            v.record_type,
            v.status,
            str(v.filed_on),
            str(v.decision_due),
            _day(v.decided_on),
        )
    console.print(table if found else "No repair applications.")


# --- annulment, correction, the outbox ---------------------------------------------------


def _annulment_out(view: annulments.AnnulmentView, json_out: bool, full: bool = False) -> None:
    d = view.as_dict(mask_id=not full)
    if json_out:
        print_json(d)
        return
    late = " [bold red]late[/]" if d["late"] else ""
    console.print(
        f"Record {escape(d['record'])} ({d['record_type']}) of {d['subject']} {d['action']}: "
        f"{escape(d['reason'])}\n  received {d['received_on']}, removed {d['removed_on']} "
        f"(due {d['removal_due']}){late}; {d['notified']} notifications written"
    )


def record_annul(
    provider_record_id: Annotated[str, typer.Argument(help="The provider's id for the record.")],
    provider: Annotated[str, typer.Option("--provider", help="The furnishing provider's name.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is annulled.")],
    decision_ref: Annotated[
        str | None, typer.Option("--decision-ref", help="The annulling decision's reference.")
    ] = None,
    by: ByOpt = "cli",
    as_of: AsOfOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Annul a record on its provider's instruction: it stops counting at once, the
    subject is rescored and re-listed, and everyone answered about it is told."""
    engine, on = store(), parse_as_of(as_of)
    view = _call(
        lambda: annulments.annul_record(
            engine,
            actor=_actor(by, ADMIN),
            provider=provider,
            provider_record_id=provider_record_id,
            reason=reason,
            decision_ref=decision_ref,
            on=on,
            source="cli",
        )
    )
    _annulment_out(view, json_out)


def record_correct(
    provider_record_id: Annotated[str, typer.Argument(help="The provider's id for the record.")],
    provider: Annotated[str, typer.Option("--provider", help="The furnishing provider's name.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is corrected.")],
    record_type: RecordTypeOpt = None,
    decision_ref: DecisionRefOpt = None,
    decided_on: DecidedOpt = None,
    conduct_ended_on: EndedOpt = None,
    amount_cny: AmountOpt = None,
    by: ByOpt = "cli",
    as_of: AsOfOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Correct a record on its provider's instruction: a new version, and the same
    cascade as an annulment."""
    engine, on = store(), parse_as_of(as_of)
    correction = _correction(record_type, decision_ref, decided_on, conduct_ended_on, amount_cny)
    view = _call(
        lambda: annulments.correct_record(
            engine,
            actor=_actor(by, ADMIN),
            provider=provider,
            provider_record_id=provider_record_id,
            correction=correction or annulments.Correction(),
            reason=reason,
            on=on,
            source="cli",
        )
    )
    _annulment_out(view, json_out)


def annulment_list(
    late: Annotated[
        bool, typer.Option("--late", help="Only cascades past their deadline.")
    ] = False,
    provider: Annotated[
        str | None, typer.Option("--provider", help="Only this provider's records.")
    ] = None,
    by: ByOpt = "cli",
    full: FullOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Annulments and corrections with their cascade: received, removed, due (3 working
    days), notifications written."""

    def read(conn: Connection) -> Read[list[annulments.AnnulmentView]]:
        pid = _named(conn, Provider, provider, "provider", "provider")
        found = annulments.list_annulments(conn, provider_id=pid, late_only=late)
        return found, None, len(found)

    found = _audited_read(by, "annulment.list", read)
    if json_out:
        print_json([v.as_dict(mask_id=not full) for v in found])
        return
    table = Table("id", "record", "subject", "action", "source", "received", "due", "removed")
    for v in found:
        table.add_row(
            str(v.id),
            escape(v.record_ref),
            v.as_dict(mask_id=not full)["subject"],
            v.action,
            v.source,
            str(v.received_on),
            str(v.removal_due),
            _day(v.removed_on) + (" (late)" if v.late else ""),
        )
    console.print(table if found else "No annulments.")


@notifications_app.command("list")
def notification_list(
    party: Annotated[
        str | None, typer.Option("--party", help="Only messages to this relying party.")
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Only messages about this subject.")
    ] = None,
    undelivered: Annotated[
        bool, typer.Option("--undelivered", help="Only those not delivered yet.")
    ] = False,
    by: ByOpt = "cli",
    full: FullOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """The outbox, oldest first: who is owed which message and why."""

    def read(conn: Connection) -> Read[list[annulments.NotificationView]]:
        pid = _named(conn, RelyingParty, party, "relying party", "party")
        sid = _subject_id(conn, subject)
        found = annulments.list_notifications(
            conn, subject_id=sid, relying_party_id=pid, undelivered=undelivered
        )
        return found, sid, len(found)

    found = _audited_read(by, "notification.list", read)
    if json_out:
        print_json([v.as_dict(mask_id=not full) for v in found])
        return
    if not found:
        console.print("No notifications.")
        return
    for v in found:
        to = v.relying_party or f"subject {v.as_dict(mask_id=not full)['subject']}"
        console.print(f"[bold]{v.id}[/] {v.created_on} → {escape(to)}: {escape(v.message)}")


# --- the daily job ---------------------------------------------------------------------------


def maintain(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Bring the store up to this day (default today)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """The daily job, idempotent: end display at each record's maximum window, apply the
    5-year query bar, complete annulment cascades, escalate overdue cases and move list
    entries through notice, publication and exit. Missed days are caught up one by one;
    a day already done is never done twice."""
    engine, day = store(), parse_as_of(as_of)
    with engine.connect() as conn:
        previous = maintenance.last_day(conn)
    todo = maintenance.days_to_run(previous, day)
    with progress_bars(json_out) as bars:
        task = bars.add_task("maintaining", total=len(todo))
        result = maintenance.maintain(engine, as_of=day, on_day=lambda _d: bars.advance(task, 1))
    if json_out:
        print_json(result.as_dict())
        return
    if not result.days:
        console.print(f"Already maintained through {previous}; nothing to do for {day}.")
        return
    table = Table(
        "day", "expired", "barred", "cascades", "escalated", "list moves", title="maintain"
    )
    for d in result.days:
        escalated = (
            len(d.escalated_objections) + len(d.escalated_repairs) + len(d.escalated_annulments)
        )
        table.add_row(
            str(d.day),
            str(d.expired),
            str(d.barred),
            str(d.cascades),
            str(escalated),
            str(d.list_changes),
        )
    console.print(table)
    if result.rescored:
        console.print(f"Rescored {result.rescored:,} subjects as of {day}.")
