"""Registry commands: init, person, org, account, profession, provider, subject."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from socialcredit.cli.common import console, engine, fail, print_json, store
from socialcredit.db.engine import session_scope
from socialcredit.db.models import AccountLink, ProfessionalProfile, Provider, Subject
from socialcredit.db.setup import init_store
from socialcredit.identity.ids import display
from socialcredit.identity.regions import region_of
from socialcredit.identity.registry import (
    RegistryError,
    link_account,
    register_organisation,
    register_person,
    register_profession,
    require_subject,
)
from socialcredit.records.providers import ProviderError, add_provider

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

person_app = typer.Typer(help="Register persons by resident ID number.", no_args_is_help=True)
org_app = typer.Typer(
    help="Register organisations by Unified Social Credit Code.", no_args_is_help=True
)
account_app = typer.Typer(help="Link real-name accounts to persons.", no_args_is_help=True)
profession_app = typer.Typer(
    help="Professional profiles (doctors, public servants, ...).", no_args_is_help=True
)
provider_app = typer.Typer(help="Record providers and their scope.", no_args_is_help=True)
subject_app = typer.Typer(help="Look up a registered subject.", no_args_is_help=True)


def init(json_out: JsonOpt = False) -> None:
    """Create or migrate the store and load the record catalogue (safe to repeat)."""
    result = init_store(engine())
    if json_out:
        print_json(result.__dict__)
        return
    console.print(
        f"Store ready; catalogue {result.catalogue_version}: {result.record_types_total} record "
        f"types ({result.record_types_added} new)."
    )


def _subject_dict(s: Subject, *, full: bool) -> dict[str, Any]:
    region = region_of(s.division_code)
    return {
        "kind": s.kind,
        "id": display(s.code, full=full),
        "name": s.name,
        "birth_date": s.birth_date.isoformat() if s.birth_date else None,
        "sex": s.sex,
        "division_code": s.division_code,
        "province": region.province,
        "city": region.city,
        "county": region.county,
        "in_pilot_zone": region.in_pilot,
        "check_override": s.check_override,
        "override_reason": s.override_reason,
        "registered_at": s.registered_at.isoformat(timespec="seconds"),
    }


@person_app.command("register")
def person_register(
    id_number: Annotated[str, typer.Option("--id", help="Resident ID number (18 characters).")],
    name: Annotated[str, typer.Option("--name", help="Name as on the ID card.")],
    json_out: JsonOpt = False,
) -> None:
    """Register a person; birth date, sex and birthplace are read from the number."""
    try:
        with session_scope(store()) as session:
            s = register_person(session, number=id_number, name=name)
            out = _subject_dict(s, full=False)
    except RegistryError as exc:
        fail(str(exc))
    if json_out:
        print_json(out)
    else:
        city = out["city"] if out["city"] != out["province"] else ""
        console.print(
            f"Registered person {out['id']} {out['name']} ({out['sex']}, born {out['birth_date']}, "
            f"{out['province']}{city}{out['county']})."
        )


@org_app.command("register")
def org_register(
    uscc: Annotated[str, typer.Option("--uscc", help="Unified Social Credit Code.")],
    name: Annotated[str, typer.Option("--name", help="Registered name.")],
    legal_rep: Annotated[
        str, typer.Option("--legal-rep", help="Legal representative's ID number.")
    ],
    override_reason: Annotated[
        str | None,
        typer.Option(
            "--override-check",
            help="Accept a legacy code that fails the GB 32100 check; give the reason (recorded).",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Register an organisation with its legal representative."""
    try:
        with session_scope(store()) as session:
            s = register_organisation(
                session, code=uscc, name=name, legal_rep=legal_rep, override_reason=override_reason
            )
            out = _subject_dict(s, full=False)
    except RegistryError as exc:
        fail(str(exc))
    if json_out:
        print_json(out)
    else:
        note = " (check overridden, reason recorded)" if out["check_override"] else ""
        console.print(f"Registered organisation {out['id']} {out['name']}{note}.")


@account_app.command("link")
def account_link(
    provider: Annotated[str, typer.Option("--provider", help="Account provider name.")],
    account: Annotated[str, typer.Option("--account", help="The provider's account id.")],
    id_number: Annotated[str, typer.Option("--id", help="Resident ID number.")],
    name: Annotated[str, typer.Option("--name", help="Name as on the ID card.")],
    json_out: JsonOpt = False,
) -> None:
    """Link an account to a person; refused unless ID number and name match the registry."""
    try:
        with session_scope(store()) as session:
            link_account(
                session, provider=provider, account_id=account, number=id_number, name=name
            )
    except (RegistryError, ProviderError) as exc:
        fail(str(exc))
    if json_out:
        print_json({"linked": True, "provider": provider, "account": account})
    else:
        console.print(f"Linked account {account} of {provider}.")


@profession_app.command("register")
def profession_register(
    id_number: Annotated[str, typer.Option("--id", help="Resident ID number.")],
    profession: Annotated[str, typer.Option("--profession", help="doctor, public_servant, ...")],
    licence: Annotated[str, typer.Option("--licence", help="Licence or staff number.")],
    employer: Annotated[
        str | None, typer.Option("--employer", help="Employer's credit code.")
    ] = None,
    on: Annotated[
        str | None, typer.Option("--on", help="Registration date (default today), YYYY-MM-DD.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Register a professional profile."""
    try:
        day = dt.date.fromisoformat(on) if on else None
    except ValueError:
        fail(f"--on must be a date YYYY-MM-DD, not {on!r}")
    try:
        with session_scope(store()) as session:
            register_profession(
                session,
                number=id_number,
                profession=profession,
                licence_no=licence,
                employer=employer,
                on=day,
            )
    except RegistryError as exc:
        fail(str(exc))
    if json_out:
        print_json({"registered": True, "profession": profession, "licence": licence})
    else:
        console.print(f"Registered {profession} profile, licence {licence}.")


@provider_app.command("add")
def provider_add(
    name: Annotated[str, typer.Argument(help="Provider name, e.g. 上海市公安局交通警察总队.")],
    kind: Annotated[
        str, typer.Option("--kind", help="traffic_police, tax_bureau, court, bank, ...")
    ],
    region: Annotated[str, typer.Option("--region", help="Division code of its jurisdiction.")],
    types: Annotated[
        str, typer.Option("--types", help="Comma-separated record types it may furnish.")
    ] = "",
    json_out: JsonOpt = False,
) -> None:
    """Add a provider with the record types it may furnish."""
    codes = [t.strip() for t in types.split(",") if t.strip()]
    try:
        with session_scope(store()) as session:
            add_provider(session, name=name, kind=kind, region_code=region, record_types=codes)
    except ProviderError as exc:
        fail(str(exc))
    if json_out:
        print_json({"name": name, "kind": kind, "region": region, "types": codes})
    else:
        console.print(f"Added provider {name} ({kind}, {region}) with {len(codes)} record types.")


@subject_app.command("show")
def subject_show(
    id_number: Annotated[str, typer.Argument(help="Resident ID number or credit code.")],
    full: Annotated[bool, typer.Option("--full", help="Show the full ID number.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Show a subject's identity, region, accounts and professional profiles."""
    try:
        with session_scope(store()) as session:
            s = require_subject(session, id_number)
            out = _subject_dict(s, full=full)
            if s.legal_rep_id is not None:
                rep = session.get(Subject, s.legal_rep_id)
                out["legal_rep"] = display(rep.code, full=full) if rep else None
            out["accounts"] = [
                {"provider": p, "account": a}
                for p, a in session.execute(
                    select(Provider.name, AccountLink.account_id)
                    .join(Provider, Provider.id == AccountLink.provider_id)
                    .where(AccountLink.subject_id == s.id)
                )
            ]
            out["professions"] = [
                {"profession": p.profession, "licence": p.licence_no}
                for p in session.scalars(
                    select(ProfessionalProfile).where(ProfessionalProfile.subject_id == s.id)
                )
            ]
    except RegistryError as exc:
        fail(str(exc))
    if json_out:
        print_json(out)
        return
    table = Table(show_header=False, box=None)
    for key, value in out.items():
        if value in (None, [], False) and key not in ("in_pilot_zone",):
            continue
        table.add_row(f"[bold]{key}[/]", str(value))
    console.print(table)
