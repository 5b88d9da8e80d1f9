"""Hostile and odd input on every endpoint: always a 4xx in the error shape, never a 5xx."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient

from tests.api.conftest import Pilot, feed_row

NASTY = [
    "\x00" * 18,
    "31010419880715041\x00",
    "３１０１０４１９８８０７１５０４１７",  # full-width digits
    "' OR '1'='1' --    ",
    "%",
    "_" * 18,
    "😀" * 18,
    "X" * 40,
    " ",
]


def test_never_a_server_error(client: TestClient, pilot: Pilot) -> None:
    calls: list[tuple[str, str, dict[str, Any]]] = []
    for value in NASTY:
        path = quote(value, safe="")
        calls += [
            ("GET", f"/v1/subjects/{path}", {"headers": pilot.headers("caseworker")}),
            ("GET", f"/v1/subjects/{path}/score", {"headers": pilot.headers("subject")}),
            (
                "GET",
                "/v1/measures",
                {
                    "headers": pilot.headers("relying_party"),
                    "params": {"subject": value, "purpose": "employment"},
                },
            ),
            (
                "GET",
                "/v1/measures",
                {
                    "headers": pilot.headers("relying_party"),
                    "params": {"subject": pilot.shanghai[0], "purpose": value},
                },
            ),
            (
                "POST",
                "/v1/realname/verify",
                {
                    "headers": pilot.headers("account_provider"),
                    "json": {"id_number": value, "name": value},
                },
            ),
            (
                "POST",
                "/v1/realname/verify",
                {
                    "headers": pilot.headers("account_provider"),
                    "json": {"id_number": pilot.jiangsu[0], "name": value},
                },
            ),
            ("GET", "/v1/public/lists/black", {"params": {"q": value}}),
            ("GET", f"/v1/public/lists/{path}", {}),
            (
                "POST",
                "/v1/records",
                {
                    "headers": pilot.headers("provider"),
                    "json": {
                        "records": [
                            feed_row(subject_id=value),
                            feed_row(provider_record_id=value, subject_id=pilot.shanghai[0]),
                            feed_row(decision_ref=value, subject_id=pilot.shanghai[0]),
                        ]
                    },
                },
            ),
        ]
        if value.isascii() and value.isprintable():
            calls.append(("GET", "/v1/subjects/x", {"headers": {"X-API-Key": value}}))
    calls += [
        (
            "GET",
            f"/v1/subjects/{pilot.shanghai[0]}/score?as_of=9999-12-31",
            {"headers": pilot.headers("caseworker")},
        ),
        (
            "GET",
            f"/v1/subjects/{pilot.shanghai[0]}/score?as_of=0001-01-01",
            {"headers": pilot.headers("caseworker")},
        ),
        ("GET", "/v1/public/lists/black?limit=abc&offset=1e9", {}),
        ("GET", "/v1/public/lists/black?offset=99999999999999999999", {}),
        ("POST", "/v1/records", {"headers": pilot.headers("provider"), "json": {"records": [{}]}}),
        (
            "POST",
            "/v1/records",
            {"headers": pilot.headers("provider"), "json": {"records": [None]}},
        ),
        ("POST", "/v1/records", {"headers": pilot.headers("provider"), "json": None}),
        ("POST", "/v1/records", {"headers": pilot.headers("provider"), "content": b"null"}),
        (
            "POST",
            "/v1/realname/verify",
            {"headers": pilot.headers("account_provider"), "json": [1, 2]},
        ),
    ]
    failures = []
    for method, url, kwargs in calls:
        response = client.request(method, url, **kwargs)
        ok = 200 <= response.status_code < 500
        if ok and response.status_code >= 400:
            body = response.json()
            ok = set(body) == {"error"} and {"code", "message"} <= set(body["error"])
        if not ok:
            failures.append(
                f"{method} {url!r} {kwargs.get('params') or kwargs.get('json')}: "
                f"{response.status_code} {response.text[:200]}"
            )
    assert not failures, "\n".join(failures)
