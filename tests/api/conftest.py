"""A small pilot behind the API: providers, relying parties, subjects and a key per role.

Every test runs on SQLite and PostgreSQL (through the ``engine`` fixture).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text

from socialcredit.access import create_key
from socialcredit.api import ApiSettings, create_app
from socialcredit.db.engine import session_scope
from socialcredit.db.models import AuditEntry
from socialcredit.identity.registry import link_account, register_organisation, register_person
from socialcredit.measures import register_party
from socialcredit.records.providers import add_provider
from socialcredit.synth.ids import make_ric, make_uscc, random_birth
from socialcredit.synth.names import person_name
from tests.conftest import TODAY

TRAFFIC = "上海市公安局交通警察总队"
TELECOM = "中国移动通信集团上海有限公司"
EMPLOYER = "上海某某科技有限公司人事部"
BANK = "上海银行信贷部"

# The roles of the authorization matrix. "provider" furnishes records (traffic police);
# "account_provider" is a provider key of a telecom, the only kind that verifies names.
MATRIX_ROLES = (
    "anonymous",
    "provider",
    "account_provider",
    "relying_party",
    "caseworker",
    "regulator",
    "subject",
    "admin",
)


@dataclass
class Pilot:
    engine: Engine
    # (ID number, name) of persons registered in Shanghai (31) and Jiangsu (32).
    shanghai: tuple[str, str]
    jiangsu: tuple[str, str]
    org: tuple[str, str]
    # A valid resident ID number that is not registered.
    unregistered: str
    keys: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        if role == "anonymous":
            return {}
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def key(self, role: str, **kwargs: Any) -> str:
        with self.engine.begin() as conn:
            return create_key(conn, role=role, label=f"test {role}", **kwargs)


def add_relying_party(engine: Engine, name: str, kind: str, purposes: list[str]) -> None:
    with session_scope(engine) as s:
        register_party(s, name=name, kind=kind, region="310000", purposes=purposes)


@pytest.fixture
def pilot(engine: Engine) -> Pilot:
    rng = random.Random(4_2026)

    def person(province: str) -> tuple[str, str]:
        birth = random_birth(rng, today=TODAY, min_age=25, max_age=60)
        return make_ric(rng, birth=birth, province=province), person_name(rng)

    shanghai, jiangsu, stranger = person("31"), person("32"), person("33")
    org = (make_uscc(rng, province="31"), "上海测试科技有限公司")
    with session_scope(engine) as s:
        for number, name in (shanghai, jiangsu):
            register_person(s, number=number, name=name)
        register_organisation(s, code=org[0], name=org[1], legal_rep=shanghai[0])
        add_provider(
            s,
            name=TRAFFIC,
            kind="traffic_police",
            region_code="310000",
            record_types=["traffic.speeding", "traffic.red_light", "traffic.drunk_driving"],
        )
        add_provider(s, name=TELECOM, kind="telecom", region_code="310000", record_types=[])
        link_account(
            s, provider=TELECOM, account_id="13916000001", number=jiangsu[0], name=jiangsu[1]
        )
    add_relying_party(engine, EMPLOYER, "employer", ["employment"])
    add_relying_party(engine, BANK, "bank", ["financial_credit", "employment"])
    p = Pilot(engine, shanghai, jiangsu, org, unregistered=stranger[0])
    p.keys = {
        "provider": p.key("provider", provider=TRAFFIC),
        "account_provider": p.key("provider", provider=TELECOM),
        "relying_party": p.key("relying_party", relying_party=EMPLOYER),
        "caseworker": p.key("caseworker"),
        "regulator": p.key("regulator"),
        "subject": p.key("subject", subject=shanghai[0]),
        "admin": p.key("admin"),
    }
    return p


def make_client(engine: Engine, **settings: Any) -> TestClient:
    # raise_server_exceptions=False: a 500 must be seen as the client would see it.
    return TestClient(create_app(engine, ApiSettings(**settings)), raise_server_exceptions=False)


@pytest.fixture
def client(engine: Engine, pilot: Pilot) -> Iterator[TestClient]:
    with make_client(engine) as c:
        yield c


def assert_error(response: Any, status: int, code: str) -> None:
    """The one error shape, with the expected status and stable code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def audit_rows(engine: Engine, **where: Any) -> list[Any]:
    t = AuditEntry.__table__
    query = select(t).order_by(t.c.seq)
    for name, value in where.items():
        query = query.where(t.c[name] == value)
    with engine.connect() as conn:
        return list(conn.execute(query))


def feed_row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "provider_record_id": "TP31-1",
        "record_type": "traffic.speeding",
        "decision_ref": "沪公交决字〔2026〕第1号",
        "decided_on": "2026-11-01",
    }
    row.update(values)
    return row


def break_audit_log(engine: Engine) -> None:
    """Make every insert into the audit log fail, as a full or broken log would."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER audit_down BEFORE INSERT ON audit_log "
                    "BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION audit_down() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'audit log unavailable'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER audit_down BEFORE INSERT ON audit_log "
                    "FOR EACH ROW EXECUTE FUNCTION audit_down()"
                )
            )


def repair_audit_log(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_down"))
        else:
            conn.execute(text("DROP TRIGGER audit_down ON audit_log"))
            conn.execute(text("DROP FUNCTION audit_down()"))
