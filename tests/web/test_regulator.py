"""The regulator's dashboard, on both stores."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from socialcredit.casework.common import Actor
from socialcredit.casework.objections import file_objection
from socialcredit.db.models import Record
from socialcredit.identity.ids import mask
from socialcredit.web.routers import regulator
from tests.web.conftest import COURT, POLICE, WebWorld, audit_rows, login

# Policy pairs depend on the day: the Shanghai 2027.1 policy is a later version only
# before 2027. The impact view is tested as of a fixed day in 2026.
PILOT_DAY = dt.date(2026, 11, 27)


def _record_of(world: WebWorld, record_type: str) -> int:
    with world.engine.connect() as conn:
        found = conn.scalar(
            select(Record.id).where(
                Record.subject_id == world.subject.id, Record.record_type == record_type
            )
        )
    assert found is not None
    return int(found)


def test_only_regulators(client: TestClient, world: WebWorld) -> None:
    for path in ("/regulator", "/regulator/objections", "/regulator/impact", "/regulator/feeds"):
        anonymous = client.get(path, follow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    login(client, world.keys["subject"])
    for path in ("/regulator", "/regulator/objections"):
        assert client.get(path).status_code == 403


def test_distributions_are_charted(client: TestClient, world: WebWorld) -> None:
    login(client, world.keys["regulator"])
    response = client.get("/regulator")
    assert response.status_code == 200
    html = response.text
    assert html.count("<svg") >= 3  # province, city, score bands
    values = [int(v) for v in re.findall(r'<rect [^>]*data-value="(\d+)"', html)]
    assert values and sum(values) > 0
    assert "上海" in html


def test_objection_queue_with_deadlines_and_overdue_cases(
    client: TestClient, world: WebWorld
) -> None:
    actor = Actor(name="web-test", role="subject", subject_id=world.subject.id)
    today = dt.date.today()
    late = file_objection(
        world.engine,
        actor=actor,
        reason="已履行",
        on=today - dt.timedelta(days=30),
        record_id=_record_of(world, "court.dishonest_debtor"),
    )
    fresh = file_objection(
        world.engine,
        actor=actor,
        reason="超速记录有误",
        on=today,
        record_id=_record_of(world, "traffic.speeding"),
    )
    login(client, world.keys["regulator"])
    html = client.get("/regulator/objections").text
    assert f"#{late.id}" in html and f"#{fresh.id}" in html
    assert html.index(f"#{late.id}") < html.index(f"#{fresh.id}")  # overdue first
    assert html.count('class="overdue"') >= 1
    assert late.decision_due.isoformat() in html
    assert mask(world.subject.number) in html
    assert world.subject.number not in html
    entry = audit_rows(world.engine, "web.regulator.objections")[-1]
    assert entry.role == "regulator"


def test_feed_health(client: TestClient, world: WebWorld) -> None:
    login(client, world.keys["regulator"])
    html = client.get("/regulator/feeds").text
    assert COURT in html and POLICE in html
    assert "invalid_id" in html  # the rejected row's reason
    assert "<svg" in html


def test_impact_of_the_draft_policy(
    client: TestClient, world: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(regulator, "today", lambda: PILOT_DAY)
    login(client, world.keys["regulator"])
    html = client.get("/regulator/impact").text
    assert "cn-31-shanghai@2026.1" in html and "cn-31-shanghai@2027.1" in html
    assert "<svg" in html
    # The Shanghai population of the world, three persons and one organisation, counted
    # once under each policy in the grade chart.
    values = [int(v) for v in re.findall(r'<rect [^>]*data-value="(\d+)"', html)]
    assert sum(values) == 2 * 4
    bad = client.get("/regulator/impact", params={"pair": "nope"})
    assert bad.status_code == 404
    assert audit_rows(world.engine, "web.regulator.impact")[-1].role == "regulator"
