"""The bulk snapshot generator: layout, schemas, determinism, and that executors can score it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from socialcredit.policy import load_policies, select_policy
from socialcredit.scoring.executors import get_executor
from socialcredit.scoring.snapshot_schema import TABLES
from socialcredit.synth.bulk import generate_snapshot, read_manifest

AS_OF = dt.date(2027, 3, 31)
PROVINCES = {"31", "32", "33", "34"}


def read(snapshot: Path, table: str) -> pa.Table:
    """A table read file by file (no partition inference), in id order."""
    files = sorted((snapshot / table).rglob("*.parquet"))
    parts = [pq.read_table(f) for f in files]
    whole = pa.concat_tables(parts) if parts else TABLES[table].empty_table()
    key = {"subjects": "subject_id", "records": "record_id", "status_events": "event_id"}
    return whole.sort_by(key.get(table, "subject_id"))


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bulk") / "snap"
    counts = generate_snapshot(out, subjects=300, seed=5, as_of=AS_OF)
    assert counts["subjects"] == 300
    return out


def test_every_file_has_the_snapshot_schema(snapshot: Path) -> None:
    for table, schema in TABLES.items():
        files = list((snapshot / table).rglob("*.parquet"))
        assert files, table
        for f in files:
            assert pq.read_schema(f).remove_metadata().equals(schema), f


def test_partitioned_by_the_subjects_province(snapshot: Path) -> None:
    subjects = read(snapshot, "subjects").to_pylist()
    province_of = {s["subject_id"]: s["province_code"] for s in subjects}
    assert set(province_of.values()) <= PROVINCES
    records = {}
    for table, key in (("subjects", "subject_id"), ("records", "subject_id")):
        for f in (snapshot / table).rglob("*.parquet"):
            folder = f.parent.name
            assert folder.startswith("province=") and folder[9:] in PROVINCES
            for row in pq.read_table(f).to_pylist():
                assert province_of[row[key]] == folder[9:]
                if table == "records":
                    records[row["record_id"]] = folder[9:]
    for f in (snapshot / "status_events").rglob("*.parquet"):
        for row in pq.read_table(f).to_pylist():
            assert records[row["record_id"]] == f.parent.name[9:]


def test_ids_are_dense_and_records_ordered_by_subject(snapshot: Path) -> None:
    subjects = read(snapshot, "subjects").column("subject_id").to_pylist()
    assert subjects == list(range(300))
    records = read(snapshot, "records")
    assert records.column("record_id").to_pylist() == list(range(records.num_rows))
    owners = records.column("subject_id").to_pylist()
    assert owners == sorted(owners)
    events = read(snapshot, "status_events").column("event_id").to_pylist()
    assert events == list(range(len(events)))


def test_records_look_like_the_pilot(snapshot: Path) -> None:
    records = read(snapshot, "records").to_pylist()
    window = AS_OF.replace(year=AS_OF.year - 4)
    assert all(window <= r["decided_on"] <= AS_OF for r in records)
    assert all(r["recorded_at"].date() >= r["decided_on"] for r in records)
    traffic = sum(r["record_type"].startswith("traffic.") for r in records)
    assert traffic > len(records) / 3  # traffic dominates real feeds
    amounts = [r for r in records if r["amount_fen"] is not None]
    assert amounts and all(
        r["record_type"].split(".")[0] in {"tax", "debt", "court", "finance", "fraud", "medical"}
        for r in amounts
    )
    # A correction is version 2 under the provider's reference of version 1.
    refs = {(r["provider_id"], r["provider_record_id"]) for r in records if r["version"] == 1}
    assert all(
        (r["provider_id"], r["provider_record_id"]) in refs for r in records if r["version"] == 2
    )


def test_same_seed_same_files_other_seed_other_data(snapshot: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_snapshot(again, subjects=300, seed=5, as_of=AS_OF)
    for table in TABLES:
        assert read(again, table).equals(read(snapshot, table)), table
    other = tmp_path / "other"
    generate_snapshot(other, subjects=300, seed=6, as_of=AS_OF)
    assert not read(other, "records").equals(read(snapshot, "records"))
    manifest = read_manifest(again)
    assert manifest is not None and manifest["seed"] == 5 and manifest["subjects"] == 300


@pytest.mark.parametrize("mean", [2.0, 10.0])
def test_records_per_subject_roughly_as_asked(tmp_path: Path, mean: float) -> None:
    counts = generate_snapshot(
        tmp_path / "s", subjects=3000, records_per_subject=mean, seed=1, as_of=AS_OF
    )
    assert 0.8 * mean <= counts["records"] / counts["subjects"] <= 1.2 * mean
    # About 1% of records change status, about 3% of persons hold a profession.
    assert 0 < counts["status_events"] < 0.03 * counts["records"]
    assert 0.015 * 3000 < counts["professions"] < 0.045 * 3000


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        generate_snapshot(tmp_path / "mine", subjects=10, seed=0, as_of=AS_OF)
    assert (tmp_path / "mine" / "notes.txt").exists()


def test_the_python_executor_grades_every_subject(snapshot: Path, tmp_path: Path) -> None:
    policies = load_policies()
    out = tmp_path / "scores.parquet"
    n = get_executor("python").score(snapshot, out, as_of=AS_OF, policies=policies)
    assert n == 300
    rows = pq.read_table(out).to_pylist()
    subjects = {s["subject_id"]: s["province_code"] for s in read(snapshot, "subjects").to_pylist()}
    assert {r["subject_id"] for r in rows} == set(subjects)
    for r in rows:
        policy = select_policy(policies, subjects[r["subject_id"]], AS_OF)
        assert r["grade"] in {g.grade for g in policy.grades}
        assert r["policy_id"] == policy.id
