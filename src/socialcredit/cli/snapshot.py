"""``snapshot export`` (the store as partitioned Parquet) and ``snapshot check``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import TaskID
from rich.table import Table

from socialcredit.cli.common import console, fail, print_json, progress_bars, store
from socialcredit.scoring.snapshot import SnapshotError, check_snapshot, export_snapshot

snapshot_app = typer.Typer(
    help="Parquet snapshots of the store: what population rescores (and clusters) read.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
DirArg = Annotated[Path, typer.Argument(help="Snapshot directory.")]


def _print_counts(directory: Path, counts: dict[str, int], title: str) -> None:
    table = Table("table", "rows", title=title)
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(f"Snapshot in {escape(str(directory))}.", highlight=False)


@snapshot_app.command("export")
def export(directory: DirArg, json_out: JsonOpt = False) -> None:
    """Write the store's subjects, records, status events and professional profiles as
    Parquet partitioned by province (DIR/<table>/province=NN/part-*.parquet), with a
    manifest; streamed in batches, swapped in whole. No names or ID numbers."""
    engine = store()
    if directory.exists() and not directory.is_dir():
        fail(f"{escape(str(directory))} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()):
        try:
            check_snapshot(directory)
        except SnapshotError:
            # Replacing a snapshot is fine; replacing some other folder's files is not.
            fail(f"{escape(str(directory))} is not empty and holds no snapshot; choose another")
    with progress_bars(json_out) as progress:
        tasks: dict[str, TaskID] = {}

        def report(table: str, n: int) -> None:
            if table not in tasks:
                tasks[table] = progress.add_task(f"exporting {table}", total=None)
            progress.update(tasks[table], advance=n)

        counts = export_snapshot(engine, directory, progress=report)
    if json_out:
        print_json({"snapshot": str(directory), "rows": counts})
        return
    _print_counts(directory, counts, "Snapshot exported")


@snapshot_app.command("check")
def check(directory: DirArg, json_out: JsonOpt = False) -> None:
    """Check a snapshot before scoring it: every partition and file of its manifest present
    with its row count, every column of the expected type (exit 2 with the reason if not)."""
    try:
        counts = check_snapshot(directory)
    except SnapshotError as exc:
        fail(escape(str(exc)))
    if json_out:
        print_json({"snapshot": str(directory), "rows": counts, "ok": True})
        return
    _print_counts(directory, counts, "Snapshot is complete")
