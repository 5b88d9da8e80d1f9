"""GET /v1/measures: purpose checks, scope, existence not revealed, measures and their basis."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from socialcredit.db.models import ListEntry, Subject
from socialcredit.identity.ids import mask
from socialcredit.synth.ids import make_uscc
from tests.api.conftest import BANK, Pilot, add_relying_party, assert_error, audit_rows

AS_OF = "2026-11-01"


def ask(
    client: TestClient,
    pilot: Pilot,
    subject: str,
    purpose: str,
    key: str | None = None,
    **extra: str,
) -> Any:
    headers = {"X-API-Key": key} if key else pilot.headers("relying_party")
    params = {"subject": subject, "purpose": purpose, **extra}
    return client.get("/v1/measures", headers=headers, params=params)


def blacklist(pilot: Pilot, number: str, criterion: str = "court-dishonest-debtor") -> None:
    """A published black-list entry, as the lists module would leave it."""
    with pilot.engine.begin() as conn:
        sid = conn.scalar(select(Subject.id).where(Subject.code == number))
        conn.execute(
            insert(ListEntry).values(
                subject_id=sid,
                list_name="black",
                status="published",
                criterion=criterion,
                origin_province="32",
                policy_id="cn-32-jiangsu",
                policy_version="2026.1",
                legal_basis="《最高人民法院关于公布失信被执行人名单信息的若干规定》第一条",
                entered_on=dt.date(2026, 9, 1),
                notice_until=dt.date(2026, 9, 10),
                published_on=dt.date(2026, 9, 11),
                planned_exit_on=dt.date(2028, 9, 11),
                updated_at=dt.datetime(2026, 9, 11),
            )
        )


def test_purpose_must_be_published_and_registered(client: TestClient, pilot: Pilot) -> None:
    number = pilot.shanghai[0]
    assert_error(ask(client, pilot, number, "curiosity"), 422, "unknown_purpose")
    # Published, but the employer is registered for employment only.
    assert_error(ask(client, pilot, number, "financial_credit"), 403, "purpose_out_of_scope")
    # Purpose checks come before the ID is looked at: a bad ID does not change them.
    assert_error(ask(client, pilot, "123", "financial_credit"), 403, "purpose_out_of_scope")
    ok = ask(client, pilot, number, "employment", as_of=AS_OF)
    assert ok.status_code == 200
    assert ok.json() == {
        "subject": mask(number),
        "subject_kind": "person",
        "purpose": "employment",
        "as_of": AS_OF,
        "catalogue": "cn-31-shanghai-measures@2026.1",  # the party is in Shanghai
        "measures": [],
    }


def test_a_key_can_narrow_its_partys_purposes(client: TestClient, pilot: Pilot) -> None:
    key = pilot.key("relying_party", relying_party=BANK, scope={"purposes": ["employment"]})
    number = pilot.shanghai[0]
    assert_error(ask(client, pilot, number, "financial_credit", key), 403, "purpose_out_of_scope")
    assert ask(client, pilot, number, "employment", key).status_code == 200


def test_measures_with_their_legal_basis_and_trigger(client: TestClient, pilot: Pilot) -> None:
    blacklist(pilot, pilot.shanghai[0])
    body = ask(client, pilot, pilot.shanghai[0], "employment", as_of=AS_OF).json()
    (measure,) = body["measures"]
    assert measure["id"] == "no-soe-senior-management" and measure["category"] == "sanction"
    assert measure["legal_basis"] and measure["title"]["zh"]
    (basis,) = measure["triggered_by"]
    assert basis["kind"] == "list" and basis["list_name"] == "black"
    assert basis["criterion"] == "court-dishonest-debtor" and basis["origin_province"] == "32"
    assert basis["entry_legal_basis"].startswith("《最高人民法院")
    # Only what the purpose needs: no flights or hotels for an employer, and no records.
    assert "record" not in str(body) and "decided_on" not in str(body)
    # Before publication the entry has no effect.
    early = ask(client, pilot, pilot.shanghai[0], "employment", as_of="2026-09-05").json()
    assert early["measures"] == []


def test_legal_representative_answers_for_the_organisation(
    client: TestClient, pilot: Pilot
) -> None:
    add_relying_party(pilot.engine, "上海铁路售票", "transport_operator", ["transport_ticketing"])
    key = pilot.key("relying_party", relying_party="上海铁路售票")
    blacklist(pilot, pilot.org[0])
    body = ask(client, pilot, pilot.shanghai[0], "transport_ticketing", key, as_of=AS_OF).json()
    ids = [m["id"] for m in body["measures"]]
    assert "debtor-no-flights" in ids
    basis = body["measures"][0]["triggered_by"][0]
    assert basis["via"] == "legal_representative"
    assert basis["organisation"] == mask(pilot.org[0])


def test_unknown_subject_answers_like_a_subject_without_measures(
    client: TestClient, pilot: Pilot
) -> None:
    known = ask(client, pilot, pilot.jiangsu[0], "employment", as_of=AS_OF)
    unknown = ask(client, pilot, pilot.unregistered, "employment", as_of=AS_OF)
    assert known.status_code == unknown.status_code == 200

    def strip(body: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in body.items() if k != "subject"}

    assert strip(known.json()) == strip(unknown.json())
    code = make_uscc(random.Random(7), province="32")  # valid, not registered
    assert ask(client, pilot, code, "employment").json()["subject_kind"] == "organisation"
    # Malformed IDs are refused: checked without the store, they reveal nothing.
    assert_error(ask(client, pilot, "310104198807150410", "employment"), 422, "malformed_id")
    # The audit log, which regulators read, does tell the two apart.
    rows = [r for r in audit_rows(pilot.engine, action="measures.query")]
    outcomes = [r.outcome for r in rows]
    assert outcomes[:2] == ["ok", "unknown_subject"] and outcomes[-1] == "malformed_id"
    assert all(r.purpose == "employment" for r in rows)


def test_bad_dates_and_missing_parameters(client: TestClient, pilot: Pilot) -> None:
    number = pilot.shanghai[0]
    assert_error(
        ask(client, pilot, number, "employment", as_of="2026-99-01"), 422, "validation_error"
    )
    response = client.get(
        "/v1/measures", headers=pilot.headers("relying_party"), params={"subject": number}
    )
    assert_error(response, 422, "validation_error")
    assert response.json()["error"]["details"][0]["loc"] == ["query", "purpose"]
    # No catalogue in force yet: the same refusal for registered and unknown subjects.
    for subject in (number, pilot.unregistered):
        early = ask(client, pilot, subject, "employment", as_of="2020-01-01")
        assert_error(early, 422, "no_catalogue_in_force")


def test_the_audit_entry_names_the_measures_given(client: TestClient, pilot: Pilot) -> None:
    blacklist(pilot, pilot.shanghai[0])
    ask(client, pilot, pilot.shanghai[0], "employment", as_of=AS_OF)
    (entry,) = audit_rows(pilot.engine, action="measures.query")
    assert entry.role == "relying_party" and entry.purpose == "employment"
    assert entry.subject_id is not None and "no-soe-senior-management" in entry.detail
