"""The report and certificate routes: who may read what, audit before answer, existence never
revealed, and certificates that verify offline against the published key and online by code."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from socialcredit.db.models import Certificate, Subject
from socialcredit.identity.ids import mask
from socialcredit.reports import parse_public_key, verify_file
from tests.api.conftest import (
    Pilot,
    assert_error,
    audit_rows,
    break_audit_log,
    client,
    feed_row,
    make_client,
    pilot,
    repair_audit_log,
)

__all__ = ["client", "pilot"]  # fixtures shared with the API tests

# Relative to the real today: the routes answer as of today.
DECIDED = (dt.date.today() - dt.timedelta(days=5)).isoformat()


def _sid(pilot: Pilot, number: str) -> int:
    with pilot.engine.connect() as conn:
        return int(conn.scalar(select(Subject.id).where(Subject.code == number)) or 0)


def _submit(client: TestClient, pilot: Pilot, **row: Any) -> None:
    response = client.post(
        "/v1/records",
        headers=pilot.headers("provider"),
        json={"records": [feed_row(decided_on=DECIDED, subject_id=pilot.shanghai[0], **row)]},
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.text


def _certificates(pilot: Pilot) -> int:
    with pilot.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Certificate)) or 0)


def test_the_report_for_each_reader_masked_and_audited_first(
    client: TestClient, pilot: Pilot
) -> None:
    number, name = pilot.shanghai
    _submit(client, pilot, provider_record_id="TP-1")
    for role in ("caseworker", "regulator", "subject"):
        before = len(audit_rows(pilot.engine, action="reports.read"))
        response = client.get(f"/v1/subjects/{number}/report", headers=pilot.headers(role))
        assert response.status_code == 200, response.text
        # The answer has arrived: its entry is already committed.
        rows = audit_rows(pilot.engine, action="reports.read")
        assert len(rows) == before + 1
        assert rows[-1].outcome == "ok" and rows[-1].subject_id == _sid(pilot, number)
        assert rows[-1].role == role
        body = response.json()
        assert body["identity"] == {
            "kind": "person",
            "id": mask(number),
            "name": name,
            "province": "上海市",
            "city": "上海市",
            "registered_on": body["identity"]["registered_on"],
            "legal_representative": None,
        }
        # Never the full number, to any role, nor the birth date it encodes.
        assert number not in response.text and number[6:14] not in response.text
        (record,) = body["records"]
        assert record["provider_record_id"] == "TP-1" and record["disputed"] is False
        assert body["fee_cny"] == "0"
    # Each read is in the next report's access history.
    later = client.get(f"/v1/subjects/{number}/report", headers=pilot.headers("subject")).json()
    assert [a["role"] for a in later["accesses"] if a["action"] == "reports.read"] == [
        "subject",
        "regulator",
        "caseworker",
    ]


def test_as_of_and_bad_dates(client: TestClient, pilot: Pilot) -> None:
    path = f"/v1/subjects/{pilot.shanghai[0]}/report"
    headers = pilot.headers("caseworker")
    old = client.get(path, params={"as_of": "2026-05-01"}, headers=headers).json()
    assert old["as_of"] == "2026-05-01"
    # Before any policy or catalogue: no score, no measures, still a report.
    far = client.get(path, params={"as_of": "1900-01-01"}, headers=headers).json()
    assert far["score"] is None and far["measures"] == [] and far["records"] == []
    assert far["policies"] == {
        "score_policy": None,
        "lineage": [],
        "record_catalogue": "2026.1",
        "measures_catalogue": None,
    }
    assert client.get(path, params={"as_of": "2999-12-31"}, headers=headers).status_code == 200
    assert_error(
        client.get(path, params={"as_of": "1066-10-14"}, headers=headers), 422, "invalid_date"
    )
    assert_error(
        client.get(path, params={"as_of": "yesterday"}, headers=headers), 422, "validation_error"
    )


def test_a_subject_reads_only_its_own_report_and_learns_nothing_else(
    client: TestClient, pilot: Pilot
) -> None:
    headers = pilot.headers("subject")
    answers = []
    for other in (pilot.jiangsu[0], pilot.unregistered, "310104198807150410", pilot.org[0]):
        for method, path in (
            ("GET", f"/v1/subjects/{other}/report"),
            ("GET", f"/v1/subjects/{other}/report.html"),
            ("POST", f"/v1/subjects/{other}/certificates"),
        ):
            response = client.request(method, path, headers=headers, json={"kind": "credit_report"})
            assert_error(response, 403, "out_of_scope")
            answers.append(response.json())
    assert all(a == answers[0] for a in answers)
    assert _certificates(pilot) == 0
    # Refusals are on record too, without naming anyone registered.
    refusals = audit_rows(pilot.engine, outcome="out_of_scope")
    assert len(refusals) == len(answers) and all(r.subject_id is None for r in refusals)


def test_roles_that_may_not_read_learn_nothing_either(client: TestClient, pilot: Pilot) -> None:
    for role in ("provider", "relying_party", "admin", "account_provider"):
        registered = client.get(
            f"/v1/subjects/{pilot.jiangsu[0]}/report", headers=pilot.headers(role)
        )
        unknown = client.get(
            f"/v1/subjects/{pilot.unregistered}/report", headers=pilot.headers(role)
        )
        assert registered.status_code == unknown.status_code == 403
        assert registered.json() == unknown.json()
    for role in ("caseworker", "regulator"):
        response = client.post(
            f"/v1/subjects/{pilot.shanghai[0]}/certificates",
            headers=pilot.headers(role),
            json={"kind": "credit_report"},
        )
        assert_error(response, 403, "forbidden_role")


def test_unknown_and_malformed_ids_for_a_caseworker(client: TestClient, pilot: Pilot) -> None:
    headers = pilot.headers("caseworker")
    assert_error(
        client.get(f"/v1/subjects/{pilot.unregistered}/report", headers=headers),
        404,
        "unknown_subject",
    )
    assert_error(
        client.get("/v1/subjects/310104198807150410/report", headers=headers), 422, "malformed_id"
    )
    assert [r.outcome for r in audit_rows(pilot.engine, action="reports.read")] == [
        "unknown_subject",
        "malformed_id",
    ]


def test_the_printable_page(client: TestClient, pilot: Pilot) -> None:
    number, name = pilot.shanghai
    _submit(client, pilot, provider_record_id="TP-2", decision_ref="<b>沪公交决字〔2026〕第2号</b>")
    response = client.get(f"/v1/subjects/{number}/report.html", headers=pilot.headers("subject"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert name in page and mask(number) in page and number not in page
    assert "&lt;b&gt;沪公交决字〔2026〕第2号&lt;/b&gt;" in page and "<b>沪" not in page
    assert "信用记录" in page and "Records" in page
    (row,) = audit_rows(pilot.engine, action="reports.read")
    assert row.outcome == "ok" and '"format":"html"' in row.detail
    as_json = client.get(
        f"/v1/subjects/{number}/report.html",
        headers={**pilot.headers("subject"), "Accept": "application/json"},
    )
    assert as_json.json()["identity"]["name"] == name


@pytest.mark.parametrize("form", ["json", "html"])
def test_a_certificate_verifies_offline_and_online(
    client: TestClient, pilot: Pilot, form: str
) -> None:
    number = pilot.shanghai[0]
    _submit(client, pilot, provider_record_id="TP-3")  # minor: no dishonesty
    response = client.post(
        f"/v1/subjects/{number}/certificates",
        headers=pilot.headers("subject"),
        json={"kind": "no_dishonesty_record", "format": form},
    )
    assert response.status_code == 200, response.text
    issued = response.json()
    assert issued["subject"] == mask(number) and number not in response.text
    assert issued["filename"] == f"certificate-{issued['code']}.{form}"
    data = issued["file"].encode("utf-8")

    published = client.get("/v1/public/signing-key").json()
    assert published["algorithm"] == "Ed25519" and published["key_id"] == issued["key_id"]
    key = parse_public_key(published["public_key_pem"].encode())
    assert verify_file(data, key).ok
    altered = bytearray(data)
    altered[len(altered) // 3] ^= 0x01
    assert not verify_file(bytes(altered), key).ok

    (issue_row,) = audit_rows(pilot.engine, action="certificates.issue")
    assert issue_row.outcome == "ok" and issue_row.subject_id == _sid(pilot, number)
    assert issued["code"] in issue_row.detail

    online = client.get(f"/v1/public/certificates/{issued['code'].lower()}")
    assert online.status_code == 200
    status = online.json()
    assert (
        status["valid"] and status["status"] == "valid" and status["kind"] == "no_dishonesty_record"
    )
    assert status["subject"] == mask(number) and status["name"].startswith(pilot.shanghai[1][0])
    assert pilot.shanghai[1] not in online.text or len(pilot.shanghai[1]) == 1
    (check,) = audit_rows(pilot.engine, action="public.certificates.verify")
    assert (check.actor, check.role, check.subject_id) == (
        "anonymous",
        "public",
        _sid(pilot, number),
    )

    assert_error(
        client.get("/v1/public/certificates/0000-0000-0000-0000"), 404, "unknown_certificate"
    )
    assert_error(client.get("/v1/public/certificates/not-a-code"), 422, "malformed_code")


def test_no_dishonesty_refused_for_a_serious_record(client: TestClient, pilot: Pilot) -> None:
    _submit(client, pilot, provider_record_id="DD-1", record_type="traffic.drunk_driving")
    path = f"/v1/subjects/{pilot.shanghai[0]}/certificates"
    response = client.post(
        path, headers=pilot.headers("subject"), json={"kind": "no_dishonesty_record"}
    )
    assert_error(response, 409, "not_eligible")
    assert "traffic.drunk_driving" in response.json()["error"]["message"]
    assert _certificates(pilot) == 0
    (row,) = audit_rows(pilot.engine, action="certificates.issue")
    assert row.outcome == "not_eligible" and row.subject_id == _sid(pilot, pilot.shanghai[0])
    # Bad input: refused, nothing stored, on record.
    for body in ({"kind": "good_conduct"}, {"kind": "credit_report", "format": "pdf"}, {}):
        assert_error(
            client.post(path, headers=pilot.headers("subject"), json=body), 422, "validation_error"
        )
    assert _certificates(pilot) == 0
    assert len(audit_rows(pilot.engine, action="certificates.issue")) == 4
    # The signed credit report is still theirs.
    ok = client.post(path, headers=pilot.headers("subject"), json={"kind": "credit_report"})
    assert ok.status_code == 200 and _certificates(pilot) == 1


@pytest.mark.parametrize("group_commit", [True, False], ids=["group", "direct"])
def test_no_answer_when_the_audit_log_is_down(pilot: Pilot, group_commit: bool) -> None:
    number = pilot.shanghai[0]
    with make_client(pilot.engine) as c:
        code = c.post(
            f"/v1/subjects/{number}/certificates",
            headers=pilot.headers("subject"),
            json={"kind": "credit_report"},
        ).json()["code"]
    break_audit_log(pilot.engine)
    requests = [
        ("GET", f"/v1/subjects/{number}/report", "caseworker"),
        ("GET", f"/v1/subjects/{number}/report.html", "subject"),
        ("POST", f"/v1/subjects/{number}/certificates", "subject"),
        ("GET", f"/v1/public/certificates/{code}", "anonymous"),
    ]
    with make_client(pilot.engine, audit_group_commit=group_commit) as c:
        for method, path, role in requests:
            response = c.request(
                method, path, headers=pilot.headers(role), json={"kind": "credit_report"}
            )
            assert_error(response, 503, "audit_unavailable")
            assert pilot.shanghai[1] not in response.text and "sha256" not in response.text
    assert _certificates(pilot) == 1  # the one issued before; none while the log was down
    repair_audit_log(pilot.engine)
