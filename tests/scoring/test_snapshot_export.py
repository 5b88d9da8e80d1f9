"""The store exported as a partitioned snapshot, and snapshots refused before scoring."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from socialcredit.cli.app import app
from socialcredit.db.engine import session_scope
from socialcredit.db.models import Record, Score, Subject
from socialcredit.records.ingest import import_feed
from socialcredit.records.providers import add_provider
from socialcredit.scoring import snapshot as snapshot_module
from socialcredit.scoring.snapshot import SnapshotError, check_snapshot, export_snapshot
from socialcredit.scoring.snapshot_schema import TABLES
from tests.conftest import register_people
from tests.records.conftest import row, write_csv

runner = CliRunner()
TYPES = ["tax.late_filing", "tax.arrears", "tax.evasion", "commendation.tax_a_grade"]
PROVIDER = "国家税务总局上海市税务局"


def _fill(engine: Engine, rng: random.Random, tmp_path: Path, n_records: int = 120) -> None:
    people = register_people(engine, rng, n_persons=25, n_orgs=5)
    with session_scope(engine) as s:
        add_provider(s, name=PROVIDER, kind="tax_bureau", region_code="31", record_types=TYPES)
    today = dt.date.today()
    rows = []
    for i in range(n_records):
        number, _ = (people.persons + people.orgs)[rng.randrange(30)]
        rows.append(
            row(
                provider_record_id=f"TAX-{i:05d}",
                subject_id=number,
                record_type=rng.choice(TYPES),
                decided_on=(today - dt.timedelta(days=rng.randrange(400))).isoformat(),
                amount_cny=str(rng.choice([0, 800, 12_000])),
            )
        )
    # Annul a few: status events to export too.
    rows += [
        row(provider_record_id=f"TAX-{i:05d}", action="annul", subject_id=r["subject_id"])
        for i, r in enumerate(rows[:5])
    ]
    import_feed(engine, write_csv(tmp_path / "tax.csv", rows), provider=PROVIDER)


def _read(snapshot: Path, table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for f in sorted((snapshot / table).rglob("*.parquet")):
        part = f.parent.name
        rows += ({"_partition": part} | r for r in pq.read_table(f).to_pylist())
    return rows


def test_export_partitions_every_table_by_the_subjects_province(
    engine: Engine, rng: random.Random, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(engine, rng, tmp_path)
    # Small batches, row groups and files: the paths a big store takes.
    monkeypatch.setattr(snapshot_module, "_BATCH", 7)
    monkeypatch.setattr(snapshot_module, "_ROW_GROUP", 5)
    monkeypatch.setattr(snapshot_module, "_FILE_ROWS", 20)
    out = tmp_path / "snap"
    counts = export_snapshot(engine, out)

    with session_scope(engine) as s:
        province = {x.id: x.province_code for x in s.scalars(select(Subject))}
        records = {x.id: x.subject_id for x in s.scalars(select(Record))}
    assert counts["subjects"] == len(province) == 30
    assert counts["records"] == len(records) >= 120
    assert counts["status_events"] >= 5
    subjects = _read(out, "subjects")
    assert sorted(r["subject_id"] for r in subjects) == sorted(province)
    for r in subjects:
        assert r["_partition"] == f"province={province[r['subject_id']]}"
    exported = _read(out, "records")
    assert sorted(r["record_id"] for r in exported) == sorted(records)
    for r in exported:
        assert r["_partition"] == f"province={province[r['subject_id']]}"
    for e in _read(out, "status_events"):
        assert e["_partition"] == f"province={province[records[e['record_id']]]}"
    # Rolled into several files, each with row groups of at most the buffer's size.
    files = list((out / "records").rglob("*.parquet"))
    assert len(files) > len({p for p in province.values()})
    assert max(pq.ParquetFile(f).metadata.num_row_groups for f in files) > 1
    for f in files:
        assert pq.read_schema(f).equals(TABLES["records"])
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["partitioned_by"] == "province"
    assert {t: manifest["tables"][t]["rows"] for t in TABLES} == counts
    assert check_snapshot(out) == counts
    assert not (tmp_path / "snap.partial").exists()


@pytest.fixture
def exported(engine: Engine, rng: random.Random, tmp_path: Path) -> Path:
    _fill(engine, rng, tmp_path, n_records=60)
    out = tmp_path / "snap"
    export_snapshot(engine, out)
    return out


def _a_partition(snapshot: Path, table: str) -> Path:
    return sorted(p for p in (snapshot / table).iterdir() if p.is_dir())[0]


def _breakages() -> dict[str, Any]:
    def drop_partition(snap: Path) -> str:
        part = _a_partition(snap, "records")
        for f in part.iterdir():
            f.unlink()
        part.rmdir()
        return f"partition {part.name} is missing"

    def drop_file(snap: Path) -> str:
        f = sorted(_a_partition(snap, "subjects").glob("*.parquet"))[0]
        f.unlink()
        return f"{f.name} is missing"

    def retype(snap: Path) -> str:
        f = sorted(_a_partition(snap, "records").glob("*.parquet"))[0]
        table = pq.read_table(f)
        i = table.schema.get_field_index("amount_fen")
        text = pa.array([str(v) for v in table.column(i).to_pylist()], pa.string())
        pq.write_table(table.set_column(i, "amount_fen", text), f)
        return "column 'amount_fen' is string, expected int64"

    def drop_column(snap: Path) -> str:
        f = sorted(_a_partition(snap, "status_events").glob("*.parquet"))[0]
        pq.write_table(pq.read_table(f).drop_columns(["recorded_at"]), f)
        return "column 'recorded_at' is missing"

    def extra_partition(snap: Path) -> str:
        src = sorted(_a_partition(snap, "records").glob("*.parquet"))[0]
        (snap / "records" / "province=99").mkdir()
        (snap / "records" / "province=99" / "x.parquet").write_bytes(src.read_bytes())
        return "partitions not in the manifest: province=99"

    def drop_table(snap: Path) -> str:
        for f in (snap / "professions").rglob("*"):
            if f.is_file():
                f.unlink()
        for d in sorted((snap / "professions").rglob("*"), reverse=True):
            d.rmdir()
        (snap / "professions").rmdir()
        return "table 'professions' is missing"

    return {
        "missing partition": drop_partition,
        "missing file": drop_file,
        "column of another type": retype,
        "missing column": drop_column,
        "unlisted partition": extra_partition,
        "missing table": drop_table,
    }


@pytest.mark.parametrize("case", list(_breakages()))
def test_a_broken_snapshot_is_refused_with_the_reason(exported: Path, case: str) -> None:
    check_snapshot(exported)
    expected = _breakages()[case](exported)
    with pytest.raises(SnapshotError, match=expected.replace("(", r"\(")):
        check_snapshot(exported)


def test_cli_export_check_and_rescore_refuse_a_broken_snapshot(
    db_url: str, engine: Engine, rng: random.Random, tmp_path: Path
) -> None:
    _fill(engine, rng, tmp_path, n_records=40)
    out = tmp_path / "lake" / "snap"
    result = runner.invoke(
        app, ["--database-url", db_url, "snapshot", "export", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"]["subjects"] == 30
    checked = runner.invoke(app, ["snapshot", "check", str(out), "--json"])
    assert checked.exit_code == 0 and json.loads(checked.stdout)["ok"] is True

    # The exported snapshot scores like the store itself.
    scored = runner.invoke(
        app,
        [
            "--database-url",
            db_url,
            "rescore",
            "--engine",
            "duckdb",
            "--snapshot",
            str(out),
            "--json",
        ],
    )
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.stdout)["subjects"] == 30

    expected = _breakages()["missing partition"](out)
    with session_scope(engine) as s:
        before = len(list(s.scalars(select(Score))))
    for args in (
        ["snapshot", "check", str(out)],
        ["--database-url", db_url, "rescore", "--engine", "duckdb", "--snapshot", str(out)],
    ):
        refused = runner.invoke(app, args)
        assert refused.exit_code == 2, refused.output
        assert expected in " ".join(refused.output.split())
    with session_scope(engine) as s:
        assert len(list(s.scalars(select(Score)))) == before, "nothing scored"


def test_export_will_not_replace_a_folder_that_is_not_a_snapshot(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "thesis.txt").write_text("keep me", encoding="utf-8")
    result = runner.invoke(app, ["--database-url", db_url, "snapshot", "export", str(folder)])
    assert result.exit_code == 2
    assert (folder / "thesis.txt").read_text("utf-8") == "keep me"
