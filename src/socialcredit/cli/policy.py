"""Policy commands: check a policy file, and diff two versions over the stored population."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from socialcredit.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_PARTIAL,
    console,
    err_console,
    fail,
    print_json,
    store,
)
from socialcredit.measures.catalogue import check_measures
from socialcredit.policy import (
    PolicyError,
    ResolvedPolicy,
    check_paths,
    find_policy,
    load_policies,
    load_policy_files,
)
from socialcredit.policy.diff import (
    DEFAULT_TOP,
    Cause,
    DiffReport,
    GroupStats,
    RuleChange,
    population_size,
    simulate,
)
from socialcredit.policy.loader import CheckReport, policy_files

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

policy_app = typer.Typer(
    help="Published scoring policy: national baseline and regional extensions.",
    no_args_is_help=True,
)


def _exit_code(report: CheckReport) -> int:
    if report.errors:
        return EXIT_INVALID
    return EXIT_PARTIAL if report.warnings else EXIT_OK


def _print_report(report: CheckReport) -> None:
    for f in report.findings:
        line = Text()
        line.append(f.file, style="bold")
        if f.path:
            line.append(f": {f.path}")
        line.append(": ")
        line.append(f.severity, style="bold red" if f.severity == "error" else "bold yellow")
        line.append(f" [{f.code}] ", style="dim")
        line.append(f.message)
        console.print(line, highlight=False, soft_wrap=True)
    n_err, n_warn = len(report.errors), len(report.warnings)
    files = f"{len(report.files)} file{'s' if len(report.files) != 1 else ''}"
    if n_err or n_warn:
        console.print(
            f"{files} checked: {n_err} error{'s' if n_err != 1 else ''}, "
            f"{n_warn} warning{'s' if n_warn != 1 else ''}.",
            highlight=False,
        )
    else:
        console.print(f"{files} checked: clean.", highlight=False)


@policy_app.command("check")
def check(
    path: Annotated[Path, typer.Argument(help="A policy file, or a directory of them.")],
    measures: Annotated[
        Path | None,
        typer.Option(
            "--measures",
            help="Also check a measures catalogue file or directory (e.g. data/measures).",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Validate and lint policy files (and, with --measures, a measures catalogue).

    Exit 0 when clean, 1 with warnings only, 2 with errors.

    A file's `extends` is looked up among the files checked, then the shipped policies.
    Measures are checked against the shipped policies and the ones checked here.
    """
    for given, what in ((path, "policy"), (measures, "measures catalogue")):
        if given is None:
            continue
        if not given.exists():
            fail(f"{given}: no such file or directory")
        if not policy_files(given):
            fail(f"{given}: no {what} files (*.yaml, *.yml) in this directory")
    report = check_paths([path])
    if measures is not None:
        report = _with_measures(report, measures)
    if json_out:
        print_json(report.as_dict())
    else:
        _print_report(report)
    raise typer.Exit(_exit_code(report))


def _with_measures(report: CheckReport, path: Path) -> CheckReport:
    """The policy report with the findings of a measures catalogue check added."""
    checked = {p.ref for p in report.policies}
    policies = [*report.policies, *(p for p in load_policies() if p.ref not in checked)]
    found = check_measures([path], policies=policies)
    return CheckReport(
        files=report.files + found.files,
        findings=report.findings + found.findings,
        policies=report.policies,
    )


def _load_one(label: str, given: str) -> ResolvedPolicy:
    """A policy file (its ``extends`` resolved against the shipped policies) or the ref
    ``id@version`` of a shipped one; exit 2 with every finding when it does not load."""
    path = Path(given)
    try:
        if path.exists():
            files = policy_files(path)
            if len(files) != 1:
                fail(f"{label} must be one policy file, not a directory: {escape(given)}")
            (policy,) = load_policy_files(files)
            return policy
        if "@" in given:
            return find_policy(load_policies(), given)
    except PolicyError as exc:
        err_console.print(
            f"[bold red]error:[/] {label} policy {escape(given)} does not load", highlight=False
        )
        for f in exc.findings:
            line = Text("  ")
            line.append(f.file, style="bold")
            if f.path:
                line.append(f": {f.path}")
            line.append(f" [{f.code}] ", style="dim")
            line.append(f.message)
            err_console.print(line, highlight=False, soft_wrap=True)
        if not exc.findings:
            err_console.print(Text(f"  {exc}"), highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INVALID) from None
    fail(f"{label}: {escape(given)} is neither a policy file nor a shipped policy id@version")


def _diff_progress(disable: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=disable or not err_console.is_terminal,
        transient=True,
    )


def _value(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False, separators=(", ", ": "))


def _change_details(c: RuleChange) -> str:
    if c.section == "setting":
        (f,) = c.fields
        return f"{_value(f.old)} → {_value(f.new)}"
    if c.change == "changed":
        return "; ".join(f"{f.field}: {_value(f.old)} → {_value(f.new)}" for f in c.fields)
    side = "new" if c.change == "added" else "old"
    return "; ".join(f"{f.field}: {_value(getattr(f, side))}" for f in c.fields)


def _cause_text(c: Cause) -> str:
    if c.note:
        return c.note
    text = f"{c.item} {c.old_points:+d} → {c.new_points:+d}"
    if c.old_grade_cap != c.new_grade_cap:
        text += f" (grade cap {_value(c.old_grade_cap)} → {_value(c.new_grade_cap)})"
    return text


def _groups_table(title: str, first: str, rows: tuple[GroupStats, ...]) -> Table:
    table = Table(first, "subjects", "changed grade", "up", "down", "mean Δscore", title=title)
    for g in rows:
        label = f"{g.key} {g.name}" if g.key and g.key != g.name else g.name
        table.add_row(
            label,
            f"{g.subjects:,}",
            f"{g.changed:,}",
            f"{g.up:,}",
            f"{g.down:,}",
            f"{g.mean_change:+.2f}",
        )
    return table


def _print_diff(report: DiffReport) -> None:
    old, new, s = report.old, report.new, report.summary
    console.print(
        f"[bold]{escape(old.ref)}[/] → [bold]{escape(new.ref)}[/]  region {report.region} "
        f"{escape(report.region_name)}, as of {report.as_of.isoformat()}",
        highlight=False,
    )
    changes = Table("section", "what", "change", "details", title="Rule changes")
    for c in report.rule_changes:
        changes.add_row(c.section, escape(c.label), c.change, escape(_change_details(c)))
    if report.rule_changes:
        console.print(changes)
    else:
        console.print("The two policies score identically: no rule differs.")

    console.print(
        f"{s.subjects:,} subjects: {s.changed:,} change grade ({s.up:,} up, {s.down:,} down); "
        f"{s.score_up:,} score higher, {s.score_down:,} lower; "
        f"mean score {s.old_mean:.2f} → {s.new_mean:.2f} ({s.mean_change:+.2f})",
        highlight=False,
    )
    matrix = Table("old \\ new", *report.grades, title="Grade transitions (old × new)")
    for o in report.grades:
        cells = []
        for n in report.grades:
            count = report.transitions[o][n]
            text = f"{count:,}" if count else "·"
            cells.append(f"[bold]{text}[/]" if o == n and count else text)
        matrix.add_row(o, *cells)
    console.print(matrix)
    console.print(_groups_table("By province", "province", report.by_province))
    console.print(_groups_table("By city", "city", report.by_city))
    if report.by_profession:
        console.print(_groups_table("By profession", "profession", report.by_profession))
    if report.movers:
        movers = Table(
            "subject", "city", "old", "new", "Δ", "why", title=f"Biggest movers (top {report.top})"
        )
        for m in report.movers:
            why = "; ".join(_cause_text(c) for c in m.causes)
            movers.add_row(
                m.masked_id,
                escape(m.city),
                f"{m.old_score} {m.old_grade}",
                f"{m.new_score} {m.new_grade}",
                f"{m.change:+d}",
                escape(why),
            )
        console.print(movers)


@policy_app.command("diff")
def diff(
    old: Annotated[
        str, typer.Argument(metavar="OLD", help="The policy in force: a file or id@version.")
    ],
    new: Annotated[
        str, typer.Argument(metavar="NEW", help="The candidate: a file (a draft) or id@version.")
    ],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Simulate on this date (YYYY-MM-DD; default today)."),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=0, help="How many of the biggest movers to list.")
    ] = DEFAULT_TOP,
    json_out: JsonOpt = False,
) -> None:
    """Impact of replacing OLD by NEW: score the stored population of their region under each.

    Both policies are applied on the as-of date whatever their effective dates. Shows the
    rule changes, the grade transition matrix, counts by province, city and profession,
    and the biggest movers with the rules that moved them. Exit 2 if either policy does
    not load or the two are for different regions.
    """
    if as_of is None:
        day = dt.date.today()
    else:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            fail(f"--as-of must be a date YYYY-MM-DD, not {escape(as_of)!r}")
    before = _load_one("OLD", old)
    after = _load_one("NEW", new)
    if before.region != after.region:
        fail(
            f"OLD {escape(before.ref)} is for region {before.region} but NEW "
            f"{escape(after.ref)} is for region {after.region}; diff compares two versions "
            "of one region's policy"
        )
    engine = store()
    total = population_size(engine, before.region)
    with _diff_progress(json_out) as progress:
        task = progress.add_task("scoring under both policies", total=total)
        report = simulate(
            engine,
            before,
            after,
            as_of=day,
            top=top,
            progress=lambda n: progress.advance(task, n),
        )
    if json_out:
        print_json(report.as_dict())
    else:
        _print_diff(report)
