"""The in-process evaluator run over a whole snapshot: the reference executor.

It holds the snapshot in memory, so it suits small populations and tests; the
DuckDB executor is the one for the whole pilot.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from socialcredit.policy import ResolvedPolicy, select_policy
from socialcredit.scoring.catalogue_view import catalogue_view
from socialcredit.scoring.dates import cutoff
from socialcredit.scoring.evaluator import evaluate
from socialcredit.scoring.executors import Progress
from socialcredit.scoring.facts import RecordFact, SubjectFacts
from socialcredit.scoring.results import LIST_SCHEMA, RESULT_SCHEMA
from socialcredit.scoring.snapshot_schema import TABLES


def read_table(snapshot: Path, name: str) -> list[dict[str, Any]]:
    folder = snapshot / name
    files = sorted(folder.rglob("*.parquet"))
    if not files:
        return []
    table = ds.dataset(files, format="parquet", schema=TABLES[name]).to_table()
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def statuses_as_of(events: list[dict[str, Any]], limit: dt.datetime) -> dict[int, str]:
    newest: dict[int, tuple[dt.datetime, int, str]] = {}
    for e in events:
        if e["recorded_at"] >= limit:
            continue
        key = (e["recorded_at"], e["event_id"], e["status"])
        current = newest.get(e["record_id"])
        if current is None or key[:2] > current[:2]:
            newest[e["record_id"]] = key
    return {rid: v[2] for rid, v in newest.items()}


class PythonExecutor:
    name = "python"

    def score(
        self,
        snapshot: Path,
        out: Path,
        *,
        as_of: dt.date,
        policies: Sequence[ResolvedPolicy],
        progress: Progress | None = None,
        contributions: bool = False,
        lists_out: Path | None = None,
    ) -> int:
        # Imported here: the lists package builds on scoring, not the other way round.
        from socialcredit.lists.decisions import list_decisions

        limit = cutoff(as_of)
        status = statuses_as_of(read_table(snapshot, "status_events"), limit)
        professions: dict[int, set[str]] = defaultdict(set)
        for p in read_table(snapshot, "professions"):
            if p["registered_at"] < limit:
                professions[p["subject_id"]].add(p["profession"])
        records: dict[int, list[RecordFact]] = defaultdict(list)
        for r in read_table(snapshot, "records"):
            if r["recorded_at"] >= limit:
                continue
            records[r["subject_id"]].append(
                RecordFact(
                    record_id=r["record_id"],
                    provider_id=r["provider_id"],
                    provider_record_id=r["provider_record_id"],
                    record_type=r["record_type"],
                    decided_on=r["decided_on"],
                    conduct_ended_on=r["conduct_ended_on"],
                    amount_fen=r["amount_fen"],
                    status=status.get(r["record_id"], "active"),
                )
            )
        catalogue = catalogue_view()
        by_province: dict[str, ResolvedPolicy] = {}
        rows = []
        listed: list[dict[str, Any]] = []
        subjects = read_table(snapshot, "subjects")
        for s in subjects:
            province = s["province_code"]
            policy = by_province.get(province)
            if policy is None:
                policy = by_province[province] = select_policy(policies, province, as_of)
            facts = SubjectFacts(
                subject_id=s["subject_id"],
                province_code=province,
                professions=frozenset(professions.get(s["subject_id"], ())),
                records=tuple(records.get(s["subject_id"], ())),
            )
            result = evaluate(facts, policy, as_of, catalogue)
            rows.append(result.to_row(contributions=contributions))
            if lists_out is not None:
                # Organisations have no birth date: the minors rule never applies to them.
                birth = s["birth_date"]
                listed += (
                    d.to_row(s["subject_id"])
                    for d in list_decisions(facts, policy, as_of, result, birth)
                )
            if progress is not None and len(rows) % 10_000 == 0:
                progress(10_000)
        if progress is not None:
            progress(len(rows) % 10_000)
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=RESULT_SCHEMA), out)
        if lists_out is not None:
            listed.sort(
                key=lambda r: (r["subject_id"], r["list_name"], r["criterion"], r["record_id"] or 0)
            )
            pq.write_table(pa.Table.from_pylist(listed, schema=LIST_SCHEMA), lists_out)
        return len(rows)
