"""Feed ingestion: formats, encodings, validation, idempotency, annulments and corrections."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from socialcredit.db.engine import session_scope
from socialcredit.db.models import ImportBatch, Record, RecordStatusEvent
from socialcredit.records.ingest import FeedRefusedError, import_feed
from tests.conftest import People
from tests.records.conftest import (
    TELECOM,
    TRAFFIC,
    row,
    write_csv,
    write_jsonl,
    write_parquet,
)

TODAY = dt.date(2026, 11, 27)


def good_rows(people: People, n: int = 4) -> list[dict[str, object]]:
    out = []
    for i in range(n):
        number, name = people.persons[i % 5]
        out.append(
            row(
                provider_record_id=f"沪交-2026-{i:05d}",
                subject_id=number,
                subject_name=name,
                record_type="traffic.speeding" if i % 2 else "traffic.red_light",
                decision_ref=f"沪公交决字〔2026〕第{10000 + i}号",
                decided_on="2026-06-0" + str(1 + i % 9),
                conduct_ended_on="2026-05-30",
                amount_cny="200.00" if i % 2 else "",
            )
        )
    return out


def count_records(engine: Engine) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Record)) or 0)


def read_rejects(path: Path) -> list[dict[str, str]]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings_are_detected(
    engine: Engine, pilot: People, tmp_path: Path, encoding: str
) -> None:
    feed = write_csv(tmp_path / "feed.csv", good_rows(pilot), encoding=encoding)
    if encoding == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            feed.read_bytes().decode("utf-8")
    result = import_feed(engine, feed, provider=TRAFFIC, today=TODAY)
    assert (result.accepted, result.rejected) == (4, 0)
    with session_scope(engine) as s:
        refs = set(s.scalars(select(Record.decision_ref)))
    assert "沪公交决字〔2026〕第10001号" in refs


def test_explicit_encoding_overrides_detection(
    engine: Engine, pilot: People, tmp_path: Path
) -> None:
    feed = write_csv(tmp_path / "feed.csv", good_rows(pilot), encoding="gb18030")
    result = import_feed(engine, feed, provider=TRAFFIC, encoding="gb18030", today=TODAY)
    assert result.accepted == 4 and result.encoding == "gb18030"


@pytest.mark.parametrize("writer", [write_csv, write_jsonl, write_parquet])
def test_all_formats_give_the_same_result(
    engine: Engine, pilot: People, tmp_path: Path, writer: object
) -> None:
    rows = [*good_rows(pilot), row(provider_record_id="bad-1", subject_id="310101", decided_on="x")]
    suffix = {write_csv: "csv", write_jsonl: "jsonl", write_parquet: "parquet"}[writer]  # type: ignore[index]
    feed = writer(tmp_path / f"feed.{suffix}", rows)  # type: ignore[operator]
    result = import_feed(
        engine, feed, provider=TRAFFIC, today=TODAY, rejects_path=tmp_path / "r.jsonl"
    )
    assert (result.accepted, result.duplicates, result.rejected) == (4, 0, 1)
    (reject,) = read_rejects(tmp_path / "r.jsonl")
    assert reject["field"] == "decided_on" and reject["line"] == (6 if suffix == "csv" else 5)


def test_reimport_is_idempotent_and_conflicts_are_rejected(
    engine: Engine, pilot: People, tmp_path: Path
) -> None:
    rows = good_rows(pilot)
    feed = write_csv(tmp_path / "feed.csv", rows)
    first = import_feed(engine, feed, provider=TRAFFIC, today=TODAY)
    again = import_feed(engine, feed, provider=TRAFFIC, today=TODAY)
    assert (first.accepted, again.accepted, again.duplicates) == (4, 0, 4)
    assert count_records(engine) == 4
    changed = dict(rows[0], amount_cny="999")
    conflict = write_csv(tmp_path / "conflict.csv", [changed])
    result = import_feed(
        engine, conflict, provider=TRAFFIC, today=TODAY, rejects_path=tmp_path / "rej.csv"
    )
    assert result.rejected == 1
    (reject,) = read_rejects(tmp_path / "rej.csv")
    assert reject["code"] == "conflict" and reject["line"] == "2"
    assert reject["provider_record_id"] == rows[0]["provider_record_id"]
    assert count_records(engine) == 4


def test_same_id_twice_in_one_file(engine: Engine, pilot: People, tmp_path: Path) -> None:
    rows = good_rows(pilot, 2)
    feed = write_csv(tmp_path / "feed.csv", [rows[0], rows[0], dict(rows[0], amount_cny="1")])
    result = import_feed(engine, feed, provider=TRAFFIC, today=TODAY)
    assert (result.accepted, result.duplicates, result.rejected) == (1, 1, 1)


@pytest.mark.parametrize(
    ("column", "writer"),
    [
        ("ethnicity", write_csv),
        ("民族", write_csv),
        ("blood_type", write_csv),
        ("religion", write_jsonl),
        ("fingerprint_hash", write_parquet),
        ("health_condition", write_jsonl),
    ],
)
def test_prohibited_columns_refuse_the_whole_file(
    engine: Engine, pilot: People, tmp_path: Path, column: str, writer: object
) -> None:
    rows = good_rows(pilot)
    # In JSON Lines the prohibited key hides in the last object: still refused whole.
    rows[-1] = dict(rows[-1], **{column: "x"})
    if writer is write_csv:
        from socialcredit.records.ingest.columns import FEED_COLUMNS

        feed = write_csv(tmp_path / "f.csv", rows, columns=[*FEED_COLUMNS, column])
    elif writer is write_jsonl:
        feed = write_jsonl(tmp_path / "f.jsonl", rows)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({k: [str(r.get(k, "")) for r in rows] for k in rows[-1]})
        feed = tmp_path / "f.parquet"
        pq.write_table(table, feed)
    with pytest.raises(FeedRefusedError, match="prohibited column"):
        import_feed(engine, feed, provider=TRAFFIC, today=TODAY)
    assert count_records(engine) == 0


def test_missing_and_unknown_columns_refuse_the_file(
    engine: Engine, pilot: People, tmp_path: Path
) -> None:
    feed = write_csv(
        tmp_path / "f.csv", good_rows(pilot), columns=["provider_record_id", "subject_id"]
    )
    with pytest.raises(FeedRefusedError, match="missing required column"):
        import_feed(engine, feed, provider=TRAFFIC, today=TODAY)
    cols = ["provider_record_id", "subject_id", "record_type", "decided_on", "home_address"]
    feed = write_csv(tmp_path / "g.csv", good_rows(pilot), columns=cols)
    with pytest.raises(FeedRefusedError, match="outside the published feed format"):
        import_feed(engine, feed, provider=TRAFFIC, today=TODAY)
    assert count_records(engine) == 0


def test_every_bad_row_is_named(engine: Engine, pilot: People, tmp_path: Path) -> None:
    number, name = pilot.persons[0]
    birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    bad_check = number[:-1] + ("0" if number[-1] != "0" else "1")
    org_code, org_name = pilot.orgs[0]
    cases = {
        "invalid_id": row(
            subject_id=bad_check, record_type="traffic.speeding", decided_on="2026-01-02"
        ),
        "unknown_subject": row(
            subject_id="110101199001011237", record_type="traffic.speeding", decided_on="2026-01-02"
        ),
        "future_date": row(
            subject_id=number, record_type="traffic.speeding", decided_on="2027-01-01"
        ),
        "before_birth": row(
            subject_id=number,
            record_type="traffic.speeding",
            decided_on="2026-01-02",
            conduct_ended_on=(birth - dt.timedelta(days=1)).isoformat(),
        ),
        "bad_date": row(subject_id=number, record_type="traffic.speeding", decided_on="2026-02-30"),
        "unknown_record_type": row(
            subject_id=number, record_type="traffic.jaywalk", decided_on="2026-01-02"
        ),
        "out_of_scope": row(subject_id=number, record_type="tax.arrears", decided_on="2026-01-02"),
        "negative_amount": row(
            subject_id=number,
            record_type="traffic.speeding",
            decided_on="2026-01-02",
            amount_cny="-5",
        ),
        "name_only": row(
            subject_name=name, record_type="traffic.speeding", decided_on="2026-01-02"
        ),
        "name_mismatch": row(
            subject_id=org_code,
            subject_name=org_name + "分公司",
            record_type="traffic.speeding",
            decided_on="2026-01-02",
        ),
        "account_not_linked": row(
            account_provider=TELECOM,
            account_id="13900000000",
            record_type="traffic.speeding",
            decided_on="2026-01-02",
        ),
        "bad_action": row(
            subject_id=number,
            record_type="traffic.speeding",
            decided_on="2026-01-02",
            action="delete",
        ),
        "unknown_target": row(action="annul", decision_ref="沪公交撤字〔2026〕1号"),
    }
    rows = [dict(r, provider_record_id=f"R{i}") for i, r in enumerate(cases.values())]
    rows.append(
        row(
            provider_record_id="OK",
            subject_id=number,
            record_type="traffic.speeding",
            decided_on="2026-01-02",
        )
    )
    feed = write_csv(tmp_path / "f.csv", rows, encoding="gb18030")
    rejects = tmp_path / "rejects.csv"
    result = import_feed(engine, feed, provider=TRAFFIC, today=TODAY, rejects_path=rejects)
    assert (result.accepted, result.rejected) == (1, len(cases))
    got = {r["code"]: r for r in read_rejects(rejects)}
    assert set(got) == set(cases)
    for i, code in enumerate(cases):
        assert got[code]["line"] == str(i + 2), code
        assert got[code]["file"] == "f.csv"
        assert got[code]["reason"]
    assert got["future_date"]["field"] == "decided_on"
    assert got["before_birth"]["field"] == "conduct_ended_on"
    assert got["negative_amount"]["field"] == "amount_cny"
    assert got["name_mismatch"]["field"] == "subject_name"
    assert number not in got["invalid_id"]["reason"]  # masked, never the full number


def test_subject_by_linked_account(engine: Engine, pilot: People, tmp_path: Path) -> None:
    feed = write_jsonl(
        tmp_path / "f.jsonl",
        [
            row(
                provider_record_id="ACC-1",
                account_provider=TELECOM,
                account_id="13916000001",
                record_type="traffic.speeding",
                decided_on="2026-03-01",
            )
        ],
    )
    result = import_feed(engine, feed, provider=TRAFFIC, today=TODAY)
    assert result.accepted == 1
    with session_scope(engine) as s:
        rec = s.scalars(select(Record)).one()
        from socialcredit.db.models import Subject

        subject = s.get(Subject, rec.subject_id)
        assert subject is not None and subject.code == pilot.persons[5][0]


def test_annul_and_correct_are_stored_with_history(
    engine: Engine, pilot: People, tmp_path: Path
) -> None:
    rows = good_rows(pilot, 3)
    import_feed(engine, write_csv(tmp_path / "a.csv", rows), provider=TRAFFIC, today=TODAY)
    changes = [
        row(
            provider_record_id=rows[0]["provider_record_id"],
            action="annul",
            decision_ref="复议撤销",
        ),
        dict(rows[1], amount_cny="50", action="correct"),
    ]
    feed = write_csv(tmp_path / "b.csv", changes)
    first = import_feed(engine, feed, provider=TRAFFIC, today=TODAY)
    again = import_feed(engine, feed, provider=TRAFFIC, today=TODAY)
    assert (first.accepted, again.accepted, again.duplicates) == (2, 0, 2)
    # The original file re-imported after the correction is still a duplicate, not a conflict.
    original = import_feed(engine, tmp_path / "a.csv", provider=TRAFFIC, today=TODAY)
    assert (original.duplicates, original.rejected) == (3, 0)
    with session_scope(engine) as s:
        recs = {(r.provider_record_id, r.version): r.status for r in s.scalars(select(Record))}
        events = [(e.status, e.source) for e in s.scalars(select(RecordStatusEvent))]
    assert recs[(rows[0]["provider_record_id"], 1)] == "annulled"
    assert recs[(rows[1]["provider_record_id"], 1)] == "corrected"
    assert recs[(rows[1]["provider_record_id"], 2)] == "active"
    assert sorted(events) == [("annulled", "feed"), ("corrected", "feed")]


def test_batches_are_counted(engine: Engine, pilot: People, tmp_path: Path) -> None:
    rows = [*good_rows(pilot), row(provider_record_id="x", subject_id="1", decided_on="2026-01-01")]
    import_feed(
        engine, write_csv(tmp_path / "f.csv", rows), provider=TRAFFIC, today=TODAY, chunk_size=2
    )
    with session_scope(engine) as s:
        batch = s.scalars(select(ImportBatch)).one()
        assert (batch.status, batch.accepted, batch.rejected) == ("done", 4, 1)
        assert json.loads(batch.reject_summary) == {"missing_value": 1}


def test_unknown_provider_refuses(engine: Engine, pilot: People, tmp_path: Path) -> None:
    feed = write_csv(tmp_path / "f.csv", good_rows(pilot))
    with pytest.raises(FeedRefusedError, match="unknown provider"):
        import_feed(engine, feed, provider="不存在的机关", today=TODAY)


def test_changes_to_records_of_the_same_chunk(
    engine: Engine, pilot: People, tmp_path: Path
) -> None:
    a, b = good_rows(pilot, 2)
    rows = [
        a,
        b,
        dict(a, amount_cny="80", action="correct"),
        row(provider_record_id=b["provider_record_id"], action="annul"),
    ]
    result = import_feed(engine, write_csv(tmp_path / "f.csv", rows), provider=TRAFFIC, today=TODAY)
    assert (result.accepted, result.rejected) == (4, 0)
    with session_scope(engine) as s:
        statuses = {(r.provider_record_id, r.version): r.status for r in s.scalars(select(Record))}
    assert statuses == {
        (a["provider_record_id"], 1): "corrected",
        (a["provider_record_id"], 2): "active",
        (b["provider_record_id"], 1): "annulled",
    }
