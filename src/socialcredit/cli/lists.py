"""Lists and measures commands: ``lists show|update|history``, ``measures``, ``party``,
``purposes``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select

from socialcredit.cli.common import (
    console,
    fail,
    parse_as_of,
    print_json,
    progress_bars,
    store,
)
from socialcredit.db.engine import session_scope
from socialcredit.db.models import Subject
from socialcredit.identity.registry import RegistryError, require_subject
from socialcredit.lists import LIST_NAMES, ListChange, entries, transitions, update_lists
from socialcredit.lists.views import STATUSES
from socialcredit.measures import (
    PARTY_KINDS,
    MeasuresError,
    list_parties,
    measures_for,
    party_purposes,
    published_purposes,
    register_party,
)
from socialcredit.policy import NoPolicyInForceError, PolicyError, load_policies

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="As of this date (YYYY-MM-DD; default today).")
]
BATCH = 500

lists_app = typer.Typer(
    help="Red and black lists: entries, notice, publication and exit.", no_args_is_help=True
)
party_app = typer.Typer(
    help="Relying parties and the purposes they may ask for.", no_args_is_help=True
)


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else "—"


@lists_app.command("show")
def show(
    list_name: Annotated[
        str | None, typer.Option("--list", help=f"One of {', '.join(LIST_NAMES)}.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help=f"One of {', '.join(STATUSES)}.")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="A full ID, or part of a name.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    json_out: JsonOpt = False,
) -> None:
    """List entries in every status (the caseworker's view; IDs masked). `lists history`
    shows why an entry moved."""
    engine = store()
    try:
        with engine.connect() as conn:
            found = entries(
                conn, list_name=list_name, status=status, search=search, limit=limit, offset=offset
            )
    except ValueError as exc:
        fail(escape(str(exc)))
    if json_out:
        print_json([e.as_dict() for e in found])
        return
    if not found:
        console.print("No list entries match.")
        return
    table = Table(
        "entry", "subject", "name", "list", "status", "origin", "entered", "published", "exit"
    )
    for e in found:
        # An exited entry shows when it left; an open one when it is planned to.
        if e.exited_on:
            leaves = e.exited_on.isoformat()
        else:
            leaves = f"({_day(e.planned_exit_on)})" if e.planned_exit_on else "—"
        table.add_row(
            str(e.entry_id),
            e.subject,
            escape(e.name),
            f"{e.list_name}: {e.criterion}",
            e.status,
            e.origin_province,
            _day(e.entered_on),
            _day(e.published_on),
            leaves,
        )
    console.print(table)


@lists_app.command("history")
def history(
    entry_id: Annotated[int, typer.Argument(help="The entry number shown by `lists show`.")],
    json_out: JsonOpt = False,
) -> None:
    """Every dated, explained transition of one entry."""
    with store().connect() as conn:
        steps = transitions(conn, entry_id)
    if not steps:
        fail(f"no list entry {entry_id}")
    if json_out:
        print_json([s.as_dict() for s in steps])
        return
    table = Table("on", "from", "to", "reason")
    for s in steps:
        table.add_row(s.on.isoformat(), s.from_status or "—", s.to_status, escape(s.reason))
    console.print(table)


def _tally(changes: list[ListChange], count: dict[str, int]) -> None:
    # Same-status transitions (a record corrected, an exit date moved) are not moves.
    for c in changes:
        if c.from_status != c.to_status:
            count[c.to_status] += 1


@lists_app.command("update")
def update(as_of: AsOfOpt = None, json_out: JsonOpt = False) -> None:
    """Recompute the lists of every subject in process (idempotent for a date)."""
    day = parse_as_of(as_of)
    engine = store()
    try:
        policies = load_policies()
    except PolicyError as exc:
        fail(f"the shipped policies do not load: {escape(str(exc))}")
    with engine.connect() as conn:
        total = int(conn.scalar(select(func.count()).select_from(Subject)) or 0)
    count = {"pending_notice": 0, "published": 0, "exited": 0}
    last = 0
    try:
        with progress_bars(json_out) as progress:
            task = progress.add_task("updating lists", total=total)
            while True:
                # Keyset pagination: each batch is its own transaction, so a long run
                # holds no locks for long and a crash keeps the batches already done.
                with engine.begin() as conn:
                    ids = list(
                        conn.scalars(
                            select(Subject.id)
                            .where(Subject.id > last)
                            .order_by(Subject.id)
                            .limit(BATCH)
                        )
                    )
                    if not ids:
                        break
                    _tally(update_lists(conn, ids, day, policies=policies), count)
                last = ids[-1]
                progress.advance(task, len(ids))
    except NoPolicyInForceError as exc:
        fail(escape(str(exc)))
    out = {
        "as_of": day.isoformat(),
        "subjects": total,
        "entered": count["pending_notice"],
        "published": count["published"],
        "exited": count["exited"],
    }
    if json_out:
        print_json(out)
        return
    console.print(
        f"Lists as of {day}: {total:,} subjects; {out['entered']} entered notice, "
        f"{out['published']} published, {out['exited']} exited.",
        highlight=False,
    )


def measures(
    id_number: Annotated[str, typer.Argument(help="Resident ID number or credit code.")],
    purpose: Annotated[str, typer.Option("--purpose", help="A published purpose code.")],
    as_of: AsOfOpt = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region", help="The asking party's province (two digits): its catalogue applies."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Which measures apply to a subject for a purpose, with their basis (not the file)."""
    day = parse_as_of(as_of)
    engine = store()
    try:
        with session_scope(engine) as session:
            sid = require_subject(session, id_number).id
        with engine.connect() as conn:
            answer = measures_for(conn, subject_id=sid, purpose=purpose, as_of=day, region=region)
    except (RegistryError, MeasuresError) as exc:
        fail(escape(str(exc)))
    if json_out:
        print_json(answer.as_dict())
        return
    console.print(
        f"{answer.subject} ({answer.subject_kind}), purpose {answer.purpose}, as of "
        f"{answer.as_of}, catalogue {answer.catalogue}:",
        highlight=False,
    )
    if not answer.measures:
        console.print("No measures apply.")
        return
    table = Table("measure", "category", "legal basis", "triggered by")
    for m in answer.measures:
        why = []
        for b in m.triggered_by:
            if b.kind == "grade":
                why.append(f"grade {b.grade} ({b.score_policy})")
                continue
            text = f"{b.list_name} list: {b.criterion} (entry {b.entry_id}, {b.origin_province})"
            if b.via == "legal_representative":
                text += f" as legal representative of {b.organisation} {b.organisation_name}"
            why.append(text)
        table.add_row(
            f"{m.id}\n{escape(m.title_zh)}",
            m.category,
            escape(m.legal_basis),
            escape("\n".join(why)),
        )
    console.print(table)


def purposes(json_out: JsonOpt = False) -> None:
    """The published purposes relying parties may ask for."""
    found = list(published_purposes().values())
    if json_out:
        print_json([p.as_dict() for p in found])
        return
    table = Table("purpose", "title", "open to", "legal basis")
    for p in found:
        table.add_row(
            p.code,
            f"{escape(p.title_zh)} / {escape(p.title_en)}",
            ", ".join(p.kinds) if p.kinds else "any",
            escape(p.legal_basis),
        )
    console.print(table)


@party_app.command("add")
def party_add(
    name: Annotated[str, typer.Argument(help="The party's registered name.")],
    kind: Annotated[str, typer.Option("--kind", help=", ".join(PARTY_KINDS))],
    region: Annotated[str, typer.Option("--region", help="Division code of its jurisdiction.")],
    purpose_list: Annotated[
        str, typer.Option("--purposes", help="Comma-separated published purposes.")
    ],
    json_out: JsonOpt = False,
) -> None:
    """Register a relying party with the purposes it may ask for."""
    codes = [p.strip() for p in purpose_list.split(",") if p.strip()]
    try:
        with session_scope(store()) as session:
            party = register_party(session, name=name, kind=kind, region=region, purposes=codes)
            out: dict[str, Any] = {
                "id": party.id,
                "name": party.name,
                "kind": party.kind,
                "region": party.region_code,
                "purposes": list(party_purposes(party)),
            }
    except MeasuresError as exc:
        fail(escape(str(exc)))
    if json_out:
        print_json(out)
    else:
        console.print(
            f"Registered {escape(name)} ({kind}, {region}) for {', '.join(out['purposes'])}.",
            highlight=False,
        )


@party_app.command("list")
def party_list(json_out: JsonOpt = False) -> None:
    """The registered relying parties."""
    with session_scope(store()) as session:
        rows: list[dict[str, Any]] = [
            {
                "id": p.id,
                "name": p.name,
                "kind": p.kind,
                "region": p.region_code,
                "purposes": list(party_purposes(p)),
            }
            for p in list_parties(session)
        ]
    if json_out:
        print_json(rows)
        return
    table = Table("id", "name", "kind", "region", "purposes")
    for r in rows:
        table.add_row(
            str(r["id"]), escape(r["name"]), r["kind"], r["region"], ", ".join(r["purposes"])
        )
    console.print(table)
