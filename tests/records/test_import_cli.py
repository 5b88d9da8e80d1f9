"""The import command: exit codes, JSON summary, crash safety and flat memory."""

from __future__ import annotations

import gc
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from socialcredit.cli.app import app
from socialcredit.db.engine import session_scope
from socialcredit.db.models import ImportBatch, Record, Score
from socialcredit.records.ingest import import_feed
from socialcredit.records.providers import add_provider
from tests.conftest import People, register_people
from tests.records.conftest import TRAFFIC, row, write_csv

runner = CliRunner()


def feed_rows(people: People, n: int, *, bad_every: int = 0) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i in range(n):
        number, name = people.persons[i % 5]
        rows.append(
            row(
                provider_record_id=f"SH-{i:07d}",
                subject_id=number if not (bad_every and i % bad_every == 0) else "310101",
                subject_name=name,
                record_type="traffic.speeding",
                decision_ref=f"沪公交决字〔2026〕第{i:06d}号",
                decided_on="2026-03-01",
                amount_cny="200",
            )
        )
    return rows


def invoke(db_url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database-url", db_url, *args])
    return result.exit_code, result.stdout


def test_exit_codes_and_json(db_url: str, engine: Engine, pilot: People, tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv", feed_rows(pilot, 6), encoding="gb18030")
    code, out = invoke(db_url, "records", "import", str(good), "--provider", TRAFFIC, "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert {k: summary[k] for k in ("accepted", "duplicates", "rejected", "rejects_file")} == {
        "accepted": 6,
        "duplicates": 0,
        "rejected": 0,
        "rejects_file": None,
    }
    # The five subjects touched were queued with their records and rescored in process.
    assert (summary["rescored"], summary["rescore_queued"]) == (5, 0)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Score)) == 5
    code, out = invoke(db_url, "records", "import", str(good), "--provider", TRAFFIC, "--json")
    assert code == 0 and json.loads(out)["duplicates"] == 6

    mixed = write_csv(tmp_path / "mixed.csv", feed_rows(pilot, 4, bad_every=2)[:4])
    rejects = tmp_path / "rejects.jsonl"
    code, out = invoke(
        db_url,
        "records",
        "import",
        str(mixed),
        "--provider",
        TRAFFIC,
        "--rejects",
        str(rejects),
        "--json",
    )
    summary = json.loads(out)
    assert code == 1
    assert (summary["rejected"], summary["rejects_file"]) == (2, str(rejects))
    assert len(rejects.read_text("utf-8").splitlines()) == 2

    refused = write_csv(
        tmp_path / "refused.csv", feed_rows(pilot, 2), columns=["subject_id", "血型"]
    )
    code, _ = invoke(db_url, "records", "import", str(refused), "--provider", TRAFFIC)
    assert code == 2
    code, _ = invoke(db_url, "records", "import", str(tmp_path / "nope.csv"), "--provider", TRAFFIC)
    assert code == 2


def _import_cmd(db_url: str, feed: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "socialcredit",
        "--database-url",
        db_url,
        "records",
        "import",
        str(feed),
        "--provider",
        TRAFFIC,
        "--json",
    ]


def test_kill_mid_import_leaves_whole_chunks_and_rerun_completes(
    db_url: str, engine: Engine, pilot: People, tmp_path: Path
) -> None:
    n = 60_000
    feed = write_csv(tmp_path / "big.csv", feed_rows(pilot, n))
    proc = subprocess.Popen(_import_cmd(db_url, feed), stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        with session_scope(engine) as s:
            stored = int(s.scalar(select(func.count()).select_from(Record)) or 0)
        if stored > 0:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with session_scope(engine) as s:
        stored = int(s.scalar(select(func.count()).select_from(Record)) or 0)
        batch = s.scalars(select(ImportBatch)).one()
        # The counters commit with the rows: they agree, and no chunk is half there.
        assert batch.accepted == stored
        assert 0 < stored < n, "the kill must land mid-import for this test to mean anything"
        assert stored % 5000 == 0
        assert s.scalar(select(func.count()).where(Record.decision_ref.is_(None))) == 0
    rerun = subprocess.run(_import_cmd(db_url, feed), capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["accepted"] + summary["duplicates"] == n
    assert summary["duplicates"] == stored
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Record)) == n
        statuses = sorted(b.status for b in s.scalars(select(ImportBatch)))
    assert statuses == ["done", "interrupted"]


@pytest.mark.slow
def test_memory_stays_flat(
    sqlite_url: str, rng: random.Random, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RSS after 50k rows and after 250k rows of one import differ by little: rows stream.

    SQLite's page cache is a fixed ceiling that fills as the store grows; it is kept
    small here so that any growth measured is the importer's own.
    """
    import psutil

    from socialcredit.db.engine import ENV_SQLITE_CACHE_MB, make_engine
    from socialcredit.db.setup import init_store

    monkeypatch.setenv(ENV_SQLITE_CACHE_MB, "2")
    sqlite_engine = make_engine(sqlite_url)
    init_store(sqlite_engine)

    people = register_people(sqlite_engine, rng, n_persons=5, n_orgs=0)
    with session_scope(sqlite_engine) as s:
        add_provider(
            s,
            name=TRAFFIC,
            kind="traffic_police",
            region_code="31",
            record_types=["traffic.speeding"],
        )
    feed = write_csv(tmp_path / "f.csv", feed_rows(people, 250_000))
    gc.collect()
    proc = psutil.Process()
    readings: dict[int, float] = {}
    seen = 0

    def progress(n: int) -> None:
        nonlocal seen
        seen += n
        readings[seen] = proc.memory_info().rss / 2**20

    result = import_feed(sqlite_engine, feed, provider=TRAFFIC, on_progress=progress)
    assert result.accepted == 250_000
    growth = readings[250_000] - readings[50_000]
    assert growth < 25, readings
