"""POST /v1/records: file-import validation and idempotency, scope, rescoring, audit."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from socialcredit.db.models import ImportBatch, Record, RescoreQueue, Score, Subject
from tests.api.conftest import TELECOM, Pilot, assert_error, audit_rows, feed_row


def submit(
    client: TestClient, pilot: Pilot, rows: list[dict[str, Any]], key: str | None = None
) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else pilot.headers("provider")
    return client.post("/v1/records", headers=headers, json={"records": rows})


def count_records(pilot: Pilot) -> int:
    with pilot.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Record)) or 0)


def subject_id(pilot: Pilot, number: str) -> int:
    with pilot.engine.connect() as conn:
        sid = conn.scalar(select(Subject.id).where(Subject.code == number))
    assert sid is not None
    return int(sid)


def test_accepted_rows_are_stored_rescored_and_idempotent(client: TestClient, pilot: Pilot) -> None:
    number = pilot.shanghai[0]
    rows = [
        feed_row(provider_record_id="TP-1", subject_id=number),
        feed_row(
            provider_record_id="TP-2",
            subject_id=number,
            record_type="traffic.drunk_driving",
            decided_on="2026-10-01",
        ),
    ]
    first = submit(client, pilot, rows)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["accepted"] == 2 and body["duplicates"] == 0 and body["rejected"] == 0
    assert body["rescored"] == 1 and body["rescore_pending"] == 0
    sid = subject_id(pilot, number)
    # Rescored before the answer: a stored score exists and the queue is empty.
    with pilot.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Score).where(Score.subject_id == sid))
        assert conn.scalar(select(func.count()).select_from(RescoreQueue)) == 0
        source = conn.scalar(select(ImportBatch.source).where(ImportBatch.id == body["batch_id"]))
    assert source is not None and source.startswith("api-sc_prv_")
    score = client.get(f"/v1/subjects/{number}/score", headers=pilot.headers("caseworker"))
    assert score.json()["grade"] == "C"  # drunk driving caps the grade (policy)
    # The same batch again: all duplicates, nothing new.
    again = submit(client, pilot, rows).json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 2, 0)
    assert count_records(pilot) == 2


def test_rejects_carry_batch_line_field_and_code(client: TestClient, pilot: Pilot) -> None:
    rows = [
        feed_row(provider_record_id="R-1", subject_id=pilot.shanghai[0]),
        feed_row(provider_record_id="R-2", subject_id=pilot.shanghai[0], decided_on="2026-13-01"),
        feed_row(provider_record_id="R-3", subject_id=pilot.unregistered),
        feed_row(provider_record_id="R-4", subject_id="310104198807150410"),
        feed_row(provider_record_id="R-5", subject_id=pilot.shanghai[0], record_type="tax.arrears"),
        feed_row(provider_record_id="R-6", subject_id=pilot.shanghai[0], record_type="no.such"),
        feed_row(provider_record_id="R-7", subject_id=pilot.jiangsu[0], subject_name="别人"),
        feed_row(provider_record_id="R-8", subject_id=pilot.shanghai[0], amount_cny="12.345"),
    ]
    response = submit(client, pilot, rows)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 1 and body["rejected"] == 7
    got = [(r["line"], r["provider_record_id"], r["field"], r["code"]) for r in body["rejects"]]
    assert got == [
        (2, "R-2", "decided_on", "bad_date"),
        (3, "R-3", "subject_id", "unknown_subject"),
        (4, "R-4", "subject_id", "invalid_id"),
        (5, "R-5", "record_type", "out_of_scope"),
        (6, "R-6", "record_type", "unknown_record_type"),
        (7, "R-7", "subject_name", "name_mismatch"),
        (8, "R-8", "amount_cny", "bad_amount"),
    ]
    assert all(r["reason"] for r in body["rejects"])
    assert count_records(pilot) == 1


def test_values_arrive_as_text_like_a_file(client: TestClient, pilot: Pilot) -> None:
    row = feed_row(provider_record_id="N-1", subject_id=pilot.shanghai[0], amount_cny=200)
    row["record_type"] = "traffic.speeding"
    body = submit(client, pilot, [row]).json()
    assert body["accepted"] == 1
    with pilot.engine.connect() as conn:
        assert conn.scalar(select(Record.amount_fen)) == 20000


def test_correct_and_annul_through_the_api(client: TestClient, pilot: Pilot) -> None:
    number = pilot.shanghai[0]
    submit(client, pilot, [feed_row(provider_record_id="C-1", subject_id=number)])
    corrected = feed_row(
        provider_record_id="C-1", subject_id=number, decided_on="2026-11-02", action="correct"
    )
    assert submit(client, pilot, [corrected]).json()["accepted"] == 1
    annul = {"provider_record_id": "C-1", "action": "annul", "decision_ref": "撤销决定书"}
    assert submit(client, pilot, [annul]).json()["accepted"] == 1
    file = client.get(f"/v1/subjects/{number}", headers=pilot.headers("caseworker")).json()
    assert [(r["version"], r["status"]) for r in file["records"]] == [(2, "annulled")]


def test_a_batch_with_a_prohibited_or_unknown_field_is_refused_whole(
    client: TestClient, pilot: Pilot
) -> None:
    good = feed_row(provider_record_id="P-1", subject_id=pilot.shanghai[0])
    for extra in ({"religion": "none"}, {"blood_type": "A"}, {"favourite_colour": "red"}):
        response = submit(client, pilot, [good, {**good, "provider_record_id": "P-2", **extra}])
        assert_error(response, 422, "batch_refused")
        assert "file refused" in response.json()["error"]["message"]
        assert "api-" not in response.json()["error"]["message"]
    assert count_records(pilot) == 0
    refusals = audit_rows(pilot.engine, action="records.submit", outcome="batch_refused")
    assert len(refusals) == 3


def test_empty_or_shapeless_batches_are_422(client: TestClient, pilot: Pilot) -> None:
    headers = pilot.headers("provider")
    assert_error(
        client.post("/v1/records", headers=headers, json={"records": []}), 422, "validation_error"
    )
    assert_error(
        client.post("/v1/records", headers=headers, json=[feed_row()]), 422, "validation_error"
    )
    nested = {"records": [feed_row(decided_on={"y": 2026})]}
    response = client.post("/v1/records", headers=headers, json=nested)
    assert_error(response, 422, "validation_error")
    locs = [d["loc"] for d in response.json()["error"]["details"]]
    assert ["body", "records", 0, "decided_on", "str"] in locs or any(
        loc[:4] == ["body", "records", 0, "decided_on"] for loc in locs
    )


def test_a_key_narrowed_to_types_or_a_region(client: TestClient, pilot: Pilot) -> None:
    from tests.api.conftest import TRAFFIC

    narrow = pilot.key("provider", provider=TRAFFIC, scope={"record_types": ["traffic.speeding"]})
    rows = [
        feed_row(provider_record_id="K-1", subject_id=pilot.shanghai[0]),
        feed_row(
            provider_record_id="K-2", subject_id=pilot.shanghai[0], record_type="traffic.red_light"
        ),
    ]
    body = submit(client, pilot, rows, key=narrow).json()
    assert body["accepted"] == 1
    assert [(r["line"], r["code"]) for r in body["rejects"]] == [(2, "out_of_scope")]
    assert "key's scope" in body["rejects"][0]["reason"]

    shanghai_only = pilot.key("provider", provider=TRAFFIC, scope={"region": "310000"})
    rows = [
        feed_row(provider_record_id="G-1", subject_id=pilot.jiangsu[0]),
        feed_row(provider_record_id="G-2", subject_id=pilot.shanghai[0]),
        # By linked account: the telecom account belongs to the Jiangsu person.
        feed_row(provider_record_id="G-3", account_provider=TELECOM, account_id="13916000001"),
    ]
    body = submit(client, pilot, rows, key=shanghai_only).json()
    assert body["accepted"] == 1
    assert [(r["line"], r["field"], r["code"]) for r in body["rejects"]] == [
        (1, "subject_id", "out_of_region"),
        (3, "account_id", "out_of_region"),
    ]
    # Without a narrowed region the provider furnishes records about anyone: conduct in
    # its jurisdiction by a subject registered elsewhere (a ticket on a visiting driver).
    body = submit(
        client, pilot, [feed_row(provider_record_id="G-1", subject_id=pilot.jiangsu[0])]
    ).json()
    assert body["accepted"] == 1


def test_every_row_refused_before_import(client: TestClient, pilot: Pilot) -> None:
    from tests.api.conftest import TRAFFIC

    key = pilot.key("provider", provider=TRAFFIC, scope={"region": "31"})
    body = submit(client, pilot, [feed_row(subject_id=pilot.jiangsu[0])], key=key).json()
    assert body["batch_id"] is None and body["rejected"] == 1 and body["accepted"] == 0


def test_submissions_are_audited_per_subject(client: TestClient, pilot: Pilot) -> None:
    rows = [
        feed_row(provider_record_id="A-1", subject_id=pilot.shanghai[0]),
        feed_row(provider_record_id="A-2", subject_id=pilot.jiangsu[0]),
        feed_row(provider_record_id="A-3", subject_id=pilot.unregistered),
    ]
    body = submit(client, pilot, rows).json()
    prefix = pilot.keys["provider"][:15]
    submits = audit_rows(pilot.engine, action="records.submit")
    assert [r.outcome for r in submits] == ["received", "partial"]
    assert all(r.actor == prefix and r.role == "provider" for r in submits)
    writes = audit_rows(pilot.engine, action="records.write")
    assert {r.subject_id for r in writes} == {
        subject_id(pilot, pilot.shanghai[0]),
        subject_id(pilot, pilot.jiangsu[0]),
    }
    assert all(str(body["batch_id"]) in r.detail for r in writes)


def test_a_batch_larger_than_one_import_chunk(client: TestClient, pilot: Pilot) -> None:
    rows = [
        feed_row(
            provider_record_id=f"BIG-{i}",
            subject_id=(pilot.shanghai, pilot.jiangsu)[i % 2][0],
            decided_on=f"2026-{1 + i % 10:02d}-{1 + i % 28:02d}",
        )
        for i in range(5_200)
    ]
    rows[5_100]["decided_on"] = "not a date"
    body = submit(client, pilot, rows).json()
    assert (body["accepted"], body["rejected"], body["rescored"]) == (5_199, 1, 2)
    assert [(r["line"], r["code"]) for r in body["rejects"]] == [(5_101, "bad_date")]
    assert count_records(pilot) == 5_199
