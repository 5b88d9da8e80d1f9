"""``report`` (a subject's whole file) and ``certificate issue|verify|public-key``.

Reading a report and issuing a certificate are audited like every read of personal data
(actor "cli", role "admin", as ``audit list``): the entry is committed before anything
is shown or written. A refusal (unknown or malformed ID, a subject not eligible for a
"no dishonesty record" certificate) is audited too, and changes nothing else.

Verifying a certificate reads no store: it needs only the file and the public key.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Connection, Engine, select

from socialcredit.audit import append
from socialcredit.cli.common import console, err_console, fail, parse_as_of, print_json, store
from socialcredit.db.models import Subject
from socialcredit.identity.ids import InvalidIdError, compact, looks_like_uscc, mask, parse_ric
from socialcredit.identity.ids import validate_uscc as _validate_uscc
from socialcredit.policy import PolicyError
from socialcredit.reports import (
    KINDS,
    IssuedCertificate,
    NotEligibleError,
    SigningKeyError,
    SubjectReport,
    build_report,
    issue_certificate,
    load_signing_key,
    parse_public_key,
    render_report,
    verify_file,
)
from socialcredit.reports.keys import ALGORITHM, key_path

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
EXIT_NOT_VALID = 1
ACTOR = "cli"
ROLE = "admin"

certificate_app = typer.Typer(
    help="Signed certificates: issue, verify offline, print the platform's public key.",
    no_args_is_help=True,
)


def _why_unknown(number: str) -> tuple[str, str]:
    """The audit outcome and message for an ID no subject has: malformed, or unregistered."""
    try:
        if looks_like_uscc(number):
            _validate_uscc(number)
        else:
            parse_ric(number)
    except InvalidIdError as exc:
        return "invalid", str(exc)
    return "not_found", f"no subject registered with ID {mask(compact(number))}"


def _subject_id(conn: Connection, number: str) -> int | None:
    # Looked up before it is checked: legacy credit codes registered through an override
    # fail the check and must still be found.
    sid = conn.scalar(select(Subject.id).where(Subject.code == compact(number)))
    return int(sid) if sid is not None else None


def _audit_refusal(
    engine: Engine,
    action: str,
    outcome: str,
    detail: dict[str, Any],
    subject_id: int | None = None,
) -> None:
    with engine.begin() as conn:
        append(
            conn,
            actor=ACTOR,
            role=ROLE,
            action=action,
            outcome=outcome,
            subject_id=subject_id,
            detail=detail,
        )


@contextmanager
def _audited_refusal(engine: Engine, action: str, detail: dict[str, Any]) -> Iterator[None]:
    """Checks of the command's own options: a refusal is on record before it is reported."""
    try:
        yield
    except typer.Exit:
        _audit_refusal(engine, action, "invalid", detail)
        raise


def _summary(r: SubjectReport) -> None:
    console.print(
        f"[bold]{escape(r.identity.name)}[/] {r.identity.id} ({r.identity.kind}), "
        f"{escape(r.identity.province)}; report as of {r.as_of}, free of charge",
        highlight=False,
    )
    if r.score is not None:
        console.print(
            f"score [bold]{r.score.score}[/] grade [bold]{r.score.grade}[/] ({r.score.policy})",
            highlight=False,
        )
    else:
        console.print("no scoring policy in force on that date")
    shown = sum(1 for rec in r.records if rec.shown)
    console.print(
        f"{len(r.records)} records ({shown} shown, {r.disputed_records} disputed), "
        f"{len(r.accounts)} linked accounts, {len(r.professions)} professional profiles, "
        f"{len(r.score_history)} stored scores, {len(r.accesses)} accesses",
        highlight=False,
    )
    if r.records:
        table = Table("decided", "record", "provider", "window", "status", title="Records")
        for rec in r.records:
            status = rec.status + (" · shown" if rec.shown else "")
            if rec.disputed:
                status += " · [bold red]disputed[/]"
            table.add_row(
                rec.decided_on.isoformat(),
                f"{escape(rec.record_type)} ({rec.severity})",
                f"{escape(rec.provider)}\n{escape(rec.decision_ref or rec.provider_record_id)}",
                f"{rec.window.shown_from} – {rec.window.shown_until}",
                status,
            )
        console.print(table)
    for e in r.lists:
        console.print(
            f"{e.list_name} list entry {e.entry_id}: {escape(e.criterion)}, {e.status}"
            + (" (in force)" if e.in_force else ""),
            highlight=False,
        )
    for m in r.measures:
        console.print(
            f"measure {m.id} ({m.category}): {escape(m.title_zh)} — {', '.join(m.purposes)}",
            highlight=False,
        )


def report(
    id_number: Annotated[str, typer.Argument(help="Resident ID number or credit code.")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The file as known at the end of this day (default today)."),
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the printable HTML page here.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Everything the platform holds on a subject: identity (masked), accounts, professions,
    records with legal basis and display window (disputed ones marked), scores with their
    explanations, list entries, measures in force and who accessed the file. Free."""
    engine = store()
    masked = mask(compact(id_number))
    detail: dict[str, Any] = {"subject": masked}
    with _audited_refusal(engine, "reports.read", detail):
        day = parse_as_of(as_of)
    detail["as_of"] = day.isoformat()
    found: SubjectReport | None = None
    try:
        with engine.begin() as conn:
            sid = _subject_id(conn, id_number)
            if sid is not None:
                found = build_report(conn, sid, day)
                append(
                    conn,
                    actor=ACTOR,
                    role=ROLE,
                    action="reports.read",
                    outcome="ok",
                    subject_id=sid,
                    detail=detail | {"html": html is not None},
                )
    except PolicyError as exc:
        fail(f"the shipped policies do not load: {escape(str(exc))}")
    if found is None:
        outcome, message = _why_unknown(id_number)
        _audit_refusal(engine, "reports.read", outcome, detail)
        fail(escape(message))
    # Committed: the read is on record before anything is shown or written.
    if html is not None:
        try:
            html.write_text(render_report(found), encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {escape(str(html))}: {exc.strerror}")
    if json_out:
        print_json(found.as_json())
        return
    _summary(found)
    if html is not None:
        console.print(f"Printable report written to {escape(str(html))}.", highlight=False)


@certificate_app.command("issue")
def certificate_issue(
    id_number: Annotated[str, typer.Argument(help="Resident ID number or credit code.")],
    kind: Annotated[str, typer.Option("--kind", help=f"One of: {', '.join(KINDS)}.")],
    form: Annotated[str, typer.Option("--format", help="json or html.")] = "html",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write it (default: certificate-CODE.html here)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Sign a credit report or a "no dishonesty record" certificate as of today and record it,
    so that anyone can verify it offline with the public key or online by its code."""
    engine = store()
    masked = mask(compact(id_number))
    detail: dict[str, Any] = {"subject": masked, "kind": kind[:40], "format": form[:10]}
    with _audited_refusal(engine, "certificates.issue", detail):
        if kind not in KINDS:
            fail(f"--kind must be one of {', '.join(KINDS)}, not {escape(kind)!r}")
        if form not in ("json", "html"):
            fail(f"--format must be json or html, not {escape(form)!r}")
    try:
        key = load_signing_key(key_path())
    except SigningKeyError as exc:
        fail(escape(str(exc)))
    issued: IssuedCertificate | None = None
    sid: int | None = None
    try:
        with engine.begin() as conn:
            sid = _subject_id(conn, id_number)
            if sid is not None:
                issued = issue_certificate(conn, sid, kind, key, issued_by=ACTOR)
                append(
                    conn,
                    actor=ACTOR,
                    role=ROLE,
                    action="certificates.issue",
                    outcome="ok",
                    subject_id=sid,
                    detail=detail | {"code": issued.payload["code"]},
                )
    except NotEligibleError as exc:
        # The subject's own file said no: the refusal is part of its access history.
        _audit_refusal(engine, "certificates.issue", "not_eligible", detail, sid)
        fail(escape(str(exc)))
    except PolicyError as exc:
        fail(f"the shipped policies do not load: {escape(str(exc))}")
    if issued is None:
        outcome, message = _why_unknown(id_number)
        _audit_refusal(engine, "certificates.issue", outcome, detail)
        fail(escape(message))
    path = out or Path(f"certificate-{issued.payload['code']}.{form}")
    data = issued.json_bytes() if form == "json" else issued.html_bytes()
    try:
        path.write_bytes(data)
    except OSError as exc:
        fail(
            f"cannot write {escape(str(path))}: {exc.strerror}; the certificate is issued "
            f"(code {issued.payload['code']}) and can be checked online"
        )
    summary = {
        "code": issued.payload["code"],
        "kind": kind,
        "subject": issued.payload["subject"]["id"],
        "as_of": issued.payload["as_of"],
        "valid_until": issued.payload["valid_until"],
        "key_id": issued.payload["key_id"],
        "verify_url": issued.payload["verify_url"],
        "file": str(path),
    }
    if json_out:
        print_json(summary)
        return
    console.print(
        f"Issued {kind} certificate {summary['code']} for {summary['subject']} as of "
        f"{summary['as_of']}, valid until {summary['valid_until']}: {escape(str(path))}",
        highlight=False,
    )


@certificate_app.command("verify")
def certificate_verify(
    file: Annotated[Path, typer.Argument(help="A certificate file (JSON or HTML) as issued.")],
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="The platform's published public key (PEM); default: this platform's own.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Check a certificate offline: signature, key, content digest, the file's every byte
    and validity date. Exit 0 valid, 1 not valid (forged, altered or expired), 2 unusable input."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {escape(str(file))}: {exc.strerror}")
    try:
        if public_key is not None:
            try:
                pem = public_key.read_bytes()
            except OSError as exc:
                fail(f"cannot read {escape(str(public_key))}: {exc.strerror}")
            key = parse_public_key(pem, str(public_key))
        else:
            key = load_signing_key(key_path(), create=False).public
    except SigningKeyError as exc:
        fail(escape(str(exc)))
    result = verify_file(data, key)
    if json_out:
        print_json(result.as_dict())
    else:
        p = result.payload or {}
        if result.ok:
            console.print(
                f"[bold green]valid[/]: {p.get('kind')} {p.get('code')} for "
                f"{escape(str(p.get('subject', {}).get('name')))} "
                f"{p.get('subject', {}).get('id')}, as of {p.get('as_of')}, valid until "
                f"{p.get('valid_until')} (key {key.key_id})",
                highlight=False,
            )
        elif not result.problems:
            err_console.print(
                f"[bold yellow]expired[/]: {p.get('code')} was valid until {p.get('valid_until')}",
                highlight=False,
            )
        else:
            err_console.print("[bold red]not valid[/]:", highlight=False)
            for problem in result.problems:
                err_console.print(f"  {escape(problem)}", highlight=False)
    if not result.ok:
        raise typer.Exit(EXIT_NOT_VALID)


@certificate_app.command("public-key")
def certificate_public_key(json_out: JsonOpt = False) -> None:
    """Print the platform's public key (PEM) for publication; creates the key pair on first use.
    The key id goes to stderr, so `> platform.pem` keeps the PEM alone."""
    try:
        key = load_signing_key(key_path())
    except SigningKeyError as exc:
        fail(escape(str(exc)))
    if json_out:
        print_json(
            {
                "algorithm": ALGORITHM,
                "key_id": key.key_id,
                "public_key_pem": key.public.pem(),
                "public_key_base64": key.public.raw_base64(),
            }
        )
        return
    typer.echo(key.public.pem(), nl=False)
    err_console.print(f"key id {key.key_id} ({ALGORITHM})", highlight=False)
