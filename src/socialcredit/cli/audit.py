"""``audit verify``, ``audit checkpoint`` and ``audit list``.

Exit codes: 0 the log is intact; 1 it was tampered with (the message names the
entry); 2 invalid input or an unusable store.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from socialcredit.audit import (
    AuditRecord,
    Checkpoint,
    CheckpointFormatError,
    VerifyResult,
    append,
    checkpoint,
    recent,
    verify,
)
from socialcredit.audit.chain import canonical_time
from socialcredit.cli.common import console, err_console, fail, print_json, store
from socialcredit.db.models import Subject
from socialcredit.identity.ids import compact, mask

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

EXIT_TAMPERED = 1
# How many problems the human output lists; --json carries all that verify kept.
_SHOWN_PROBLEMS = 20

audit_app = typer.Typer(
    help="The audit log: verify the hash chain, publish checkpoints, list accesses.",
    no_args_is_help=True,
)


def _report_broken(result: VerifyResult) -> None:
    for problem in result.problems[:_SHOWN_PROBLEMS]:
        err_console.print(f"  entry {problem.seq}: {problem.kind}: {problem.message}")
    hidden = len(result.problems) - _SHOWN_PROBLEMS
    if hidden > 0 or result.truncated:
        err_console.print("  ... and more problems (use --json for the list kept)")
    first = result.problems[0]
    fail(f"audit log tampered with at entry {first.seq}: {first.message}", EXIT_TAMPERED)


@audit_app.command("verify")
def verify_cmd(
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            metavar="HASH:COUNT",
            help="A published checkpoint the log must still contain (from `audit checkpoint`).",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Recompute every entry's hash and check the chain; say where it is broken."""
    published: Checkpoint | None = None
    if against is not None:
        try:
            published = Checkpoint.parse(against)
        except CheckpointFormatError as exc:
            fail(f"--against: {exc}")
    result = verify(store(), checkpoint=published)
    if json_out:
        print_json(result.as_dict())
        if not result.ok:
            raise typer.Exit(EXIT_TAMPERED)
        return
    if not result.ok:
        _report_broken(result)
    held = f"; it still contains checkpoint {published.token}" if published else ""
    console.print(
        f"Audit log intact: {result.count} entries, root {result.root_hash}{held}.",
        highlight=False,
        soft_wrap=True,
    )


@audit_app.command("checkpoint")
def checkpoint_cmd(
    check: Annotated[
        bool,
        typer.Option(
            "--verify/--no-verify",
            help="Verify the whole log first and refuse to print a root for a broken one.",
        ),
    ] = True,
    json_out: JsonOpt = False,
) -> None:
    """Print a publishable root of the log: hash of the last entry, count and time."""
    eng = store()
    if check:
        result = verify(eng)
        if not result.ok:
            _report_broken(result)
        cp = result.checkpoint()
    else:
        cp = checkpoint(eng)
    if json_out:
        print_json(cp.as_dict())
        return
    console.print(f"root hash  {cp.root_hash}", highlight=False)
    console.print(f"entries    {cp.count}", highlight=False)
    if cp.at is not None:
        console.print(f"taken at   {canonical_time(cp.at)}Z", highlight=False)
    # Not wrapped, so the command can be copied whole from a narrow terminal.
    console.print(
        f"check with socialcredit audit verify --against {cp.token}",
        highlight=False,
        soft_wrap=True,
    )


def _entry_dict(entry: AuditRecord, codes: dict[int, str]) -> dict[str, Any]:
    subject: str | None = None
    if entry.subject_id is not None:
        code = codes.get(entry.subject_id)
        # An id no subject has any more is shown as the bare number: it names nobody.
        subject = mask(code) if code is not None else f"#{entry.subject_id}"
    try:
        detail: Any = json.loads(entry.detail)
    except ValueError:
        detail = entry.detail
    return {
        "seq": entry.seq,
        "at": canonical_time(entry.at) + "Z",
        "actor": entry.actor,
        "role": entry.role,
        "purpose": entry.purpose,
        "subject": subject,
        "action": entry.action,
        "outcome": entry.outcome,
        "detail": detail,
    }


@audit_app.command("list")
def list_cmd(
    subject: Annotated[
        str | None,
        typer.Option("--subject", help="Only entries about this ID number or credit code."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most this many entries, newest first.")
    ] = 50,
    json_out: JsonOpt = False,
) -> None:
    """List entries, newest first: who accessed which file, in what role, why, and how it ended.

    Listing is itself a read of personal data, so it is audited (actor "cli", role "admin").
    """
    masked = mask(subject) if subject is not None else None
    not_found = False
    with store().begin() as conn:
        subject_id: int | None = None
        if subject is not None:
            subject_id = conn.scalar(select(Subject.id).where(Subject.code == compact(subject)))
            not_found = subject_id is None
        entries = [] if not_found else recent(conn, subject_id=subject_id, limit=limit)
        ids = {e.subject_id for e in entries if e.subject_id is not None}
        codes: dict[int, str] = {}
        if ids:
            codes = {
                sid: code
                for sid, code in conn.execute(
                    select(Subject.id, Subject.code).where(Subject.id.in_(ids))
                )
            }
        append(
            conn,
            actor="cli",
            role="admin",
            action="audit.list",
            outcome="not_found" if not_found else "ok",
            subject_id=subject_id,
            detail={"subject": masked, "limit": limit, "entries": len(entries)},
        )
    # Committed: the listing's own entry is durable before anything is shown.
    if not_found:
        fail(f"no subject registered with ID {masked}")
    rows = [_entry_dict(e, codes) for e in entries]
    if json_out:
        print_json({"subject": masked, "entries": rows})
        return
    if not rows:
        console.print("No audit entries" + (f" about {masked}." if masked else "."))
        return
    table = Table("seq", "at", "actor", "role", "purpose", "subject", "action", "outcome")
    for r in rows:
        table.add_row(
            str(r["seq"]),
            r["at"][:19].replace("T", " "),
            r["actor"],
            r["role"],
            r["purpose"] or "",
            r["subject"] or "",
            r["action"],
            r["outcome"],
        )
    console.print(table)
