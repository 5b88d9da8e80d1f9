"""``socialcredit records import``: the feed interface every authority uses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from socialcredit.cli.common import EXIT_OK, EXIT_PARTIAL, console, err_console, fail, print_json
from socialcredit.cli.common import store as open_store
from socialcredit.records.ingest import FeedRefusedError, import_feed
from socialcredit.scoring.store import drain_queue, queue_size

# In-process rescoring runs at ~2,000 subjects/s; past this many the set-wise
# population rescore is the faster way to bring stored scores up to date.
RESCORE_INLINE_LIMIT = 50_000

records_app = typer.Typer(help="Record feeds from providers.", no_args_is_help=True)


@records_app.command("import")
def records_import(
    file: Annotated[Path, typer.Argument(help="Feed file: .csv, .jsonl or .parquet.")],
    provider: Annotated[str, typer.Option("--provider", help="The furnishing provider's name.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, jsonl or parquet (default: by suffix).")
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option("--encoding", help="CSV encoding (default: detect UTF-8, BOM or GB18030)."),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="Write rejected rows here (.csv or .jsonl)."),
    ] = None,
    rescore: Annotated[
        bool,
        typer.Option(
            "--rescore/--no-rescore",
            help="Rescore the affected subjects in process after the import "
            f"(up to {RESCORE_INLINE_LIMIT:,}; beyond that use `socialcredit rescore`).",
        ),
    ] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Import a feed. Exit 0: all rows accepted or duplicates; 1: some rejected; 2: refused."""
    engine = open_store()
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        console=err_console,
        disable=json_out or not err_console.is_terminal,
        transient=True,
    )
    with progress:
        task = progress.add_task(f"importing {file.name}", total=None, rows=0)
        count = 0

        def advance(n: int) -> None:
            nonlocal count
            count += n
            progress.update(task, rows=count)

        try:
            result = import_feed(
                engine,
                file,
                provider=provider,
                fmt=fmt,
                encoding=encoding,
                rejects_path=rejects,
                on_progress=advance,
            )
        except FeedRefusedError as exc:
            fail(str(exc))
    queued = queue_size(engine)
    rescored = 0
    if rescore and 0 < queued <= RESCORE_INLINE_LIMIT:
        with Progress(
            TextColumn("[bold]rescoring"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,} subjects"),
            console=err_console,
            disable=json_out or not err_console.is_terminal,
            transient=True,
        ) as bar:
            task = bar.add_task("rescore", total=queued)
            rescored = drain_queue(engine, progress=lambda n: bar.advance(task, n))
        queued = queue_size(engine)
    if json_out:
        out = result.as_dict()
        print_json(
            {k: out[k] for k in ("accepted", "duplicates", "rejected", "rejects_file")}
            | {"batch_id": out["batch_id"], "top_reasons": out["top_reasons"]}
            | {"rescored": rescored, "rescore_queued": queued}
        )
    else:
        console.print(
            f"{file.name}: {result.accepted:,} accepted, {result.duplicates:,} duplicates, "
            f"{result.rejected:,} rejected ({result.format}"
            + (f", {result.encoding}" if result.encoding else "")
            + ")."
        )
        for code, n in result.top_reasons.items():
            console.print(f"  {n:>8,}  {code}")
        if result.rejected and result.rejects_file:
            console.print(f"Rejected rows with line, field and reason: {result.rejects_file}")
        elif result.rejected:
            console.print("Give --rejects PATH to keep the rejected rows with their reasons.")
        if rescored:
            console.print(f"Rescored {rescored:,} subjects.")
        if queued:
            console.print(f"{queued:,} subjects wait for a rescore: run `socialcredit rescore`.")
    raise typer.Exit(EXIT_PARTIAL if result.rejected else EXIT_OK)
