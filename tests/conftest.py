"""Shared fixtures: stores on SQLite and PostgreSQL, realistic subjects.

Store tests run on both back ends. PostgreSQL is expected at
127.0.0.1:5432 (user postgres, trust auth); when it is missing the tests skip
locally but fail when ``CI`` is set, so CI can never go green without them.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from socialcredit.db.engine import make_engine, session_scope
from socialcredit.db.setup import init_store
from socialcredit.identity.registry import register_organisation, register_person
from socialcredit.synth.ids import make_ric, make_uscc, random_birth
from socialcredit.synth.names import company_name, person_name

PG_ADMIN_URL = os.environ.get(
    "SOCIALCREDIT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TODAY = dt.date(2026, 11, 27)


@pytest.fixture(autouse=True, scope="session")
def _signing_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Certificates issued by tests are signed with a throwaway key, never one in the
    home directory (where the platform keeps its own by default)."""
    path = tmp_path_factory.mktemp("signing") / "signing-key.pem"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOCIALCREDIT_SIGNING_KEY", str(path))
        yield


def _pg_available() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # any failure to connect means "no server"
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The admin URL of a reachable PostgreSQL; an error under CI if there is none."""
    problem = _pg_available()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    yield PG_ADMIN_URL


def _fresh_pg_database(admin_url: str) -> tuple[str, str]:
    name = f"sc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name, name


def _drop_pg_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a fresh, empty database on each back end."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    admin_url = request.getfixturevalue("pg_server")
    url, name = _fresh_pg_database(admin_url)
    try:
        yield url
    finally:
        _drop_pg_database(admin_url, name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An initialised store (schema + catalogue) on each back end."""
    eng = make_engine(db_url)
    init_store(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    eng = make_engine(sqlite_url)
    init_store(eng)
    yield eng
    eng.dispose()


@dataclass
class People:
    """Registered synthetic subjects with their real numbers, for assertions."""

    persons: list[tuple[str, str]]  # (id number, name)
    orgs: list[tuple[str, str]]  # (credit code, name)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20261127)


def register_people(
    engine: Engine, rng: random.Random, *, n_persons: int = 5, n_orgs: int = 2
) -> People:
    persons: list[tuple[str, str]] = []
    orgs: list[tuple[str, str]] = []
    with session_scope(engine) as session:
        for _ in range(n_persons):
            number = make_ric(rng, birth=random_birth(rng, today=TODAY, min_age=18, max_age=80))
            name = person_name(rng)
            register_person(session, number=number, name=name)
            persons.append((number, name))
        for i in range(n_orgs):
            code = make_uscc(rng)
            name = company_name(rng, code[2:4])
            register_organisation(
                session, code=code, name=name, legal_rep=persons[i % n_persons][0]
            )
            orgs.append((code, name))
    return People(persons=persons, orgs=orgs)


@pytest.fixture
def people(engine: Engine, rng: random.Random) -> People:
    return register_people(engine, rng)
