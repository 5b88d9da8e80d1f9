"""The ``generate`` and ``demo`` commands, on an app wired like the real one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pyarrow.parquet as pq
import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from socialcredit.cli import synth
from socialcredit.db.engine import make_engine, session_scope
from socialcredit.db.models import Record, Subject
from socialcredit.db.setup import init_store

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root(
        database_url: Annotated[str | None, typer.Option("--database-url")] = None,
    ) -> None:
        pass

    app.command("generate")(synth.generate)
    app.command("demo")(synth.demo)
    return app


def test_generate_writes_what_it_reports(tmp_path: Path) -> None:
    out = tmp_path / "data"
    args = ["generate", "--persons", "80", "--orgs", "8", "--out", str(out), "--seed", "9"]
    result = runner.invoke(_app(), [*args, "--today", "2026-11-27", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["persons"], report["organisations"]) == (80, 8)
    assert pq.read_metadata(out / "subjects" / "persons.parquet").num_rows == 80
    assert report["rows"] == sum(f["rows"] for f in report["feeds"]) > 0
    assert all((out / f["file"]).is_file() for f in report["feeds"])


def test_generate_prints_a_table_without_json(tmp_path: Path) -> None:
    args = ["generate", "--persons", "30", "--orgs", "3", "--out", str(tmp_path)]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert "Wrote 30 persons, 3 organisations" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--persons", "0", "--orgs", "5"], "legal representative"),
        (["--persons", "5", "--orgs", "1", "--today", "27.11.2026"], "YYYY-MM-DD"),
    ],
)
def test_generate_refuses_unusable_input(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(_app(), ["generate", *args, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output


def test_demo_builds_a_pilot_store_through_registry_and_ingestion(tmp_path: Path) -> None:
    work = tmp_path / "pilot"
    args = ["demo", "--persons", "300", "--orgs", "30", "--dir", str(work), "--no-serve", "--json"]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["registered"]["persons"] == 300
    assert summary["registered"]["organisations"] == 30
    assert summary["registry_refusals"] == {}
    totals = summary["totals"]
    assert totals["accepted"] + totals["duplicates"] + totals["rejected"] == totals["rows"]
    # Every planted defect is caught; nothing else is rejected but references to records
    # the importer has not stored yet.
    assert totals["rejected"] >= totals["malformed"] > 0
    assert all(f["refused"] is None for f in summary["feeds"])
    engine = make_engine(f"sqlite:///{work / 'socialcredit.db'}")
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Subject)) == 330
        # Annulments are accepted rows too, but add a status event, not a record.
        records = session.scalar(select(func.count()).select_from(Record)) or 0
        assert 0.98 * totals["accepted"] < records <= totals["accepted"]
    engine.dispose()
    assert any((work / "rejects").glob("*.rejects.csv"))


def test_demo_starts_afresh_each_run(tmp_path: Path) -> None:
    work = tmp_path / "pilot"
    args = ["demo", "--persons", "40", "--orgs", "4", "--dir", str(work), "--no-serve", "--json"]
    first = runner.invoke(_app(), args)
    again = runner.invoke(_app(), args)
    assert first.exit_code == again.exit_code == 0, again.output
    assert json.loads(first.stdout)["totals"] == json.loads(again.stdout)["totals"]


def test_demo_never_wipes_a_store_named_by_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'real.db'}"
    engine = make_engine(url)
    init_store(engine)
    engine.dispose()
    result = runner.invoke(
        _app(), ["--database-url", url, "demo", "--persons", "10", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "not empty" in result.output
