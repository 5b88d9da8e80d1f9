"""A population rescore takes list membership from the executor; the store agrees with
what the in-process decisions would have made of the same facts."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from socialcredit.cli.app import app
from socialcredit.db.engine import session_scope
from socialcredit.db.models import ListEntry, Subject
from socialcredit.lists import update_lists
from socialcredit.records.ingest import import_feed
from socialcredit.records.providers import add_provider
from tests.conftest import register_people
from tests.records.conftest import row, write_csv

runner = CliRunner()
TYPES = ["tax.evasion", "tax.invoice_fraud", "tax.late_filing", "commendation.tax_a_grade"]


def _entries(engine: Engine) -> set[tuple[object, ...]]:
    with session_scope(engine) as s:
        return {
            (e.subject_id, e.list_name, e.criterion, e.record_id, e.status, e.planned_exit_on)
            for e in s.scalars(select(ListEntry))
        }


@pytest.mark.parametrize("engine_name", ["duckdb", "python"])
def test_executor_lists_match_in_process_decisions(
    db_url: str, engine: Engine, rng: random.Random, tmp_path: Path, engine_name: str
) -> None:
    people = register_people(engine, rng, n_persons=40, n_orgs=8)
    with session_scope(engine) as s:
        add_provider(
            s,
            name="国家税务总局江苏省税务局",
            kind="tax_bureau",
            region_code="32",
            record_types=TYPES,
        )
    today = dt.date.today()
    rows = [
        row(
            provider_record_id=f"SW-{i:05d}",
            subject_id=(people.persons + people.orgs)[rng.randrange(48)][0],
            record_type=rng.choice(TYPES),
            decided_on=(today - dt.timedelta(days=rng.randrange(900))).isoformat(),
            amount_cny=str(rng.choice([0, 5_000, 250_000])),
        )
        for i in range(120)
    ]
    import_feed(engine, write_csv(tmp_path / "tax.csv", rows), provider="国家税务总局江苏省税务局")
    assert _entries(engine) == set()  # importing queues a rescore; it lists nobody
    result = runner.invoke(
        app, ["--database-url", db_url, "rescore", "--engine", engine_name, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["subjects"] == 48
    after_rescore = _entries(engine)
    assert any(e[1] == "black" for e in after_rescore), "nobody listed: the test proves little"
    # Deciding every subject's criteria in process, on the same date, changes nothing.
    with engine.begin() as conn:
        everyone = list(conn.scalars(select(Subject.id)))
        assert update_lists(conn, everyone, today) == []
    assert _entries(engine) == after_rescore
