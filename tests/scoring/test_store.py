"""Scores from the store: as-of answers, what never counts, history kept (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update
from typer.testing import CliRunner

from socialcredit.cli.app import app
from socialcredit.db.engine import session_scope
from socialcredit.db.models import Record, RecordStatusEvent, Score
from socialcredit.identity.registry import register_profession
from socialcredit.records.ingest import import_feed
from socialcredit.records.providers import add_provider
from tests.conftest import People, register_people
from tests.records.conftest import row, write_csv

POLICE = "江苏省公安厅交通警察总队"
HEALTH = "江苏省卫生健康委员会"
runner = CliRunner()


@pytest.fixture
def world(engine: Engine, rng: random.Random) -> People:
    people = register_people(engine, rng, n_persons=4, n_orgs=1)
    with session_scope(engine) as s:
        add_provider(
            s,
            name=POLICE,
            kind="traffic_police",
            region_code="32",
            record_types=["traffic.speeding", "traffic.drunk_driving"],
        )
        add_provider(
            s,
            name=HEALTH,
            kind="health_regulator",
            region_code="32",
            record_types=["medical.malpractice"],
        )
        register_profession(
            s,
            number=people.persons[0][0],
            profession="doctor",
            licence_no="110320000077001",
            employer=people.orgs[0][0],
            on=dt.date(2026, 5, 1),
        )
    return people


def cli_score(db_url: str, number: str, *args: str) -> dict[str, object]:
    result = runner.invoke(app, ["--database-url", db_url, "score", number, "--json", *args])
    assert result.exit_code == 0, result.output
    out: dict[str, object] = json.loads(result.stdout)
    return out


def set_recorded_at(engine: Engine, prid: str, when: dt.datetime) -> None:
    with session_scope(engine) as s:
        s.execute(update(Record).where(Record.provider_record_id == prid).values(recorded_at=when))


def test_what_counts_and_what_never_does(
    db_url: str, engine: Engine, world: People, tmp_path: Path
) -> None:
    today = dt.date.today()
    number = world.persons[0][0]
    recent = (today - dt.timedelta(days=10)).isoformat()
    rows = [
        row(
            provider_record_id="T-1",
            subject_id=number,
            record_type="traffic.speeding",
            decided_on=recent,
        ),
        # Past its 3-month display window: shown to nobody, counts for nothing.
        row(
            provider_record_id="T-OLD",
            subject_id=number,
            record_type="traffic.speeding",
            decided_on=(today - dt.timedelta(days=200)).isoformat(),
        ),
        row(
            provider_record_id="T-ANN",
            subject_id=number,
            record_type="traffic.drunk_driving",
            decided_on=recent,
        ),
    ]
    import_feed(engine, write_csv(tmp_path / "t.csv", rows), provider=POLICE)
    medical = [
        row(
            provider_record_id="M-1",
            subject_id=number,
            record_type="medical.malpractice",
            decided_on=recent,
        )
    ]
    import_feed(engine, write_csv(tmp_path / "m.csv", medical), provider=HEALTH)

    before = cli_score(db_url, number, "--contributions")
    statuses = {c["record_type"]: c for c in before["contributions"]}  # type: ignore[union-attr]
    assert statuses["traffic.drunk_driving"]["status"] == "counted"
    assert "T-OLD" not in json.dumps(before, ensure_ascii=False)
    if today < dt.date(2027, 1, 1):
        # Medical records switch on in 2027: listed, with no points, saying why.
        assert statuses["medical.malpractice"]["status"] == "category_not_in_force"
        assert statuses["medical.malpractice"]["points"] == 0
    assert before["grade"] in ("C", "D")  # drunk driving caps the grade at C

    annul = [row(provider_record_id="T-ANN", action="annul", decision_ref="苏公交撤字〔2026〕3号")]
    import_feed(engine, write_csv(tmp_path / "a.csv", annul), provider=POLICE)
    after = cli_score(db_url, number, "--contributions")
    assert "traffic.drunk_driving" not in {c["record_type"] for c in after["contributions"]}  # type: ignore[union-attr]
    assert after["score"] > before["score"]  # type: ignore[operator]
    assert after["grade"] not in ("C", "D")
    with session_scope(engine) as s:
        # Recomputing never loses the old answer.
        assert s.scalar(select(func.count()).select_from(Score)) == 2


def test_as_of_reproduces_what_was_known_then(
    db_url: str, engine: Engine, world: People, tmp_path: Path
) -> None:
    number = world.persons[1][0]
    rows = [
        row(
            provider_record_id="E-1",
            subject_id=number,
            record_type="traffic.speeding",
            decided_on="2026-05-02",
        ),
        row(
            provider_record_id="L-1",
            subject_id=number,
            record_type="traffic.speeding",
            decided_on="2026-05-03",
        ),
        row(
            provider_record_id="A-1",
            subject_id=number,
            record_type="traffic.drunk_driving",
            decided_on="2026-05-04",
        ),
    ]
    import_feed(engine, write_csv(tmp_path / "f.csv", rows), provider=POLICE)
    set_recorded_at(engine, "E-1", dt.datetime(2026, 5, 2, 9))
    set_recorded_at(engine, "A-1", dt.datetime(2026, 5, 4, 9))
    # L-1 was decided on 3 May but only reached the platform in June.
    set_recorded_at(engine, "L-1", dt.datetime(2026, 6, 10, 9))
    annul = [row(provider_record_id="A-1", action="annul")]
    import_feed(engine, write_csv(tmp_path / "a.csv", annul), provider=POLICE)
    with session_scope(engine) as s:
        s.execute(update(RecordStatusEvent).values(recorded_at=dt.datetime(2026, 5, 20, 9)))

    on_may_10 = cli_score(db_url, number, "--as-of", "2026-05-10", "--contributions")
    refs = {c.get("record_ref", "").split(":")[-1] for c in on_may_10["contributions"]}  # type: ignore[union-attr]
    assert refs == {"E-1", "A-1"}  # not the late L-1; the annulment was not known yet
    assert on_may_10["grade"] in ("C", "D")
    on_june_1 = cli_score(db_url, number, "--as-of", "2026-06-01", "--contributions")
    refs = {c.get("record_ref", "").split(":")[-1] for c in on_june_1["contributions"]}  # type: ignore[union-attr]
    assert refs == {"E-1"}
    on_june_20 = cli_score(db_url, number, "--as-of", "2026-06-20", "--contributions")
    refs = {c.get("record_ref", "").split(":")[-1] for c in on_june_20["contributions"]}  # type: ignore[union-attr]
    assert refs == {"E-1", "L-1"}
    again = cli_score(db_url, number, "--as-of", "2026-05-10", "--contributions")
    assert again == on_may_10
    policy = on_may_10["policy"]
    assert isinstance(policy, dict) and policy["id"].startswith(f"cn-{number[:2]}-")


def test_score_errors(db_url: str, engine: Engine, world: People) -> None:
    result = runner.invoke(app, ["--database-url", db_url, "score", "110101199001011237"])
    assert result.exit_code == 2 and "no subject" in result.output
    number = world.persons[0][0]
    result = runner.invoke(
        app, ["--database-url", db_url, "score", number, "--as-of", "2020-01-01"]
    )
    assert result.exit_code == 2 and "2020-01-01" in result.output
    result = runner.invoke(app, ["--database-url", db_url, "score", number, "--as-of", "yesterday"])
    assert result.exit_code == 2
