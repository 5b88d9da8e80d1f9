"""The authorization matrix: every endpoint × every role, allowed and denied.

One row per endpoint; each row says the status every role gets. Denials are 403
with a stable code for a key of the wrong role, 401 without a key. A row runs as
one test so a failure lists every cell that differs, not just the first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import MATRIX_ROLES, Pilot, feed_row, make_client
from tests.reports.helpers import certificate_path


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    route: str  # the template, as in the OpenAPI document
    path: Callable[[Pilot], str]
    # Status per role; roles not listed get ``default``.
    allowed: dict[str, int]
    default: int = 403
    body: Callable[[Pilot, str], Any] | None = None


def _records_body(p: Pilot, role: str) -> Any:
    # A distinct record per caller, so an accepted row is never a duplicate of another.
    return {"records": [feed_row(provider_record_id=f"M-{role}", subject_id=p.shanghai[0])]}


def _realname_body(p: Pilot, role: str) -> Any:
    return {"id_number": p.jiangsu[0], "name": p.jiangsu[1]}


EVERYONE = dict.fromkeys(MATRIX_ROLES, 200)
READERS = {"caseworker": 200, "regulator": 200, "subject": 200}

ENDPOINTS = [
    Endpoint("health", "GET", "/v1/health", lambda p: "/v1/health", EVERYONE),
    Endpoint("openapi", "GET", "/v1/openapi.json", lambda p: "/v1/openapi.json", EVERYONE),
    # Reports and certificates (issue #5, item 2): the whole file for its readers, a
    # certificate for the subject only, its online check and the public key for anyone.
    Endpoint(
        "reports.read",
        "GET",
        "/v1/subjects/{subject_id}/report",
        lambda p: f"/v1/subjects/{p.shanghai[0]}/report",
        {"anonymous": 401, **READERS},
    ),
    Endpoint(
        "reports.html",
        "GET",
        "/v1/subjects/{subject_id}/report.html",
        lambda p: f"/v1/subjects/{p.shanghai[0]}/report.html",
        {"anonymous": 401, **READERS},
    ),
    Endpoint(
        "certificates.issue",
        "POST",
        "/v1/subjects/{subject_id}/certificates",
        lambda p: f"/v1/subjects/{p.shanghai[0]}/certificates",
        {"anonymous": 401, "subject": 200},
        body=lambda p, role: {"kind": "credit_report"},
    ),
    Endpoint(
        "public.certificate",
        "GET",
        "/v1/public/certificates/{code}",
        certificate_path,
        EVERYONE,
    ),
    Endpoint(
        "public.signing_key",
        "GET",
        "/v1/public/signing-key",
        lambda p: "/v1/public/signing-key",
        EVERYONE,
    ),
    Endpoint(
        "records.submit",
        "POST",
        "/v1/records",
        lambda p: "/v1/records",
        {"anonymous": 401, "provider": 200, "account_provider": 200},
        body=_records_body,
    ),
    Endpoint(
        "subjects.read",
        "GET",
        "/v1/subjects/{subject_id}",
        lambda p: f"/v1/subjects/{p.shanghai[0]}",
        {"anonymous": 401, **READERS},
    ),
    Endpoint(
        "subjects.score",
        "GET",
        "/v1/subjects/{subject_id}/score",
        lambda p: f"/v1/subjects/{p.shanghai[0]}/score",
        {"anonymous": 401, **READERS},
    ),
    Endpoint(
        "realname.verify",
        "POST",
        "/v1/realname/verify",
        lambda p: "/v1/realname/verify",
        # The traffic police is a provider but not an account provider: 403 as well.
        {"anonymous": 401, "account_provider": 200},
        body=_realname_body,
    ),
    Endpoint(
        "measures.query",
        "GET",
        "/v1/measures",
        lambda p: f"/v1/measures?subject={p.shanghai[0]}&purpose=employment",
        {"anonymous": 401, "relying_party": 200},
    ),
    Endpoint(
        "public.black",
        "GET",
        "/v1/public/lists/{list_name}",
        lambda p: "/v1/public/lists/black",
        EVERYONE,
    ),
    Endpoint(
        "public.red",
        "GET",
        "/v1/public/lists/{list_name}",
        lambda p: "/v1/public/lists/red?q=a&limit=5",
        EVERYONE,
    ),
    Endpoint(
        "public.purposes", "GET", "/v1/public/purposes", lambda p: "/v1/public/purposes", EVERYONE
    ),
    Endpoint(
        "public.measures", "GET", "/v1/public/measures", lambda p: "/v1/public/measures", EVERYONE
    ),
    Endpoint(
        "public.record_types",
        "GET",
        "/v1/public/record-types",
        lambda p: "/v1/public/record-types",
        EVERYONE,
    ),
    # Casework (issue #5): objections, repair, annulments, the outbox. The rows and the
    # fresh case each allowed call needs are in tests/api/casework_matrix.py.
    *__import__("tests.api.casework_matrix", fromlist=["rows"]).rows(Endpoint),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_every_role(endpoint: Endpoint, client: TestClient, pilot: Pilot) -> None:
    wrong: list[str] = []
    for role in MATRIX_ROLES:
        expected = endpoint.allowed.get(role, endpoint.default)
        body = endpoint.body(pilot, role) if endpoint.body else None
        response = client.request(
            endpoint.method, endpoint.path(pilot), headers=pilot.headers(role), json=body
        )
        if response.status_code != expected:
            wrong.append(f"{role}: expected {expected}, got {response.status_code} {response.text}")
            continue
        if expected >= 400:
            error = response.json()["error"]
            want = {401: {"unauthenticated"}, 403: {"forbidden_role", "not_account_provider"}}
            if error["code"] not in want[expected]:
                wrong.append(f"{role}: unexpected error code {error['code']}")
    assert not wrong, "\n".join(wrong)


def test_matrix_covers_every_route(client: TestClient) -> None:
    """A new route must get a row in the matrix."""
    spec = client.get("/v1/openapi.json").json()
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    covered = {(e.method, e.route) for e in ENDPOINTS if e.route != "/v1/openapi.json"}
    assert documented == covered, "update the matrix for new or removed routes"


def test_revoked_and_unknown_keys(pilot: Pilot) -> None:
    from socialcredit.access import revoke_key

    now = [0.0]
    path = f"/v1/subjects/{pilot.shanghai[0]}"
    with make_client(pilot.engine, key_cache_seconds=2.0) as client:
        cache = client.app.state.key_cache  # type: ignore[attr-defined]
        cache.clock = lambda: now[0]
        assert client.get(path, headers=pilot.headers("caseworker")).status_code == 200
        with pilot.engine.begin() as conn:
            revoke_key(conn, pilot.keys["caseworker"])
        # Within the key cache's lifetime the key still works: the documented trade-off.
        now[0] = 1.9
        assert client.get(path, headers=pilot.headers("caseworker")).status_code == 200
        now[0] = 2.1
        for headers in (
            pilot.headers("caseworker"),
            {"X-API-Key": pilot.keys["caseworker"]},
            {"Authorization": "Bearer sc_cw_notakeyatall"},
            {"Authorization": "Basic dXNlcjpwYXNz"},
            {"X-API-Key": "x" * 500},
        ):
            response = client.get(path, headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["error"]["code"] == "unauthenticated"
            assert response.headers["www-authenticate"] == "Bearer"
        # Either header works for a live key.
        assert client.get(path, headers={"X-API-Key": pilot.keys["regulator"]}).status_code == 200


def test_without_the_key_cache_revocation_is_immediate(pilot: Pilot) -> None:
    from socialcredit.access import revoke_key

    path = f"/v1/subjects/{pilot.shanghai[0]}"
    with make_client(pilot.engine, key_cache_seconds=0) as client:
        assert client.get(path, headers=pilot.headers("regulator")).status_code == 200
        with pilot.engine.begin() as conn:
            revoke_key(conn, pilot.keys["regulator"])
        assert client.get(path, headers=pilot.headers("regulator")).status_code == 401
