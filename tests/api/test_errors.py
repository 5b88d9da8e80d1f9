"""Every error has one JSON shape and a stable code; bad input is 4xx, never 5xx; refusals
of authenticated requests on personal-data routes are audited."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Pilot, assert_error, audit_rows, feed_row, make_client


def test_bad_input_gets_a_clear_4xx(client: TestClient, pilot: Pilot) -> None:
    provider, caseworker = pilot.headers("provider"), pilot.headers("caseworker")
    json_headers = {**provider, "Content-Type": "application/json"}
    cases = [
        (
            client.post("/v1/records", headers=json_headers, content=b'{"records": ['),
            400,
            "invalid_json",
        ),
        (
            client.post("/v1/records", headers=json_headers, content=b"\xff\xfe"),
            400,
            "invalid_json",
        ),
        (client.post("/v1/records", headers=provider, json={"rows": []}), 422, "validation_error"),
        (client.get("/v1/subjects/x", headers=caseworker), 422, "malformed_id"),
        (client.get("/v1/nowhere"), 404, "not_found"),
        (client.get("/nowhere"), 404, "not_found"),
        (client.delete("/v1/records", headers=provider), 405, "method_not_allowed"),
        (client.get("/v1/public/lists/black?limit=0"), 422, "validation_error"),
        (client.get("/v1/public/lists/black?offset=-1"), 422, "validation_error"),
        (client.get("/v1/public/lists/grey"), 404, "unknown_list"),
        (client.get("/v1/subjects/x"), 401, "unauthenticated"),
    ]
    for response, status, code in cases:
        assert_error(response, status, code)


def test_validation_errors_do_not_echo_the_input(client: TestClient, pilot: Pilot) -> None:
    body = {"id_number": pilot.jiangsu[0], "name": pilot.jiangsu[1], "extra": "秘密"}
    response = client.post(
        "/v1/realname/verify", headers=pilot.headers("account_provider"), json=body
    )
    assert_error(response, 422, "validation_error")
    text = response.text
    assert pilot.jiangsu[0] not in text and pilot.jiangsu[1] not in text and "秘密" not in text
    assert response.json()["error"]["details"][0]["loc"] == ["body", "extra"]


def test_oversize_bodies_are_413(engine: object, pilot: Pilot) -> None:
    rows = [feed_row(provider_record_id=f"O-{i}", subject_id=pilot.shanghai[0]) for i in range(50)]
    payload = json.dumps({"records": rows}).encode()
    assert len(payload) > 4000
    headers = {**pilot.headers("provider"), "Content-Type": "application/json"}
    with make_client(pilot.engine, max_body_bytes=4000) as client:
        assert_error(
            client.post("/v1/records", headers=headers, content=payload), 413, "body_too_large"
        )

        # Without Content-Length (chunked), the body is counted as it arrives.
        def chunks() -> Iterator[bytes]:
            for start in range(0, len(payload), 1000):
                yield payload[start : start + 1000]

        response = client.post("/v1/records", headers=headers, content=chunks())
        assert_error(response, 413, "body_too_large")
        small = {"records": rows[:2]}
        assert (
            client.post("/v1/records", headers=pilot.headers("provider"), json=small).status_code
            == 200
        )
    refused = audit_rows(pilot.engine, action="records.submit", outcome="body_too_large")
    assert len(refused) == 2 and refused[0].role == "provider"


def test_refusals_are_audited_when_the_caller_is_known(client: TestClient, pilot: Pilot) -> None:
    json_headers = {**pilot.headers("provider"), "Content-Type": "application/json"}
    client.post("/v1/records", headers=json_headers, content=b"{nope")
    client.get("/v1/subjects/x", headers=pilot.headers("caseworker"))
    client.get(f"/v1/subjects/{pilot.shanghai[0]}")  # no key: not attributable
    client.get(f"/v1/subjects/{pilot.shanghai[0]}", headers={"X-API-Key": "sc_cw_forged"})
    client.get("/v1/public/lists/black?limit=0")  # anonymous and public
    rows = [(r.action, r.outcome, r.role) for r in audit_rows(pilot.engine)]
    assert rows == [
        ("records.submit", "invalid_json", "provider"),
        ("subjects.read", "malformed_id", "caseworker"),
    ]


def test_an_internal_failure_is_500_in_the_same_shape(
    client: TestClient, pilot: Pilot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialcredit.api.routers import subjects

    def boom(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(subjects, "_records", boom)
    response = client.get(f"/v1/subjects/{pilot.shanghai[0]}", headers=pilot.headers("caseworker"))
    assert_error(response, 500, "internal_error")
    assert "disk on fire" not in response.text
    (entry,) = audit_rows(pilot.engine, action="subjects.read")
    assert entry.outcome == "internal_error" and entry.subject_id is not None
