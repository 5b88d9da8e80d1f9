"""Policy commands: check (and, later, diff)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from socialcredit.cli.common import EXIT_INVALID, EXIT_OK, EXIT_PARTIAL, console, fail, print_json
from socialcredit.policy import check_paths
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
    json_out: JsonOpt = False,
) -> None:
    """Validate and lint policy files.

    Exit 0 when clean, 1 with warnings only, 2 with errors.

    A file's `extends` is looked up among the files checked, then the shipped policies.
    """
    if not path.exists():
        fail(f"{path}: no such file or directory")
    if not policy_files(path):
        fail(f"{path}: no policy files (*.yaml, *.yml) in this directory")
    report = check_paths([path])
    if json_out:
        print_json(report.as_dict())
    else:
        _print_report(report)
    raise typer.Exit(_exit_code(report))
