"""Population rescoring through the store: both engines store the same answers."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from socialcredit.cli.app import app
from socialcredit.db.engine import session_scope
from socialcredit.db.models import Score
from socialcredit.records.ingest import import_feed
from socialcredit.records.providers import add_provider
from tests.conftest import register_people
from tests.records.conftest import row, write_csv

runner = CliRunner()
TYPES = ["tax.late_filing", "tax.arrears", "tax.evasion", "commendation.tax_a_grade"]


def test_engines_store_identical_scores(
    db_url: str, engine: Engine, rng: random.Random, tmp_path: Path
) -> None:
    people = register_people(engine, rng, n_persons=30, n_orgs=5)
    with session_scope(engine) as s:
        add_provider(
            s,
            name="国家税务总局上海市税务局",
            kind="tax_bureau",
            region_code="31",
            record_types=TYPES,
        )
    today = dt.date.today()
    rows = []
    for i in range(150):
        number, _ = (people.persons + people.orgs)[rng.randrange(35)]
        decided = today - dt.timedelta(days=rng.randrange(400))
        rows.append(
            row(
                provider_record_id=f"TAX-{i:05d}",
                subject_id=number,
                record_type=rng.choice(TYPES),
                decided_on=decided.isoformat(),
                amount_cny=str(rng.choice([0, 800, 12_000, 250_000, 3_000_000])),
            )
        )
    import_feed(engine, write_csv(tmp_path / "tax.csv", rows), provider="国家税务总局上海市税务局")
    answers = {}
    for name in ("python", "duckdb"):
        result = runner.invoke(
            app, ["--database-url", db_url, "rescore", "--engine", name, "--json"]
        )
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert summary["subjects"] == 35
        with session_scope(engine) as s:
            answers[name] = {
                (
                    x.subject_id,
                    x.score,
                    x.grade,
                    x.policy_id,
                    x.policy_version,
                    x.reasons,
                    x.contributions,
                )
                for x in s.scalars(select(Score).where(Score.engine == name))
            }
    assert len(answers["python"]) == 35
    for a, b in zip(sorted(answers["python"]), sorted(answers["duckdb"]), strict=True):
        assert a == b, (a, b)
    assert answers["python"] == answers["duckdb"]
    # A population rescore stores the reasons only; the full list is computed on request.
    assert all(a[6] is None for a in answers["python"])
    # Someone must actually have been penalised, or this proves little.
    assert any(a[1] < 1000 for a in answers["python"])


def test_unknown_engine_is_refused(db_url: str, engine: Engine) -> None:
    result = runner.invoke(app, ["--database-url", db_url, "rescore", "--engine", "pandas"])
    assert result.exit_code == 2 and "unknown engine" in result.output
