"""Small synthetic facts, written straight to a Parquet snapshot, and scored by an executor.

No store is involved: the snapshot layout (one directory per table, Parquet files inside,
possibly hive-partitioned) and its schemas are the whole interface an executor sees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from socialcredit.policy import ResolvedPolicy
from socialcredit.records.catalogue import default_catalogue
from socialcredit.scoring.executors import PopulationExecutor
from socialcredit.scoring.results import (
    LIST_SCHEMA,
    REASON_COUNT,
    RESULT_SCHEMA,
    Contribution,
    contributions_json,
    parse_contributions,
)
from socialcredit.scoring.snapshot_schema import TABLES


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


@dataclass(frozen=True, slots=True)
class Subject:
    subject_id: int
    province_code: str | None = "32"
    kind: str = "person"
    city_code: str | None = None
    birth_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Record:
    record_id: int
    subject_id: int
    record_type: str
    decided_on: dt.date
    # Default: recorded at the start of the day after the decision.
    recorded_at: dt.datetime | None = None
    conduct_ended_on: dt.date | None = None
    amount_fen: int | None = None
    provider_id: int = 1
    provider_record_id: str | None = None  # default: "R<record_id>"
    version: int = 1

    @property
    def ref(self) -> str:
        return f"{self.provider_id}:{self.provider_record_id or f'R{self.record_id}'}"

    def row(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "subject_id": self.subject_id,
            "provider_id": self.provider_id,
            "provider_record_id": self.provider_record_id or f"R{self.record_id}",
            "version": self.version,
            "record_type": self.record_type,
            "decided_on": self.decided_on,
            "conduct_ended_on": self.conduct_ended_on,
            "amount_fen": self.amount_fen,
            "recorded_at": self.recorded_at or midnight(self.decided_on + dt.timedelta(days=1)),
        }


@dataclass(frozen=True, slots=True)
class StatusEvent:
    event_id: int
    record_id: int
    status: str
    recorded_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Profession:
    subject_id: int
    profession: str
    registered_at: dt.datetime


@dataclass(slots=True)
class Facts:
    subjects: list[Subject] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    status_events: list[StatusEvent] = field(default_factory=list)
    professions: list[Profession] = field(default_factory=list)

    def tables(self) -> dict[str, pa.Table]:
        rows: dict[str, list[dict[str, Any]]] = {
            "subjects": [
                {
                    "subject_id": s.subject_id,
                    "kind": s.kind,
                    "province_code": s.province_code,
                    "city_code": s.city_code,
                    "birth_date": s.birth_date,
                }
                for s in self.subjects
            ],
            "records": [r.row() for r in self.records],
            "status_events": [
                {
                    "event_id": e.event_id,
                    "record_id": e.record_id,
                    "status": e.status,
                    "recorded_at": e.recorded_at,
                }
                for e in self.status_events
            ],
            "professions": [
                {
                    "subject_id": p.subject_id,
                    "profession": p.profession,
                    "registered_at": p.registered_at,
                }
                for p in self.professions
            ],
        }
        return {name: pa.Table.from_pylist(rows[name], schema=TABLES[name]) for name in TABLES}


def write_snapshot(root: Path, facts: Facts, *, partition_by_province: bool = False) -> Path:
    """One directory per table; optionally records split into ``province=NN`` partitions
    and several files, the way a data lake would hand them over."""
    root.mkdir(parents=True, exist_ok=True)
    tables = facts.tables()
    for name, table in tables.items():
        folder = root / name
        folder.mkdir()
        if name == "records" and partition_by_province:
            province = {s.subject_id: s.province_code or "00" for s in facts.subjects}
            by_province: dict[str, list[dict[str, Any]]] = {}
            for row in table.to_pylist():
                by_province.setdefault(province[row["subject_id"]], []).append(row)
            for code, rows in sorted(by_province.items()):
                part = folder / f"province={code}"
                part.mkdir()
                # Two files per partition: executors must read them all.
                for i, chunk in enumerate((rows[::2], rows[1::2])):
                    chunk_table = pa.Table.from_pylist(chunk, schema=TABLES[name])
                    pq.write_table(chunk_table, part / f"part-{i}.parquet")
        else:
            pq.write_table(table, folder / "part-0.parquet")
    return root


def run_executor(
    executor: PopulationExecutor,
    workdir: Path,
    facts: Facts,
    *,
    as_of: dt.date,
    policies: Sequence[ResolvedPolicy],
    partition_by_province: bool = False,
    contributions: bool = True,
) -> dict[int, dict[str, Any]]:
    """Score ``facts`` and return the result rows by subject id, checking the file's shape.

    Every contribution is asked for unless ``contributions`` is false: the comparisons
    cover the full list, and ``test_random`` holds the short form to the full one."""
    scores, _ = score_and_list(
        executor,
        workdir,
        facts,
        as_of=as_of,
        policies=policies,
        partition_by_province=partition_by_province,
        contributions=contributions,
        lists=False,
    )
    return scores


def score_and_list(
    executor: PopulationExecutor,
    workdir: Path,
    facts: Facts,
    *,
    as_of: dt.date,
    policies: Sequence[ResolvedPolicy],
    partition_by_province: bool = False,
    contributions: bool = True,
    lists: bool = True,
) -> tuple[dict[int, dict[str, Any]], list[dict[str, Any]]]:
    """``run_executor``, asking for the list memberships too: the score rows by subject,
    and the list rows in the file's order (checked to be the contract's order)."""
    snapshot = write_snapshot(
        workdir / "snapshot", facts, partition_by_province=partition_by_province
    )
    out = workdir / "scores.parquet"
    lists_out = workdir / "lists.parquet" if lists else None
    ticks: list[int] = []
    count = executor.score(
        snapshot,
        out,
        as_of=as_of,
        policies=policies,
        progress=ticks.append,
        contributions=contributions,
        lists_out=lists_out,
    )
    assert ticks, "progress was never reported"
    table = pq.read_table(out)
    assert table.schema.names == RESULT_SCHEMA.names
    assert [f.type for f in table.schema] == [f.type for f in RESULT_SCHEMA]
    rows = table.to_pylist()
    assert count == len(rows) == len(facts.subjects)
    by_subject = {row["subject_id"]: row for row in rows}
    assert len(by_subject) == len(rows), "one row per subject"
    listed: list[dict[str, Any]] = []
    if lists_out is not None:
        list_table = pq.read_table(lists_out)
        assert list_table.schema.names == LIST_SCHEMA.names
        assert [f.type for f in list_table.schema] == [f.type for f in LIST_SCHEMA]
        listed = list_table.to_pylist()
        order = [
            (r["subject_id"], r["list_name"], r["criterion"], r["record_id"] or 0) for r in listed
        ]
        assert order == sorted(order), "list rows out of the contract's order"
        assert {r["subject_id"] for r in listed} <= by_subject.keys()
    return by_subject, listed


def record_contribution(
    record: Record,
    base_points: int = 0,
    *,
    repeat_points: int = 0,
    status: str = "counted",
) -> Contribution:
    """The contribution ``record`` should make; its category comes from the catalogue."""
    counted = status == "counted"
    return Contribution(
        kind="record",
        category=default_catalogue().by_code()[record.record_type].category,
        points=base_points + repeat_points if counted else 0,
        status=status,
        record_id=record.record_id,
        record_ref=record.ref,
        record_type=record.record_type,
        base_points=base_points if counted else 0,
        repeat_points=repeat_points if counted else 0,
    )


def cap_contribution(category: str, points: int) -> Contribution:
    return Contribution(kind="cap", category=category, points=points, status="cap")


def assert_result(
    row: dict[str, Any],
    *,
    score: int,
    grade: str,
    contributions: Sequence[Contribution],
    policy: ResolvedPolicy,
    as_of: dt.date,
) -> None:
    """``row`` is the expected score; ``contributions`` are given in the expected order."""
    reasons = [c for c in contributions if c.points != 0][:REASON_COUNT]
    got = (row["policy_id"], row["policy_version"], row["as_of"], row["score"], row["grade"])
    assert got == (policy.id, policy.version, as_of, score, grade)
    # Parsed first for a readable diff, then byte for byte.
    assert list(parse_contributions(row["contributions"])) == list(contributions)
    assert list(parse_contributions(row["reasons"])) == reasons
    assert row["contributions"] == contributions_json(list(contributions))
    assert row["reasons"] == contributions_json(reasons)
