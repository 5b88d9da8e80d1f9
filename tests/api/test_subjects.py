"""Reading files and scores: masking, own-file scope, existence never revealed, stored scores."""

from __future__ import annotations

import datetime as dt
import json

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from socialcredit.db.models import RescoreQueue, Score, Subject
from socialcredit.identity.ids import mask
from tests.api.conftest import Pilot, assert_error, audit_rows, feed_row


def _sid(pilot: Pilot, number: str) -> int:
    with pilot.engine.connect() as conn:
        return int(conn.scalar(select(Subject.id).where(Subject.code == number)) or 0)


def test_file_is_masked_unless_full_id_is_granted(client: TestClient, pilot: Pilot) -> None:
    number, name = pilot.shanghai
    client.post(
        "/v1/records",
        headers=pilot.headers("provider"),
        json={"records": [feed_row(subject_id=number, amount_cny="200.50")]},
    )
    masked = client.get(f"/v1/subjects/{number}", headers=pilot.headers("caseworker")).json()
    subject = masked["subject"]
    assert subject["id"] == mask(number) and subject["name"] == name
    # What the mask hides is not given away by the other fields.
    assert subject["birth_date"] is None and subject["sex"] is None
    assert subject["division_code"] is None
    assert number not in str(masked)
    assert masked["record_counts"] == {"active": 1}
    (record,) = masked["records"]
    assert record["record_type"] == "traffic.speeding" and record["amount_cny"] == "200.5"
    assert record["category"] == "traffic" and record["provider"]
    assert masked["latest_score"]["grade"]  # rescored when the record arrived

    for role in ("caseworker", "regulator"):
        full = client.get(f"/v1/subjects/{number}?full_id=true", headers=pilot.headers(role)).json()
        assert full["subject"]["id"] == number
        assert full["subject"]["birth_date"] == f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
    own = client.get(f"/v1/subjects/{number}", headers=pilot.headers("subject"))
    assert own.status_code == 200 and own.json()["subject"]["id"] == mask(number)
    denied = client.get(f"/v1/subjects/{number}?full_id=true", headers=pilot.headers("subject"))
    assert_error(denied, 403, "full_id_not_allowed")


def test_organisation_file(client: TestClient, pilot: Pilot) -> None:
    code, name = pilot.org
    body = client.get(f"/v1/subjects/{code}", headers=pilot.headers("regulator")).json()
    assert body["subject"]["kind"] == "organisation" and body["subject"]["name"] == name


def test_a_subject_reads_only_its_own_file_and_learns_nothing_else(
    client: TestClient, pilot: Pilot
) -> None:
    headers = pilot.headers("subject")
    answers = []
    for other in (pilot.jiangsu[0], pilot.unregistered, "310104198807150410"):
        for path in (f"/v1/subjects/{other}", f"/v1/subjects/{other}/score"):
            response = client.get(path, headers=headers)
            assert_error(response, 403, "out_of_scope")
            answers.append(response.json())
    # Registered, unregistered and malformed IDs all get the same refusal.
    assert all(a == answers[0] for a in answers[:2])
    # ID given in lower case or with spaces is still the subject's own.
    own = pilot.shanghai[0]
    spaced = f"{own[:6]} {own[6:14]} {own[14:]}".lower()
    assert client.get(f"/v1/subjects/{spaced}", headers=headers).status_code == 200


def test_roles_that_may_not_read_learn_nothing_either(client: TestClient, pilot: Pilot) -> None:
    for role in ("provider", "relying_party", "admin", "account_provider"):
        registered = client.get(f"/v1/subjects/{pilot.jiangsu[0]}", headers=pilot.headers(role))
        unknown = client.get(f"/v1/subjects/{pilot.unregistered}", headers=pilot.headers(role))
        assert registered.status_code == unknown.status_code == 403
        assert registered.json() == unknown.json()


def test_readers_get_404_for_unknown_and_422_for_malformed(
    client: TestClient, pilot: Pilot
) -> None:
    headers = pilot.headers("caseworker")
    assert_error(
        client.get(f"/v1/subjects/{pilot.unregistered}", headers=headers), 404, "unknown_subject"
    )
    for bad in ("310104198807150410", "123", "91310000MA1FL8TQ3X"):
        assert_error(client.get(f"/v1/subjects/{bad}", headers=headers), 422, "malformed_id")
    assert_error(client.get(f"/v1/subjects/{'1' * 41}", headers=headers), 422, "validation_error")


def test_score_is_stored_reused_and_recomputed_when_stale(client: TestClient, pilot: Pilot) -> None:
    number = pilot.shanghai[0]
    sid = _sid(pilot, number)
    headers = pilot.headers("caseworker")
    day = "2026-11-20"
    first = client.get(f"/v1/subjects/{number}/score?as_of={day}", headers=headers).json()
    assert first["as_of"] == day and first["engine"] == "python"
    assert first["policy"]["id"].startswith("cn-31") and first["score"] == 1000
    assert first["contributions"] is None
    second = client.get(f"/v1/subjects/{number}/score?as_of={day}", headers=headers).json()
    assert second["computed_at"] == first["computed_at"]  # the stored answer
    with pilot.engine.begin() as conn:
        conn.execute(
            insert(RescoreQueue).values(subject_id=sid, enqueued_at=dt.datetime(2026, 11, 21))
        )
    third = client.get(
        f"/v1/subjects/{number}/score?as_of={day}&contributions=true", headers=headers
    ).json()
    assert third["computed_at"] != first["computed_at"]
    assert isinstance(third["contributions"], list)
    with pilot.engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(Score).where(Score.subject_id == sid))
    assert stored == 2


def test_score_bad_dates(client: TestClient, pilot: Pilot) -> None:
    headers = pilot.headers("regulator")
    path = f"/v1/subjects/{pilot.shanghai[0]}/score"
    assert_error(client.get(f"{path}?as_of=2026-02-30", headers=headers), 422, "validation_error")
    assert_error(client.get(f"{path}?as_of=yesterday", headers=headers), 422, "validation_error")
    assert_error(client.get(f"{path}?as_of=1990-01-01", headers=headers), 422, "no_policy_in_force")


def test_reads_and_refusals_are_audited(client: TestClient, pilot: Pilot) -> None:
    number = pilot.shanghai[0]
    client.get(f"/v1/subjects/{number}", headers=pilot.headers("caseworker"))
    client.get(f"/v1/subjects/{number}/score", headers=pilot.headers("subject"))
    client.get(f"/v1/subjects/{pilot.unregistered}", headers=pilot.headers("regulator"))
    client.get(f"/v1/subjects/{pilot.jiangsu[0]}", headers=pilot.headers("subject"))
    client.get(f"/v1/subjects/{number}", headers=pilot.headers("relying_party"))
    rows = [
        (r.role, r.action, r.outcome, r.subject_id)
        for r in audit_rows(pilot.engine)
        if r.action.startswith("subjects.")
    ]
    sid = _sid(pilot, number)
    assert rows == [
        ("caseworker", "subjects.read", "ok", sid),
        ("subject", "subjects.score", "ok", sid),
        ("regulator", "subjects.read", "unknown_subject", None),
        ("subject", "subjects.read", "out_of_scope", None),
        ("relying_party", "subjects.read", "forbidden_role", None),
    ]
    # The entries name IDs only masked.
    for r in audit_rows(pilot.engine):
        assert number not in r.detail and pilot.unregistered not in r.detail


def test_a_stored_score_without_its_list_computes_it_on_request(
    client: TestClient, pilot: Pilot
) -> None:
    number = pilot.jiangsu[0]
    sid = _sid(pilot, number)
    headers = pilot.headers("caseworker")
    day = "2026-11-20"
    url = f"/v1/subjects/{number}/score?as_of={day}"
    full = client.get(f"{url}&contributions=true", headers=headers).json()
    # As a population rescore stores it: the reasons, no contribution list.
    with pilot.engine.begin() as conn:
        conn.execute(
            insert(Score).values(
                subject_id=sid,
                as_of=dt.date.fromisoformat(day),
                computed_at=dt.datetime(2100, 1, 1),
                engine="duckdb",
                policy_id=full["policy"]["id"],
                policy_version=full["policy"]["version"],
                score=full["score"],
                grade=full["grade"],
                reasons=json.dumps(full["reasons"]),
                contributions=None,
            )
        )
    short = client.get(url, headers=headers).json()
    assert short["engine"] == "duckdb" and short["contributions"] is None
    again = client.get(f"{url}&contributions=true", headers=headers).json()
    assert again["engine"] == "duckdb"  # the stored answer, its list computed again
    assert again["contributions"] == full["contributions"]
