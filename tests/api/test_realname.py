"""POST /v1/realname/verify: yes or no only, the same for unknown IDs, rate-limited, audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from socialcredit.db.models import Subject
from tests.api.conftest import TELECOM, Pilot, assert_error, audit_rows, make_client

PATH = "/v1/realname/verify"


def test_answers_match_or_no_match_and_nothing_else(client: TestClient, pilot: Pilot) -> None:
    headers = pilot.headers("account_provider")
    number, name = pilot.jiangsu

    def ask(id_number: str, who: str) -> dict[str, object]:
        response = client.post(PATH, headers=headers, json={"id_number": id_number, "name": who})
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    assert ask(number, name) == {"match": True}
    # Full-width characters and spaces compare as the registry stores names.
    spaced = " ".join(name)
    assert ask(number.lower(), spaced) == {"match": True}
    wrong_name = ask(number, name + "某")
    unknown_id = ask(pilot.unregistered, name)
    assert wrong_name == unknown_id == {"match": False}


def test_malformed_ids_and_bodies(client: TestClient, pilot: Pilot) -> None:
    headers = pilot.headers("account_provider")
    for bad in ("310104198807150410", "12345", pilot.org[0]):
        response = client.post(PATH, headers=headers, json={"id_number": bad, "name": "张三"})
        assert_error(response, 422, "malformed_id")
    for body in ({"id_number": pilot.jiangsu[0]}, {"id_number": "x", "name": ""}, {"name": "x"}):
        assert_error(client.post(PATH, headers=headers, json=body), 422, "validation_error")
    extra = {"id_number": pilot.jiangsu[0], "name": "x", "birth_date": "1990-01-01"}
    assert_error(client.post(PATH, headers=headers, json=extra), 422, "validation_error")


def test_only_account_providers(client: TestClient, pilot: Pilot) -> None:
    body = {"id_number": pilot.jiangsu[0], "name": pilot.jiangsu[1]}
    response = client.post(PATH, headers=pilot.headers("provider"), json=body)
    assert_error(response, 403, "not_account_provider")


def test_rate_limited_per_key(engine: object, pilot: Pilot) -> None:
    body = {"id_number": pilot.jiangsu[0], "name": pilot.jiangsu[1]}
    other_key = pilot.key("provider", provider=TELECOM)
    with make_client(pilot.engine, realname_per_minute=1, realname_burst=3) as client:
        headers = pilot.headers("account_provider")
        for _ in range(3):
            assert client.post(PATH, headers=headers, json=body).status_code == 200
        limited = client.post(PATH, headers=headers, json=body)
        assert_error(limited, 429, "rate_limited")
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        # Malformed requests spend tokens too: they are refused by the limit first.
        bad = client.post(PATH, headers=headers, json={"id_number": "1", "name": "x"})
        assert_error(bad, 429, "rate_limited")
        # Another key has its own bucket.
        other = {"Authorization": f"Bearer {other_key}"}
        assert client.post(PATH, headers=other, json=body).status_code == 200
    outcomes = [r.outcome for r in audit_rows(pilot.engine, action="realname.verify")]
    assert outcomes == ["match", "match", "match", "rate_limited", "rate_limited", "match"]


def test_audited_against_the_subject_without_the_name(client: TestClient, pilot: Pilot) -> None:
    headers = pilot.headers("account_provider")
    number, name = pilot.jiangsu
    client.post(PATH, headers=headers, json={"id_number": number, "name": name})
    client.post(PATH, headers=headers, json={"id_number": number, "name": "冒名者"})
    client.post(PATH, headers=headers, json={"id_number": pilot.unregistered, "name": name})
    with pilot.engine.connect() as conn:
        sid = conn.scalar(select(Subject.id).where(Subject.code == number))
    rows = audit_rows(pilot.engine, action="realname.verify")
    assert [(r.outcome, r.subject_id) for r in rows] == [
        ("match", sid),
        ("no_match", sid),  # the person can see that someone tried another name
        ("no_match", None),
    ]
    for r in rows:
        assert r.actor == pilot.keys["account_provider"][:15] and r.role == "provider"
        assert name not in r.detail and "冒名者" not in r.detail and number not in r.detail
