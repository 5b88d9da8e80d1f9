"""Synthetic pilot commands: ``generate`` writes data, ``demo`` builds a pilot store from it."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import Engine, inspect

from socialcredit.cli.common import (
    EXIT_PARTIAL,
    console,
    err_console,
    fail,
    print_json,
)
from socialcredit.cli.scoring import PhaseBars, print_grades
from socialcredit.config import sqlite_url
from socialcredit.db.engine import make_engine
from socialcredit.identity.regions import YRD_PROVINCES, region_of
from socialcredit.policy import load_policies
from socialcredit.scoring.population import rescore_population, update_all_lists
from socialcredit.synth.bulk import generate_snapshot
from socialcredit.synth.demo import (
    DEFAULT_ORGS,
    DEFAULT_PERSONS,
    DEFAULT_SEED,
    CaseworkDemo,
    DemoSummary,
    add_casework,
    build_pilot,
)
from socialcredit.synth.demo_access import SampleKey, create_sample_access
from socialcredit.synth.generator import GenerateResult
from socialcredit.synth.generator import generate as generate_pilot
from socialcredit.synth.history import simulate_arrival

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
SeedOpt = Annotated[
    int, typer.Option("--seed", help="Random seed; the same seed gives the same data.")
]
RecordsOpt = Annotated[
    float, typer.Option("--records-per-subject", help="Mean feed rows per subject.", min=0)
]
DEMO_DB = "socialcredit.db"


@contextmanager
def _bars(enabled: bool = True) -> Iterator[Progress]:
    """Progress bars on stderr, so ``--json`` output on stdout stays clean."""
    progress = Progress(
        TextColumn("[bold]{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not enabled,
    )
    with progress:
        yield progress


class _StageBars:
    """Maps (stage, done, total) reports onto one Rich task per stage."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)


def _parse_day(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"--today must be a date YYYY-MM-DD, not {value!r}")


def generate(
    out: Annotated[Path, typer.Option("--out", help="Directory to write into.")],
    persons: Annotated[
        int | None, typer.Option("--persons", help="Number of persons (feeds).", min=0)
    ] = None,
    orgs: Annotated[
        int | None, typer.Option("--orgs", help="Number of organisations (feeds).", min=0)
    ] = None,
    snapshot: Annotated[
        bool,
        typer.Option(
            "--snapshot",
            help="Write a scoring snapshot of --subjects subjects instead of feeds: "
            "partitioned Parquet, streamed chunk by chunk (10M subjects in under 1 GiB).",
        ),
    ] = False,
    subjects: Annotated[
        int | None, typer.Option("--subjects", help="Subjects of a --snapshot.", min=0)
    ] = None,
    seed: SeedOpt = DEFAULT_SEED,
    records_per_subject: Annotated[
        float | None,
        typer.Option(
            "--records-per-subject",
            help="Mean feed rows per subject (default 5), or records per subject of a "
            "--snapshot (default 10).",
            min=0,
        ),
    ] = None,
    malformed_share: Annotated[
        float,
        typer.Option("--malformed-share", help="Share of feed rows with a defect.", min=0, max=1),
    ] = 0.02,
    today: Annotated[
        str | None,
        typer.Option(
            "--today", help="Date the data ends on, the snapshot's as-of (default today)."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Write a synthetic YRD population and provider feeds (CSV, JSON Lines, Parquet), or
    with --snapshot a scoring snapshot of a whole population (no names or ID numbers)."""
    day = _parse_day(today)
    if snapshot:
        if persons is not None or orgs is not None:
            fail(
                "--snapshot draws --subjects (persons and organisations together), "
                "not --persons and --orgs"
            )
        if subjects is None:
            fail("--snapshot needs --subjects N")
        _generate_snapshot(out, subjects, records_per_subject, seed, day, json_out)
        return
    if subjects is not None:
        fail("--subjects goes with --snapshot; feeds take --persons and --orgs")
    if persons is None or orgs is None:
        fail("feeds need --persons and --orgs (or --snapshot --subjects N for a snapshot)")
    if orgs and not persons:
        fail("organisations need persons: every organisation has a legal representative")
    with _bars(not json_out) as progress:
        bars = _StageBars(progress)
        result = generate_pilot(
            out,
            persons=persons,
            orgs=orgs,
            seed=seed,
            today=day,
            malformed_share=malformed_share,
            records_per_subject=5.0 if records_per_subject is None else records_per_subject,
            progress=lambda done, total: bars("Generating", done, total),
        )
    if json_out:
        print_json(result.as_json())
        return
    _print_generated(result)


def _generate_snapshot(
    out: Path,
    subjects: int,
    records_per_subject: float | None,
    seed: int,
    as_of: dt.date,
    json_out: bool,
) -> None:
    per_subject = 10.0 if records_per_subject is None else records_per_subject
    started = time.perf_counter()
    try:
        with _bars(not json_out) as progress:
            bars = _StageBars(progress)
            counts = generate_snapshot(
                out,
                subjects=subjects,
                records_per_subject=per_subject,
                seed=seed,
                as_of=as_of,
                progress=lambda done, total: bars("Generating snapshot", done, total),
            )
    except (ValueError, FileExistsError) as exc:
        fail(escape(str(exc)))
    seconds = time.perf_counter() - started
    if json_out:
        print_json(
            {
                "snapshot": str(out),
                "as_of": as_of.isoformat(),
                "rows": counts,
                "seconds": round(seconds, 1),
            }
        )
        return
    console.print(
        f"Wrote a snapshot of {counts['subjects']:,} subjects, {counts['records']:,} records, "
        f"{counts['status_events']:,} status events and {counts['professions']:,} professional "
        f"profiles as of {as_of} to {escape(str(out))} in {seconds:.0f} s.",
        highlight=False,
    )


def _print_generated(result: GenerateResult) -> None:
    counts = result.counts
    console.print(
        f"Wrote {counts['persons']:,} persons, {counts['organisations']:,} organisations, "
        f"{counts['accounts']:,} account links, {counts['professions']:,} professional profiles "
        f"and {result.providers} providers to {result.out_dir}."
    )
    table = Table(title="Feeds")
    for col in ("file", "format", "rows", "malformed"):
        table.add_column(col, justify="right" if col in ("rows", "malformed") else "left")
    for f in result.feeds:
        fmt = f"{f.fmt} ({f.encoding})" if f.encoding and f.fmt == "csv" else f.fmt
        table.add_row(f.file, fmt, f"{f.rows:,}", f"{sum(f.malformed.values()):,}")
    table.add_row("[bold]total", "", f"[bold]{result.rows:,}", f"[bold]{result.malformed:,}")
    console.print(table)


def _demo_engine(ctx: typer.Context, work_dir: Path) -> Engine:
    """The store the demo fills.

    Without ``--database-url`` (or SOCIALCREDIT_DATABASE_URL) it is a SQLite file in
    the demo directory, deleted and recreated on every run. A store named by URL is
    never wiped: it must be empty, so the demo cannot destroy real data.
    """
    url = ctx.find_root().params.get("database_url")
    if url:
        engine = make_engine(url)
        try:
            tables = inspect(engine).get_table_names()
        except Exception as exc:  # any driver error means the store is unusable
            fail(f"cannot open the store ({exc}); check --database-url")
        if tables:
            fail(
                "the demo builds a fresh pilot store, but the database given by --database-url "
                "or SOCIALCREDIT_DATABASE_URL is not empty; give an empty one, or neither to "
                f"use {work_dir / DEMO_DB}"
            )
        return engine
    work_dir.mkdir(parents=True, exist_ok=True)
    db = work_dir / DEMO_DB
    for suffix in ("", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    for stale in (work_dir / "rejects").glob("*.rejects.csv"):
        stale.unlink()
    return make_engine(sqlite_url(db))


def demo(
    ctx: typer.Context,
    persons: Annotated[
        int, typer.Option("--persons", help="Number of persons.", min=1)
    ] = DEFAULT_PERSONS,
    orgs: Annotated[
        int, typer.Option("--orgs", help="Number of organisations.", min=0)
    ] = DEFAULT_ORGS,
    work_dir: Annotated[
        Path, typer.Option("--dir", help="Demo directory: store, generated data, rejects.")
    ] = Path("pilot"),
    seed: SeedOpt = DEFAULT_SEED,
    records_per_subject: RecordsOpt = 5.0,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Stop after building the pilot store.")
    ] = False,
    host: Annotated[str, typer.Option("--host", help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port to serve on.")] = 8000,
    json_out: JsonOpt = False,
) -> None:
    """Build a fresh pilot store from synthetic data through the real registry and ingestion.

    The store is DIR/socialcredit.db, recreated on every run; a store named by
    --database-url or SOCIALCREDIT_DATABASE_URL is used only if it is empty.
    Then it scores everyone, updates the lists, prints sample API keys for every role
    and serves the API on HOST:PORT; --no-serve stops after building.
    """
    engine = _demo_engine(ctx, work_dir)
    try:
        with _bars(not json_out) as progress:
            summary = build_pilot(
                engine,
                work_dir,
                persons=persons,
                orgs=orgs,
                seed=seed,
                records_per_subject=records_per_subject,
                progress=_StageBars(progress),
            )
        # The whole pilot is scored set-wise once built (the imports queued everyone),
        # and the red and black lists follow the scores.
        simulate_arrival(engine)
        with _bars(not json_out) as progress:
            # Lists first as of three weeks ago, so that by today the notice period of
            # the earliest entries has run and the public list has something to show.
            update_all_lists(
                engine,
                dt.date.today() - dt.timedelta(days=21),
                load_policies(),
                PhaseBars(progress),
            )
            scores = rescore_population(
                engine, engine_name="duckdb", as_of=dt.date.today(), progress=PhaseBars(progress)
            )
        keys = create_sample_access(engine)
        # Due process in the pilot: open, overdue and decided objections, a repair, an
        # annulled decision with its notifications, and the daily job run for today.
        casework = add_casework(engine, dt.date.today())
    finally:
        engine.dispose()
    problems = bool(summary.registry_refusals) or any(f.refused for f in summary.feeds)
    url = str(engine.url)
    if json_out:
        print_json(
            summary.as_json()
            | {
                "scores": scores.as_dict(),
                "keys": [k.__dict__ for k in keys],
                "casework": casework.as_json(),
                "store": url,
            }
        )
    else:
        _print_summary(summary)
        print_grades(scores)
        _print_keys(keys)
        console.print(_casework_line(casework), highlight=False)
    if problems:
        raise typer.Exit(EXIT_PARTIAL)
    if not no_serve:
        _serve(url, host, port)


def _casework_line(c: CaseworkDemo) -> str:
    def cases(ids: list[int]) -> str:
        return f"{len(ids)}" + (f" (#{', #'.join(map(str, ids))})" if 0 < len(ids) <= 5 else "")

    return (
        f"Casework: objections open {cases(c.open_objections)}, overdue "
        f"{cases(c.overdue_objections)}, decided {cases(c.decided_objections)} "
        f"(socialcredit objections list); repairs approved {cases(c.repaired)}; annulments "
        f"{cases(c.annulments)} with {c.notifications:,} notifications "
        "(socialcredit notifications list)."
    )


def _print_keys(keys: list[SampleKey]) -> None:
    # Plain lines, not a table: a key must never be cut to fit the terminal.
    console.print("[bold]Sample API keys[/] (shown once; stored only as hashes):")
    for k in keys:
        console.print(f"  {k.role:<14} {k.key}  [dim]{k.label}[/]", highlight=False, soft_wrap=True)


def _serve(url: str, host: str, port: int) -> None:
    import uvicorn

    from socialcredit.api import create_app

    app = create_app(make_engine(url))
    site = f"http://{host}:{port}"
    console.print(
        f"Serving the pilot site on {site}/ (public lists: {site}/lists/black; log in at "
        f"{site}/login with the subject or regulator key above) and the API on {site}/v1 "
        f"(docs: {site}/v1/docs) — Ctrl-C to stop."
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _print_summary(s: DemoSummary) -> None:
    subjects = Table(title="Subjects per province")
    for col in ("province", "persons", "organisations"):
        subjects.add_column(col, justify="left" if col == "province" else "right")
    for code, counts in s.subjects_by_province.items():
        name = region_of(code + "0000").province if code in YRD_PROVINCES else code
        subjects.add_row(f"{code} {name}", f"{counts['person']:,}", f"{counts['organisation']:,}")
    console.print(subjects)

    # Borderless, so the widest feed name still fits an 80-column terminal.
    feeds = Table(
        title="Feeds imported",
        caption="defects: rows made defective on purpose",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    t = s.totals()
    rows: list[tuple[str, str, list[str]]] = []
    for f in s.feeds:
        fmt = f"{f.fmt} {f.encoding}" if f.fmt == "csv" else f.fmt
        numbers = (f.rows, f.accepted, f.duplicates, f.rejected, f.malformed)
        cells = [f"{n:,}" for n in numbers]
        if f.refused:
            cells[1:4] = ["refused", "", ""]
        # "31:traffic_police": the province stays visible when a narrow terminal cuts the end.
        kind, _, province = Path(f.file).stem.rpartition("-")
        rows.append((f"{province}:{kind}", fmt, cells))
    keys = ("rows", "accepted", "duplicates", "rejected", "malformed")
    rows.append(("total", "", [f"{t[k]:,}" for k in keys]))
    # Only the feed name may be shortened on a narrow terminal; numbers never are.
    feeds.add_column("feed", overflow="ellipsis")
    feeds.add_column("format", no_wrap=True, min_width=max(len(r[1]) for r in rows))
    for i, col in enumerate(("rows", "accepted", "dup", "rejected", "defects")):
        width = max(len(col), *(len(r[2][i]) for r in rows))
        feeds.add_column(col, justify="right", no_wrap=True, min_width=width)
    for name, fmt, cells in rows:
        feeds.add_row(name, fmt, *cells)
    console.print(feeds)

    reasons = Table(title="Top reject reasons")
    reasons.add_column("reason")
    reasons.add_column("rows", justify="right")
    for reason, count in s.top_reasons():
        reasons.add_row(reason, f"{count:,}")
    console.print(reasons)

    for f in s.feeds:
        if f.refused:
            err_console.print(f"[red]refused:[/] {f.file}: {f.refused}", highlight=False)
    if s.registry_refusals:
        err_console.print(
            f"[red]registry refused {sum(s.registry_refusals.values())} generated entries[/], "
            f"e.g. {'; '.join(s.refusal_examples)}",
            highlight=False,
        )
    console.print(
        f"Pilot store {s.database_url} built in {s.seconds:.0f} s; rejected rows are listed "
        f"in {s.data_dir.parent / 'rejects'}."
    )
