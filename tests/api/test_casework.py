"""Due process over the API (SQLite and PostgreSQL): objections, annulments with their
notifications, and credit repair, each step by the role it belongs to, refusals audited
once, and a subject seeing its own cases only."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from socialcredit.identity.ids import mask
from tests.api.conftest import Pilot, assert_error, audit_rows, feed_row


def _submit(client: TestClient, pilot: Pilot, prid: str, **values: Any) -> None:
    row = feed_row(provider_record_id=prid, subject_id=pilot.shanghai[0], **values)
    r = client.post("/v1/records", json={"records": [row]}, headers=pilot.headers("provider"))
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text


def test_an_objection_from_filing_to_decision(client: TestClient, pilot: Pilot) -> None:
    _submit(client, pilot, "TP31-OBJ-1")
    body = {
        "provider": "上海市公安局交通警察总队",
        "provider_record_id": "TP31-OBJ-1",
        "reason": "违法时间本人在外地出差，有行程单为证",
    }
    r = client.post("/v1/objections", json=body, headers=pilot.headers("subject"))
    assert r.status_code == 201, r.text
    filed = r.json()
    oid = filed["id"]
    assert filed["status"] == "filed" and filed["subject"] == mask(pilot.shanghai[0])
    assert set(filed["deadlines"]) == {"flag", "forward", "decision"}

    # Another subject: refused before anything about the record is said, audited once.
    other = {"Authorization": f"Bearer {pilot.key('subject', subject=pilot.jiangsu[0])}"}
    assert_error(client.post("/v1/objections", json=body, headers=other), 403, "out_of_scope")
    assert_error(client.get(f"/v1/objections/{oid}", headers=other), 404, "unknown_objection")
    assert [e.outcome for e in audit_rows(pilot.engine, action="objection.file")] == [
        "ok",
        "out_of_scope",
    ]
    # A second objection while the first is open; a subject may not flag.
    assert_error(
        client.post("/v1/objections", json=body, headers=pilot.headers("subject")),
        409,
        "objection_open",
    )
    assert_error(
        client.post(f"/v1/objections/{oid}/flag", headers=pilot.headers("subject")),
        403,
        "forbidden_role",
    )
    # Forwarding before flagging is out of order.
    assert_error(
        client.post(f"/v1/objections/{oid}/forward", headers=pilot.headers("caseworker")),
        409,
        "wrong_status",
    )
    for step in ("flag", "forward"):
        r = client.post(f"/v1/objections/{oid}/{step}", headers=pilot.headers("caseworker"))
        assert r.status_code == 200, r.text
    decision = {"outcome": "upheld", "reason": "经调取卡口记录，车辆确系本人名下"}
    r = client.post(
        f"/v1/objections/{oid}/decision", json=decision, headers=pilot.headers("provider")
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["outcome"]) == ("decided", "upheld")
    assert_error(
        client.post(
            f"/v1/objections/{oid}/decision", json=decision, headers=pilot.headers("caseworker")
        ),
        409,
        "already_decided",
    )
    assert_error(
        client.post(
            f"/v1/objections/{oid}/decision",
            json={"outcome": "withdrawn", "reason": "x"},
            headers=pilot.headers("provider"),
        ),
        422,
        "validation_error",
    )

    mine = client.get("/v1/objections", headers=pilot.headers("subject")).json()
    assert [o["id"] for o in mine] == [oid]
    assert client.get("/v1/objections", headers=other).json() == []
    full = client.get(f"/v1/objections/{oid}", headers=pilot.headers("caseworker")).json()
    assert full["subject"] == pilot.shanghai[0]  # caseworkers see the full number
    assert [s["action"] for s in full["steps"]] == ["filed", "flagged", "forwarded", "decided"]
    assert client.get("/v1/objections/overdue", headers=pilot.headers("regulator")).json() == []
    decides = audit_rows(pilot.engine, action="objection.decide")
    assert [e.outcome for e in decides] == ["ok", "already_decided", "validation_error"]


def test_annulment_notifies_the_relying_party_and_the_subject(
    client: TestClient, pilot: Pilot
) -> None:
    _submit(client, pilot, "TP31-ANN-1", record_type="traffic.drunk_driving")
    r = client.get(
        "/v1/measures",
        params={"subject": pilot.shanghai[0], "purpose": "employment"},
        headers=pilot.headers("relying_party"),
    )
    assert r.status_code == 200
    r = client.post(
        "/v1/annulments",
        json={
            "provider_record_id": "TP31-ANN-1",
            "reason": "行政复议撤销原处罚决定",
            "decision_ref": "沪公复决字〔2026〕第31号",
        },
        headers=pilot.headers("provider"),
    )
    assert r.status_code == 201, r.text
    assert (r.json()["action"], r.json()["notified"]) == ("annulled", 2)

    to_party = client.get("/v1/notifications", headers=pilot.headers("relying_party")).json()
    assert len(to_party) == 1 and "ask again" in to_party[0]["message"]
    assert to_party[0]["subject"] == mask(pilot.shanghai[0])
    # No record detail and no free text reach the relying party.
    for detail in ("行政复议", "沪公复决字", "traffic.drunk_driving", "TP31-ANN-1", "annulled"):
        assert detail not in to_party[0]["message"], detail
    assert to_party[0]["record_id"] is None
    to_subject = client.get("/v1/notifications", headers=pilot.headers("subject")).json()
    assert len(to_subject) == 1 and to_subject[0]["recipient"].startswith("subject:")
    assert "行政复议撤销原处罚决定" in to_subject[0]["message"]
    assert len(client.get("/v1/notifications", headers=pilot.headers("admin")).json()) == 2
    late = client.get("/v1/annulments?late=true", headers=pilot.headers("regulator")).json()
    assert late == []

    # Unknown record, and a record already annulled: refused and audited.
    unknown = {"provider_record_id": "TP31-NOPE", "reason": "撤销"}
    assert_error(
        client.post("/v1/annulments", json=unknown, headers=pilot.headers("provider")),
        404,
        "unknown_record",
    )
    again = {"provider_record_id": "TP31-ANN-1", "reason": "撤销"}
    assert_error(
        client.post("/v1/annulments", json=again, headers=pilot.headers("provider")),
        409,
        "already_annulled",
    )
    assert [e.outcome for e in audit_rows(pilot.engine, action="record.annul")] == [
        "ok",
        "unknown_record",
        "already_annulled",
    ]

    # A correction goes the same way, with the new values.
    _submit(client, pilot, "TP31-ANN-2")
    r = client.post(
        "/v1/annulments",
        json={
            "provider_record_id": "TP31-ANN-2",
            "action": "correct",
            "reason": "决定日期录入错误",
            "correction": {"decided_on": "2026-10-30"},
        },
        headers=pilot.headers("provider"),
    )
    assert r.status_code == 201 and r.json()["action"] == "corrected", r.text


def test_credit_repair_by_the_subject(client: TestClient, pilot: Pilot) -> None:
    _submit(client, pilot, "TP31-REP-1")
    body = {
        "provider": "上海市公安局交通警察总队",
        "provider_record_id": "TP31-REP-1",
        "obligations": ["罚款200元已于2026年11月5日缴清"],
        "commitment": "本人承诺今后严格遵守道路交通安全法律法规",
    }
    r = client.post("/v1/repairs", json=body, headers=pilot.headers("subject"))
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    assert "fee" not in r.json()
    assert_error(
        client.post(
            "/v1/repairs", json=body | {"obligations": []}, headers=pilot.headers("subject")
        ),
        422,
        "validation_error",
    )
    assert_error(
        client.post(
            f"/v1/repairs/{aid}/decision",
            json={"approve": True, "reason": "x"},
            headers=pilot.headers("subject"),
        ),
        403,
        "forbidden_role",
    )
    r = client.post(
        f"/v1/repairs/{aid}/decision",
        json={"approve": True, "reason": "已核验缴款凭证"},
        headers=pilot.headers("caseworker"),
    )
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    mine = client.get("/v1/repairs", headers=pilot.headers("subject")).json()
    assert [a["id"] for a in mine] == [aid]
    subject_file = client.get(
        f"/v1/subjects/{pilot.shanghai[0]}", headers=pilot.headers("subject")
    ).json()
    assert subject_file["record_counts"] == {"repaired": 1}


def test_refused_case_reads_are_audited(client: TestClient, pilot: Pilot) -> None:
    """The services audit case steps, not reads: a read they refuse is recorded by the
    error handler, once."""
    reads = [
        ("/v1/objections?status=bogus", 422, "bad_status", "objection.list"),
        ("/v1/objections/999999", 404, "unknown_objection", "objection.read"),
        ("/v1/repairs?status=bogus", 422, "bad_status", "repair.list"),
        ("/v1/repairs/999999", 404, "unknown_repair_application", "repair.read"),
    ]
    for role in ("subject", "caseworker"):
        for path, status, code, action in reads:
            before = audit_rows(pilot.engine, action=action)
            assert_error(client.get(path, headers=pilot.headers(role)), status, code)
            after = audit_rows(pilot.engine, action=action)
            assert len(after) == len(before) + 1, (role, path)
            assert (after[-1].outcome, after[-1].role) == (code, role)


def test_a_provider_key_narrowed_to_some_types_sees_only_their_cases(
    client: TestClient, pilot: Pilot
) -> None:
    from tests.api.conftest import TRAFFIC

    narrow = {
        "Authorization": "Bearer "
        + pilot.key("provider", provider=TRAFFIC, scope={"record_types": ["traffic.red_light"]})
    }
    _submit(client, pilot, "TP31-NAR-1")  # traffic.speeding: outside the narrow key
    _submit(client, pilot, "TP31-NAR-2")
    body = {"provider": TRAFFIC, "provider_record_id": "TP31-NAR-1", "reason": "车辆已出售"}
    r = client.post("/v1/objections", json=body, headers=pilot.headers("subject"))
    assert r.status_code == 201, r.text
    oid = r.json()["id"]
    for step in ("flag", "forward"):
        r = client.post(f"/v1/objections/{oid}/{step}", headers=pilot.headers("caseworker"))
        assert r.status_code == 200, r.text
    r = client.post(
        "/v1/annulments",
        json={"provider_record_id": "TP31-NAR-2", "reason": "撤销"},
        headers=pilot.headers("provider"),
    )
    assert r.status_code == 201, r.text

    # The provider's full key sees both cases; the narrowed key neither.
    wide = pilot.headers("provider")
    assert [o["id"] for o in client.get("/v1/objections", headers=wide).json()] == [oid]
    assert len(client.get("/v1/annulments", headers=wide).json()) == 1
    assert client.get(f"/v1/objections/{oid}", headers=wide).status_code == 200
    assert client.get("/v1/objections", headers=narrow).json() == []
    assert client.get("/v1/annulments", headers=narrow).json() == []
    assert client.get("/v1/objections/overdue?as_of=2099-01-01", headers=narrow).json() == []
    assert_error(client.get(f"/v1/objections/{oid}", headers=narrow), 404, "unknown_objection")
    assert_error(
        client.post(
            f"/v1/objections/{oid}/decision",
            json={"outcome": "upheld", "reason": "x"},
            headers=narrow,
        ),
        403,
        "out_of_scope",
    )
    refused = audit_rows(pilot.engine, action="objection.read")[-1]
    assert refused.outcome == "unknown_objection"
