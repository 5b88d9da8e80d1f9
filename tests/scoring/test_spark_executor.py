"""The Spark engine beyond the conformance suite: what it says when it cannot run, its month
arithmetic, and a rescore through the CLI that stores what DuckDB stores.

Tests that start Spark are ``slow`` (run by default and in CI); without PySpark or Java
they skip locally and fail under ``CI``, like the conformance suite.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import os
import random
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from socialcredit.cli.app import app
from socialcredit.db.engine import session_scope
from socialcredit.db.models import ListEntry, Score
from socialcredit.records.ingest import import_feed
from socialcredit.records.providers import add_provider
from socialcredit.scoring import spark_session
from socialcredit.scoring.dates import add_months
from socialcredit.scoring.executors import ExecutorUnavailableError, get_executor
from tests.conftest import register_people
from tests.records.conftest import row, write_csv

runner = CliRunner()


def _spark_or_skip() -> Any:
    try:
        spark_session.check_available()
    except ExecutorUnavailableError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Spark is required in CI but unavailable: {exc}")
        pytest.skip(f"Spark unavailable here: {exc}")
    os.environ.setdefault(spark_session.ENV_SHUFFLE_PARTITIONS, "2")
    return spark_session.get_session("local[2]")


# --- when Spark cannot run -----------------------------------------------------------


def test_without_pyspark_the_engine_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pyspark(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pyspark" or name.startswith("pyspark."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyspark)
    with pytest.raises(ExecutorUnavailableError, match=r"PySpark.*pip install"):
        get_executor("spark")


def test_without_java_the_engine_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyspark")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ExecutorUnavailableError, match=r"Java 17.*apt-get install openjdk-17"):
        get_executor("spark")


def test_an_old_java_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.21\" 2023-10-17' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    with pytest.raises(ExecutorUnavailableError, match=r"needs Java 17 or newer; .* is Java 11"):
        get_executor("spark")


def test_java_versions_are_read_both_ways(tmp_path: Path) -> None:
    for text, major in (('java version "1.8.0_392"', 8), ('openjdk version "17.0.15" 2025', 17)):
        java = tmp_path / f"java{major}"
        java.write_text(f"#!/bin/sh\necho '{text}' >&2\n")
        java.chmod(java.stat().st_mode | stat.S_IEXEC)
        assert spark_session.java_major(java) == major


def test_the_cli_exits_2_naming_what_is_missing(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyspark")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    result = runner.invoke(app, ["--database-url", db_url, "rescore", "--engine", "spark"])
    assert result.exit_code == 2
    assert "Java 17" in result.output and "apt-get install" in result.output


def test_master_is_only_for_spark(db_url: str, engine: Engine) -> None:
    result = runner.invoke(
        app, ["--database-url", db_url, "rescore", "--engine", "duckdb", "--master", "local[2]"]
    )
    assert result.exit_code == 2 and "--master only applies" in result.output


def test_settings_follow_the_master(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(spark_session.ENV_SHUFFLE_PARTITIONS, raising=False)
    assert spark_session.settings("local[3]")["spark.sql.shuffle.partitions"] == "6"
    cluster = spark_session.settings("spark://head:7077")
    assert cluster["spark.master"] == "spark://head:7077"
    assert cluster["spark.sql.shuffle.partitions"] == "200"
    assert cluster["spark.ui.enabled"] == "false"
    assert cluster["spark.sql.session.timeZone"] == "UTC"


# --- the engine's arithmetic ---------------------------------------------------------

DAYS = st.one_of(
    st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2031, 12, 31)),
    st.builds(
        lambda year, month: dt.date(year, month, 1) - dt.timedelta(days=1),
        st.integers(2019, 2031),
        st.integers(1, 12),
    ),
    st.sampled_from([dt.date(2024, 2, 29), dt.date(2028, 2, 29), dt.date(2026, 1, 31)]),
)


@pytest.mark.slow
@settings(max_examples=5, deadline=None)
@given(st.lists(st.tuples(DAYS, st.sampled_from([0, 1, 3, 12, 24, 36, 60, -12, -36])), min_size=1))
def test_add_months_is_sparks_add_months(cases: list[tuple[dt.date, int]]) -> None:
    """The contract's month arithmetic (clause 2) is Spark's: the plan adds months itself for
    the planned exits of black-list entries."""
    spark = _spark_or_skip()
    frame = spark.createDataFrame(cases, "day DATE, months INT")
    got = [r[0] for r in frame.selectExpr("add_months(day, months)").collect()]
    assert got == [add_months(d, n) for d, n in cases]


# --- end to end ----------------------------------------------------------------------

TYPES = ["tax.late_filing", "tax.arrears", "tax.evasion", "commendation.tax_a_grade"]


@pytest.mark.slow
def test_cli_rescore_on_spark_stores_what_duckdb_stores(
    db_url: str, engine: Engine, rng: random.Random, tmp_path: Path
) -> None:
    _spark_or_skip()
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
        rows.append(
            row(
                provider_record_id=f"TAX-{i:05d}",
                subject_id=number,
                # tax.evasion puts its subject on the black list.
                record_type=rng.choice(TYPES),
                decided_on=(today - dt.timedelta(days=rng.randrange(400))).isoformat(),
                amount_cny=str(rng.choice([0, 800, 12_000, 250_000, 3_000_000])),
            )
        )
    import_feed(engine, write_csv(tmp_path / "tax.csv", rows), provider="国家税务总局上海市税务局")

    stored: dict[str, tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]] = {}
    for name, extra in (("duckdb", []), ("spark", ["--master", "local[2]"])):
        result = runner.invoke(
            app, ["--database-url", db_url, "rescore", "--engine", name, *extra, "--json"]
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["subjects"] == 35
        with session_scope(engine) as s:
            scores = {
                (x.subject_id, x.score, x.grade, x.policy_id, x.policy_version, x.reasons)
                for x in s.scalars(select(Score).where(Score.engine == name))
            }
            entries = {
                (e.subject_id, e.list_name, e.criterion, e.record_id, e.status, e.planned_exit_on)
                for e in s.scalars(select(ListEntry))
            }
        stored[name] = (scores, entries)
    assert len(stored["spark"][0]) == 35
    assert stored["spark"] == stored["duckdb"]
    assert any(s[1] < 1000 for s in stored["spark"][0]), "someone must have been penalised"
    assert any(e[1] == "black" for e in stored["spark"][1]), "tax evasion lists its subject"
