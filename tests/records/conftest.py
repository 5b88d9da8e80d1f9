"""Fixtures for feed tests: a provider with a scope, registered people, feed writers."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine

from socialcredit.db.engine import session_scope
from socialcredit.identity.registry import link_account
from socialcredit.records.ingest.columns import FEED_COLUMNS
from socialcredit.records.providers import add_provider
from tests.conftest import People, register_people

TRAFFIC = "上海市公安局交通警察总队"
TELECOM = "中国移动通信集团上海有限公司"


@pytest.fixture
def pilot(engine: Engine, rng: random.Random) -> People:
    """Five persons and two organisations, a traffic police provider and a telecom provider."""
    people = register_people(engine, rng, n_persons=6, n_orgs=2)
    with session_scope(engine) as s:
        add_provider(
            s,
            name=TRAFFIC,
            kind="traffic_police",
            region_code="31",
            record_types=["traffic.speeding", "traffic.red_light", "traffic.drunk_driving"],
        )
        add_provider(s, name=TELECOM, kind="telecom", region_code="31", record_types=[])
        number, name = people.persons[5]
        link_account(s, provider=TELECOM, account_id="13916000001", number=number, name=name)
    return people


def row(**values: object) -> dict[str, object]:
    out: dict[str, object] = dict.fromkeys(FEED_COLUMNS, "")
    out.update(values)
    return out


def write_csv(
    path: Path,
    rows: Sequence[dict[str, object]],
    *,
    encoding: str = "utf-8",
    columns: Sequence[str] = FEED_COLUMNS,
) -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})
    return path


def write_jsonl(path: Path, rows: Sequence[dict[str, object]]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({k: v for k, v in r.items() if v != ""}, ensure_ascii=False) + "\n")
    return path


def write_parquet(path: Path, rows: Sequence[dict[str, object]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({c: [str(r.get(c, "")) or None for r in rows] for c in FEED_COLUMNS})
    pq.write_table(table, path)
    return path
