from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import Engine, select

from socialcredit.db.engine import session_scope
from socialcredit.db.models import RegistryEvent, Subject
from socialcredit.identity.registry import (
    RegistryError,
    link_account,
    register_organisation,
    register_person,
    register_profession,
)
from socialcredit.records.providers import add_provider
from socialcredit.synth.ids import make_ric, make_uscc
from tests.conftest import People


def test_person_fields_come_from_the_number(engine: Engine, rng: random.Random) -> None:
    number = make_ric(rng, birth=dt.date(1992, 6, 30), sex="F", division="320583")
    with session_scope(engine) as session:
        register_person(session, number=number, name=" 陈  静 ")
    with session_scope(engine) as session:
        s = session.scalar(select(Subject).where(Subject.code == number))
        assert s is not None
        assert (s.birth_date, s.sex, s.division_code) == (dt.date(1992, 6, 30), "F", "320583")
        assert (s.province_code, s.city_code, s.name) == ("32", "3205", "陈静")


def test_duplicate_and_invalid_persons_are_refused(engine: Engine, people: People) -> None:
    number, name = people.persons[0]
    with pytest.raises(RegistryError, match="already registered"), session_scope(engine) as session:
        register_person(session, number=number, name=name)
    bad = number[:-1] + ("0" if number[-1] != "0" else "1")
    with pytest.raises(RegistryError, match="check character"), session_scope(engine) as session:
        register_person(session, number=bad, name=name)


def test_org_needs_registered_legal_rep(engine: Engine, rng: random.Random, people: People) -> None:
    code = make_uscc(rng, province="33")
    stranger = make_ric(rng, birth=dt.date(1980, 1, 1))
    with pytest.raises(RegistryError, match="legal representative"), session_scope(engine) as s:
        register_organisation(s, code=code, name="浙江天成科技有限公司", legal_rep=stranger)


def test_legacy_code_only_with_recorded_override(
    engine: Engine, rng: random.Random, people: People
) -> None:
    code = make_uscc(rng, province="31")
    legacy = code[:-1] + ("0" if code[-1] != "0" else "1")
    rep = people.persons[1][0]
    with pytest.raises(RegistryError, match="override"), session_scope(engine) as s:
        register_organisation(s, code=legacy, name="上海申通物流有限公司", legal_rep=rep)
    with session_scope(engine) as s:
        org = register_organisation(
            s,
            code=legacy,
            name="上海申通物流有限公司",
            legal_rep=rep,
            override_reason="2015年前登记，换证中",
        )
        assert org.check_override and org.override_reason == "2015年前登记，换证中"
    with session_scope(engine) as s:
        actions = list(s.scalars(select(RegistryEvent.action)))
        assert "organisation.register.override" in actions


def test_account_link_requires_matching_name(engine: Engine, people: People) -> None:
    number, name = people.persons[2]
    with session_scope(engine) as s:
        add_provider(s, name="中国移动上海公司", kind="telecom", region_code="31", record_types=[])
        add_provider(s, name="上海市税务局", kind="tax_bureau", region_code="31", record_types=[])
    with pytest.raises(RegistryError, match="do not match"), session_scope(engine) as s:
        link_account(
            s,
            provider="中国移动上海公司",
            account_id="13800000001",
            number=number,
            name=name + "华",
        )
    with pytest.raises(RegistryError, match="only"), session_scope(engine) as s:
        link_account(s, provider="上海市税务局", account_id="x1", number=number, name=name)
    with session_scope(engine) as s:
        link_account(
            s, provider="中国移动上海公司", account_id="13800000001", number=number, name=name
        )
    # Linking the same account again to the same person is harmless; to another is refused.
    with session_scope(engine) as s:
        link_account(
            s, provider="中国移动上海公司", account_id="13800000001", number=number, name=name
        )
    other_number, other_name = people.persons[3]
    with pytest.raises(RegistryError, match="another person"), session_scope(engine) as s:
        link_account(
            s,
            provider="中国移动上海公司",
            account_id="13800000001",
            number=other_number,
            name=other_name,
        )


def test_professions_enabled_by_date(engine: Engine, people: People) -> None:
    number = people.persons[0][0]
    employer = people.orgs[0][0]
    with session_scope(engine) as s:
        register_profession(
            s,
            number=number,
            profession="doctor",
            licence_no="110310000012345",
            employer=employer,
            on=dt.date(2026, 5, 1),
        )
    with pytest.raises(RegistryError, match="enabled from 2027-01-01"), session_scope(engine) as s:
        register_profession(
            s,
            number=number,
            profession="teacher",
            licence_no="T-2026-1",
            employer=None,
            on=dt.date(2026, 11, 27),
        )
    with session_scope(engine) as s:
        register_profession(
            s,
            number=number,
            profession="teacher",
            licence_no="T-2027-1",
            employer=None,
            on=dt.date(2027, 1, 1),
        )
