"""Rescoring the whole population: snapshot, executor, bulk write-back."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import Engine, func, or_, select

from socialcredit.db.engine import session_scope
from socialcredit.db.models import ListEntry, Subject
from socialcredit.policy import ResolvedPolicy, load_policies
from socialcredit.scoring.executors import get_executor
from socialcredit.scoring.python_executor import read_table
from socialcredit.scoring.snapshot import export_snapshot
from socialcredit.scoring.store import write_back

# (phase, advance by, total or None): how long work reports progress.
PhaseProgress = Callable[[str, int, int | None], None]


@dataclass
class PopulationSummary:
    engine: str
    as_of: dt.date
    subjects: int
    grades: dict[str, int]
    by_province: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "as_of": self.as_of.isoformat(),
            "subjects": self.subjects,
            "grades": self.grades,
            "by_province": self.by_province,
        }


def rescore_population(
    engine: Engine,
    *,
    engine_name: str,
    as_of: dt.date,
    snapshot: Path | None = None,
    progress: PhaseProgress | None = None,
    lists: bool = True,
) -> PopulationSummary:
    """Score everyone with ``engine_name`` and store the answers; see ``scoring`` for the rules."""
    executor = get_executor(engine_name)
    policies = load_policies()

    def report(phase: str, n: int, total: int | None = None) -> None:
        if progress is not None:
            progress(phase, n, total)

    with tempfile.TemporaryDirectory(prefix="socialcredit-rescore-") as tmp:
        snap = snapshot or Path(tmp) / "snapshot"
        taken = None
        if snapshot is None:
            taken = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            export_snapshot(engine, snap, progress=lambda _t, n: report("exporting snapshot", n))
        with session_scope(engine) as session:
            total = int(session.scalar(select(func.count()).select_from(Subject)) or 0)
        results = Path(tmp) / "scores.parquet"
        listed = Path(tmp) / "lists.parquet" if lists else None
        report(f"scoring ({engine_name})", 0, total)
        n = executor.score(
            snap,
            results,
            as_of=as_of,
            policies=policies,
            progress=lambda k: report(f"scoring ({engine_name})", k, total),
            # A stored score needs its reasons, not every contribution: rendering and
            # ordering those for the whole population was most of the rescore's cost.
            # Readers compute the full list on request (``scoring.store.compute``).
            contributions=False,
            lists_out=listed,
        )
        report("writing back", 0, n)
        write_back(engine, results, engine_name=engine_name, snapshot_taken=taken)
        report("writing back", n, n)
        if listed is not None:
            update_all_lists(engine, as_of, policies, report, decided=listed)
        table = pq.read_table(results, columns=["subject_id", "grade"])
        grades = Counter(table.column("grade").to_pylist())
        province_of = {s["subject_id"]: s["province_code"] for s in read_table(snap, "subjects")}
    by_province: dict[str, Counter[str]] = {}
    ids = table.column("subject_id").to_pylist()
    for sid, grade in zip(ids, table.column("grade").to_pylist(), strict=True):
        by_province.setdefault(province_of.get(sid, "??"), Counter())[grade] += 1
    return PopulationSummary(
        engine=engine_name,
        as_of=as_of,
        subjects=n,
        grades=dict(sorted(grades.items())),
        by_province={p: dict(sorted(c.items())) for p, c in sorted(by_province.items())},
    )


def update_all_lists(
    engine: Engine,
    as_of: dt.date,
    policies: Sequence[ResolvedPolicy],
    report: Callable[[str, int, int | None], None],
    *,
    decided: Path | None = None,
) -> None:
    """Red and black lists follow the new scores, a batch of subjects per transaction.

    With ``decided`` (an executor's LIST_SCHEMA file) the criteria met come from the
    executor, and only subjects with something to change are visited: those meeting a
    criterion and those with an entry still open (or exiting later). Without it every
    subject's criteria are decided in process.
    """
    from socialcredit.lists import OPEN_STATUSES, ListDecision, update_lists

    decisions: dict[int, list[ListDecision]] | None = None
    with engine.connect() as conn:
        if decided is None:
            ids = list(conn.scalars(select(Subject.id).order_by(Subject.id)))
        else:
            decisions = defaultdict(list)
            for row in pq.read_table(decided).to_pylist():
                decisions[row["subject_id"]].append(ListDecision.from_row(row))
            held = conn.scalars(
                select(ListEntry.subject_id).where(
                    or_(ListEntry.status.in_(OPEN_STATUSES), ListEntry.exited_on > as_of)
                )
            )
            ids = sorted(set(decisions) | set(held))
    report("updating lists", 0, len(ids))
    for start in range(0, len(ids), 2000):
        batch = ids[start : start + 2000]
        with engine.begin() as conn:
            update_lists(conn, batch, as_of, policies=policies, decisions=decisions)
        report("updating lists", len(batch), len(ids))
