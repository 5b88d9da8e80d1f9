"""A small credit world behind the pages, on SQLite and PostgreSQL.

Two Shanghai persons on the black list (court dishonest-debtor decisions two months
ago, published after their notice period), one of them the subject who logs in and
one whose registered name is a script; a traffic record that may be repaired today;
feeds with a rejected row; a regulator's, a subject's and a relying party's key.
Dates are relative to the real today, because the pages use it.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from socialcredit.access import create_key
from socialcredit.api import ApiSettings, create_app
from socialcredit.db.engine import session_scope
from socialcredit.db.models import ApiKey, AuditEntry, ListEntry, Subject
from socialcredit.identity.registry import register_organisation, register_person
from socialcredit.lists import rescore_and_list, update_lists
from socialcredit.measures import register_party
from socialcredit.records.ingest import import_feed
from socialcredit.records.providers import add_provider
from socialcredit.synth.history import simulate_arrival
from socialcredit.synth.ids import make_ric, make_uscc, random_birth
from socialcredit.synth.names import company_name, person_name
from socialcredit.web.settings import WebSettings
from socialcredit.web.state import WebState
from tests.records.conftest import row, write_csv

COURT = "上海市高级人民法院"
POLICE = "上海市公安局交通警察总队"
PARTY = "上海某某科技有限公司人事部"
XSS_NAME = '<script>alert("xss")</script>'


@dataclass
class Person:
    number: str
    name: str
    id: int = 0


@dataclass
class WebWorld:
    engine: Engine
    tmp: Path
    subject: Person  # logs in; on the black list; has a traffic record
    xss: Person  # on the black list, with a script for a name
    clean: Person  # no record at all
    jiangsu: Person
    org: Person
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def full_ids(self) -> list[str]:
        return [p.number for p in (self.subject, self.xss, self.clean, self.jiangsu, self.org)]

    def entry_id(self, person: Person) -> int:
        with self.engine.connect() as conn:
            found = conn.scalar(
                select(ListEntry.id).where(
                    ListEntry.subject_id == person.id, ListEntry.status == "published"
                )
            )
        assert found is not None, f"{person.name} is not published"
        return int(found)


def _import(engine: Engine, tmp: Path, provider: str, rows: list[dict[str, object]]) -> None:
    path = write_csv(tmp / f"{provider}-{len(list(tmp.iterdir()))}.csv", rows)
    import_feed(engine, path, provider=provider, parallel=False)


def build_world(engine: Engine, tmp: Path) -> WebWorld:
    rng = random.Random(2026_11_27)
    today = dt.date.today()

    def person(province: str, name: str | None = None) -> Person:
        birth = random_birth(rng, today=today, min_age=25, max_age=60)
        return Person(make_ric(rng, birth=birth, province=province), name or person_name(rng))

    subject, xss, clean, jiangsu = person("31"), person("31", XSS_NAME), person("31"), person("32")
    org_code = make_uscc(rng, province="31")
    org = Person(org_code, company_name(rng, org_code[2:4]))
    with session_scope(engine) as s:
        for p in (subject, xss, clean, jiangsu):
            p.id = register_person(s, number=p.number, name=p.name).id
        org.id = register_organisation(s, code=org.number, name=org.name, legal_rep=clean.number).id
        add_provider(
            s,
            name=COURT,
            kind="court",
            region_code="310000",
            record_types=["court.dishonest_debtor"],
        )
        add_provider(
            s,
            name=POLICE,
            kind="traffic_police",
            region_code="310000",
            record_types=["traffic.speeding", "traffic.red_light"],
        )
        register_party(s, name=PARTY, kind="employer", region="310000", purposes=["employment"])
    decided = today - dt.timedelta(days=60)
    _import(
        engine,
        tmp,
        COURT,
        [
            row(
                provider_record_id=f"SH-COURT-{i}",
                subject_id=p.number,
                record_type="court.dishonest_debtor",
                decision_ref=f"（{decided.year}）沪01执{1200 + i}号",
                decided_on=decided.isoformat(),
            )
            for i, p in enumerate((subject, xss))
        ],
    )
    _import(
        engine,
        tmp,
        POLICE,
        [
            row(
                provider_record_id="SH-TP-1",
                subject_id=subject.number,
                record_type="traffic.speeding",
                decision_ref=f"沪公交决字〔{today.year}〕第012345号",
                decided_on=(today - dt.timedelta(days=20)).isoformat(),
            ),
            # Rejected: an ID number with a wrong check character.
            row(
                provider_record_id="SH-TP-2",
                subject_id=subject.number[:17] + ("0" if subject.number[17] != "0" else "1"),
                record_type="traffic.speeding",
                decided_on=(today - dt.timedelta(days=10)).isoformat(),
            ),
        ],
    )
    simulate_arrival(engine)
    ids = [subject.id, xss.id, clean.id, jiangsu.id, org.id]
    # Entered three weeks ago, so the notice period is over and today's run publishes.
    with engine.begin() as conn:
        update_lists(conn, ids, today - dt.timedelta(days=21))
    rescore_and_list(engine, ids, today)
    world = WebWorld(engine, tmp, subject, xss, clean, jiangsu, org)
    with engine.begin() as conn:
        world.keys = {
            "subject": create_key(
                conn, role="subject", label="web subject", subject=subject.number
            ),
            "regulator": create_key(conn, role="regulator", label="web regulator"),
            "caseworker": create_key(conn, role="caseworker", label="web caseworker"),
            "relying_party": create_key(
                conn, role="relying_party", label="web party", relying_party=PARTY
            ),
        }
    return world


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> WebWorld:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    return build_world(engine, feeds)


def web_settings(tmp: Path, **overrides: Any) -> WebSettings:
    values: dict[str, Any] = {"secret": "test-secret", "evidence_dir": tmp / "evidence"}
    values.update(overrides)
    return WebSettings(**values)


def make_client(
    engine: Engine, tmp: Path, *, api: ApiSettings | None = None, **overrides: Any
) -> TestClient:
    app = create_app(engine, api or ApiSettings())
    app.state.web = WebState.create(web_settings(tmp, **overrides))
    # https: the session cookie is Secure, and a client sends it back over https only.
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)


@pytest.fixture
def client(
    world: WebWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("SOCIALCREDIT_SIGNING_KEY", str(tmp_path / "signing-key.pem"))
    with make_client(world.engine, tmp_path) as c:
        yield c


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def login(client: TestClient, key: str) -> Any:
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"key": key, "csrf": token}, follow_redirects=False)


def audit_rows(engine: Engine, action: str) -> list[Any]:
    t = AuditEntry.__table__
    with engine.connect() as conn:
        return list(conn.execute(select(t).where(t.c.action == action).order_by(t.c.seq)))


FULL_RIC = re.compile(r"(?<![0-9A-Z])[1-9]\d{16}[\dX](?![0-9A-Z])")


def assert_no_full_ids(html: str, numbers: list[str]) -> None:
    """No registered number appears whole, and nothing shaped like a resident ID does."""
    for number in numbers:
        assert number not in html, f"full ID {number[:4]}… shown"
    assert not FULL_RIC.search(html), FULL_RIC.search(html)


# --- a demo-like pilot, built once per session -------------------------------------------


@dataclass
class DemoPilot:
    engine: Engine
    url: str
    keys: dict[str, str]
    xss_entry: int  # a published black-list entry whose subject's name is a script


def build_demo_pilot(work: Path) -> DemoPilot:
    """What ``socialcredit demo`` builds, at a tenth of a percent of its size: generated
    subjects and feeds through the real registry and importer, scored, listed, a key per
    role. One listed person is renamed to a script, as a hostile feed might have it."""
    from socialcredit.db.engine import make_engine
    from socialcredit.policy import load_policies
    from socialcredit.scoring.population import rescore_population, update_all_lists
    from socialcredit.synth.demo import build_pilot
    from socialcredit.synth.demo_access import create_sample_access

    url = f"sqlite:///{work / 'pilot.db'}"
    engine = make_engine(url)
    build_pilot(engine, work, persons=400, orgs=40)
    simulate_arrival(engine)
    today = dt.date.today()
    update_all_lists(engine, today - dt.timedelta(days=21), load_policies(), lambda *_args: None)
    rescore_population(engine, engine_name="duckdb", as_of=today)
    keys = {k.role: k.key for k in create_sample_access(engine)}
    with engine.begin() as conn:
        demo_subject = conn.scalar(select(ApiKey.subject_id).where(ApiKey.role == "subject"))
        entry = conn.execute(
            select(ListEntry.id, ListEntry.subject_id)
            .where(
                ListEntry.status == "published",
                ListEntry.list_name == "black",
                ListEntry.subject_id != demo_subject,
            )
            .order_by(ListEntry.id)
            .limit(1)
        ).one()
        conn.execute(update(Subject).where(Subject.id == entry.subject_id).values(name=XSS_NAME))
    return DemoPilot(engine, url, keys, int(entry.id))


@pytest.fixture(scope="session")
def demo_pilot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPilot]:
    pilot = build_demo_pilot(tmp_path_factory.mktemp("demo"))
    yield pilot
    pilot.engine.dispose()
