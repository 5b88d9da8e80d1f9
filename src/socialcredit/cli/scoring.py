"""``score`` (one subject, in process) and ``rescore`` (the whole population)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    Progress,
    TaskID,
)
from rich.table import Table
from sqlalchemy import insert

from socialcredit.cli.common import (
    console,
    fail,
    parse_as_of,
    print_json,
    progress_bars,
    store,
)
from socialcredit.db.engine import session_scope
from socialcredit.db.models import Score
from socialcredit.identity.ids import display
from socialcredit.identity.regions import YRD_PROVINCES
from socialcredit.identity.registry import RegistryError, require_subject
from socialcredit.policy import NoPolicyInForceError, PolicyError, load_policies
from socialcredit.scoring.executors import ENGINES, ExecutorUnavailableError
from socialcredit.scoring.population import PopulationSummary, rescore_population
from socialcredit.scoring.results import ScoreResult, contributions_json
from socialcredit.scoring.snapshot import SnapshotError, check_snapshot
from socialcredit.scoring.spark_session import ENV_MASTER
from socialcredit.scoring.store import compute, score_history

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Score as of this date (YYYY-MM-DD; default today).")
]


def _explain(result: ScoreResult, *, full: bool) -> dict[str, Any]:
    import json

    out: dict[str, Any] = {
        "score": result.score,
        "grade": result.grade,
        "policy": {"id": result.policy_id, "version": result.policy_version},
        "as_of": result.as_of.isoformat(),
        "reasons": json.loads(contributions_json(result.reasons)),
    }
    if full:
        out["contributions"] = json.loads(contributions_json(result.contributions))
    return out


def score(
    id_number: Annotated[str, typer.Argument(help="Resident ID number or credit code.")],
    as_of: AsOfOpt = None,
    full: Annotated[
        bool, typer.Option("--contributions", help="List every contribution, not only reasons.")
    ] = False,
    history: Annotated[bool, typer.Option("--history", help="Also list stored scores.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Score one subject as of a date, store the answer in its history and explain it."""
    day = parse_as_of(as_of)
    engine = store()
    try:
        policies = load_policies()
        with session_scope(engine) as session:
            subject = require_subject(session, id_number)
            code, sid = subject.code, subject.id
        with engine.begin() as conn:
            (result,) = compute(conn, [sid], day, policies)
            row = result.to_row() | {"engine": "python", "computed_at": dt.datetime.now(dt.UTC)}
            row["computed_at"] = row["computed_at"].replace(tzinfo=None)
            conn.execute(insert(Score), [row])
        past = []
        if history:
            with session_scope(engine) as session:
                past = [
                    {
                        "as_of": s.as_of.isoformat(),
                        "computed_at": s.computed_at.isoformat(timespec="seconds"),
                        "score": s.score,
                        "grade": s.grade,
                        "policy": f"{s.policy_id}@{s.policy_version}",
                        "engine": s.engine,
                    }
                    for s in score_history(session, sid)
                ]
    except RegistryError as exc:
        fail(str(exc))
    except NoPolicyInForceError as exc:
        fail(str(exc))
    except PolicyError as exc:
        fail(f"the shipped policies do not load: {exc}")
    out = {"subject": display(code)} | _explain(result, full=full)
    if history:
        out["history"] = past
    if json_out:
        print_json(out)
        return
    console.print(
        f"[bold]{out['subject']}[/]  score [bold]{result.score}[/]  grade [bold]{result.grade}[/]"
        f"  (policy {result.policy_id}@{result.policy_version}, as of {day.isoformat()})"
    )
    table = Table(
        "points",
        "record type",
        "record",
        "status",
        title="Reasons" if not full else "Contributions",
    )
    for c in result.contributions if full else result.reasons:
        table.add_row(
            f"{c.points:+d}", c.record_type or f"cap:{c.category}", c.record_ref or "", c.status
        )
    console.print(table)
    if history:
        for h in past:
            console.print(
                f"  {h['as_of']}  {h['score']:>5} {h['grade']:<3} {h['policy']}  "
                f"(computed {h['computed_at']}, {h['engine']})"
            )


def rescore(
    engine_name: Annotated[
        str, typer.Option("--engine", help=f"Population engine: {', '.join(ENGINES)}.")
    ] = "duckdb",
    as_of: AsOfOpt = None,
    snapshot: Annotated[
        Path | None,
        typer.Option(
            "--snapshot",
            help="Score an existing snapshot (`snapshot export`, `generate --snapshot`) "
            "instead of exporting one; checked first.",
        ),
    ] = None,
    master: Annotated[
        str | None,
        typer.Option(
            "--master",
            help="Spark master for --engine spark: local[2], local[*] or spark://host:7077 "
            f"(default ${ENV_MASTER}, else local[*]).",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Score the whole population set-wise from a Parquet snapshot and write back in bulk."""
    day = parse_as_of(as_of)
    if master is not None:
        if engine_name != "spark":
            fail("--master only applies to --engine spark")
        # The executor is built by name inside the rescore; the master reaches it the way
        # a deployment sets it, through the environment.
        os.environ[ENV_MASTER] = master
    if snapshot is not None:
        try:
            check_snapshot(snapshot)
        except SnapshotError as exc:
            fail(f"the snapshot cannot be scored: {escape(str(exc))}")
    engine = store()
    with progress_bars(json_out) as progress:
        bars = PhaseBars(progress)
        try:
            summary = rescore_population(
                engine, engine_name=engine_name, as_of=day, snapshot=snapshot, progress=bars
            )
        except (ExecutorUnavailableError, NoPolicyInForceError, SnapshotError) as exc:
            fail(escape(str(exc)))
    if json_out:
        print_json(summary.as_dict())
        return
    print_grades(summary)


class PhaseBars:
    """One Rich task per phase of a long job."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, phase: str, advance: int, total: int | None) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.progress.add_task(phase, total=total)
        self.progress.update(self.tasks[phase], advance=advance, total=total)


def print_grades(summary: PopulationSummary) -> None:
    """Grade distribution overall and per province."""
    grades = list(summary.grades)
    table = Table(
        "province",
        *grades,
        "subjects",
        title=f"Grades as of {summary.as_of} ({summary.subjects:,} subjects, {summary.engine})",
    )
    for code, counts in summary.by_province.items():
        name = YRD_PROVINCES.get(code, code)
        table.add_row(
            f"{code} {name}",
            *(f"{counts.get(g, 0):,}" for g in grades),
            f"{sum(counts.values()):,}",
        )
    table.add_row(
        "[bold]all",
        *(f"[bold]{summary.grades[g]:,}" for g in grades),
        f"[bold]{summary.subjects:,}",
    )
    console.print(table)
