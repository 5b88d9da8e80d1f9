"""What every command shares: the store, the console, JSON output and exit codes.

Exit codes: 0 success; 1 partial success (e.g. some feed rows rejected);
2 invalid input or an unusable command, with a message saying why.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from socialcredit.config import load_settings
from socialcredit.db.engine import make_engine

console = Console()
err_console = Console(stderr=True)

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_INVALID = 2

_engine: Engine | None = None
_database_url: str | None = None


def set_database_url(url: str | None) -> None:
    global _database_url, _engine
    _database_url = url
    _engine = None


def engine() -> Engine:
    """The engine for this invocation, created on first use."""
    global _engine
    if _engine is None:
        _engine = make_engine(load_settings(_database_url).database_url)
    return _engine


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def store() -> Engine:
    """The engine, after checking the store has been initialised."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import OperationalError

    eng = engine()
    try:
        with eng.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        fail(f"cannot open the store ({exc.orig}); check SOCIALCREDIT_DATABASE_URL")
    if current is None:
        fail("the store is not initialised; run `socialcredit init` first")
    return eng


def parse_as_of(value: str | None) -> dt.date:
    """An ``--as-of`` option: today when absent, else an ISO date or a clear error."""
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"--as-of must be a date YYYY-MM-DD, not {escape(value)!r}")


def progress_bars(disable: bool) -> Progress:
    """Progress bars on stderr, so ``--json`` output on stdout stays clean."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=disable or not err_console.is_terminal,
        transient=True,
    )
