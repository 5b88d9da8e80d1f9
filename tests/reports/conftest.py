"""A small YRD world for report and certificate tests, and a signing key of their own.

The world (subjects, authorities, dated feeds) is the list tests'. Every test here signs
with a key in its own temporary directory, never with the operator's key.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from socialcredit.casework.common import Actor
from socialcredit.casework.objections import file_objection
from socialcredit.config import ENV_SIGNING_KEY
from socialcredit.db.models import Record
from socialcredit.reports import SigningKey, load_signing_key
from socialcredit.scoring.store import rescore_subjects
from tests.lists.conftest import COURT, POLICE, REGULATOR, Subj, World, world

__all__ = ["COURT", "POLICE", "REGULATOR", "Subj", "World", "world"]

D = dt.date
# A fixed "today" for the stored world, far enough from the real today that no window
# used below runs out whenever the tests run.
TODAY = D(2026, 11, 27)


@pytest.fixture(autouse=True)
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """SOCIALCREDIT_SIGNING_KEY pointing into this test's directory (created on first use)."""
    path = tmp_path / "keys" / "signing-key.pem"
    monkeypatch.setenv(ENV_SIGNING_KEY, str(path))
    return path


@pytest.fixture
def signing_key(key_file: Path) -> SigningKey:
    return load_signing_key(key_file)


def record_id(engine: Engine, prid: str) -> int:
    """The newest version's id of the record with this provider record id."""
    with engine.connect() as conn:
        rid = conn.scalar(
            select(Record.id)
            .where(Record.provider_record_id == prid)
            .order_by(Record.version.desc())
            .limit(1)
        )
    assert rid is not None
    return int(rid)


def object_to(engine: Engine, subject: Subj, prid: str, on: dt.date) -> int:
    """The subject files an objection against one of its records; returns the record id."""
    rid = record_id(engine, prid)
    file_objection(
        engine,
        actor=Actor(name="test subject", role="subject", subject_id=subject.id),
        reason="该处罚决定已被复议撤销 / the decision was overturned on review",
        on=on,
        record_id=rid,
    )
    return rid


def score(engine: Engine, subject: Subj, as_of: dt.date) -> None:
    rescore_subjects(engine, [subject.id], as_of=as_of)
