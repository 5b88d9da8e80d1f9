"""A small YRD world for due-process scenarios: the list tests' world (subjects of chosen
province and age, the authorities that furnish list-relevant records, feeds dated as the
test says) plus relying parties with keys, and casework actors."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from socialcredit.access import create_key
from socialcredit.casework.common import Actor
from socialcredit.db.engine import session_scope
from socialcredit.db.models import AuditEntry, Provider, Record, Score
from socialcredit.measures import register_party
from socialcredit.records.providers import add_provider
from tests.lists.conftest import CIVIL, COURT, POLICE, REGULATOR, TAX, D, Subj, World

__all__ = ["COURT", "POLICE", "REGULATOR", "TAX", "D", "Subj"]

EMPLOYER = "上海浦东新区某人力资源有限公司"
BANK = "江苏银行南京分行信贷部"
SCHOOL = "杭州市西湖区某民办学校"
CW = Actor("cw-王芳", "caseworker")

# Tables whose row counts must not move when a step is refused.
CASE_TABLES = (
    "objections",
    "objection_events",
    "repair_applications",
    "annulments",
    "notifications",
    "maintenance_runs",
    "records",
    "record_status_events",
    "list_entries",
    "list_transitions",
    "scores",
)


@dataclass
class Casework(World):
    """The list world with what casework scenarios need."""

    def record_id(self, prid: str) -> int:
        with self.engine.connect() as conn:
            rid = conn.scalar(
                select(Record.id)
                .where(Record.provider_record_id == prid)
                .order_by(Record.version.desc())
                .limit(1)
            )
        assert rid is not None, prid
        return int(rid)

    def provider(self, name: str) -> Actor:
        with self.engine.connect() as conn:
            pid = conn.scalar(select(Provider.id).where(Provider.name == name))
        return Actor(f"prv-{pid}", "provider", provider_id=pid)

    @staticmethod
    def subject(subj: Subj) -> Actor:
        return Actor(f"sub-{subj.id}", "subject", subject_id=subj.id)

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                t: int(conn.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in CASE_TABLES
            }

    def audit(self, action: str) -> list[Any]:
        t = AuditEntry.__table__
        with self.engine.connect() as conn:
            return list(conn.execute(select(t).where(t.c.action == action).order_by(t.c.seq)))

    def latest_score(self, subj: Subj, as_of: dt.date) -> Score | None:
        with session_scope(self.engine) as s:
            return s.scalars(
                select(Score)
                .where(Score.subject_id == subj.id, Score.as_of == as_of)
                .order_by(Score.computed_at.desc(), Score.id.desc())
                .limit(1)
            ).first()

    def scores_as_of(self, subj: Subj, as_of: dt.date) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.scalar(
                    select(func.count()).where(Score.subject_id == subj.id, Score.as_of == as_of)
                )
                or 0
            )

    def party_key(self, name: str) -> str:
        with self.engine.begin() as conn:
            return create_key(conn, role="relying_party", label=f"test {name}", relying_party=name)


@pytest.fixture
def world(engine: Engine, rng: random.Random, tmp_path: Path) -> Casework:
    with session_scope(engine) as s:
        add_provider(
            s,
            name=COURT,
            kind="court",
            region_code="31",
            record_types=["court.dishonest_debtor", "court.consumption_restriction"],
        )
        add_provider(
            s,
            name=REGULATOR,
            kind="market_regulator",
            region_code="31",
            record_types=["fraud.contract", "fraud.telecom", "market.food_safety"],
        )
        add_provider(
            s,
            name=TAX,
            kind="tax_bureau",
            region_code="31",
            record_types=["tax.evasion", "tax.arrears", "tax.late_filing"],
        )
        add_provider(
            s,
            name=CIVIL,
            kind="civil_affairs",
            region_code="31",
            record_types=["commendation.heroic_act", "commendation.model_worker"],
        )
        add_provider(
            s,
            name=POLICE,
            kind="traffic_police",
            region_code="31",
            record_types=["traffic.speeding", "traffic.drunk_driving"],
        )
        register_party(s, name=EMPLOYER, kind="employer", region="310000", purposes=["employment"])
        register_party(
            s, name=BANK, kind="bank", region="320100", purposes=["financial_credit", "employment"]
        )
        register_party(s, name=SCHOOL, kind="school", region="330100", purposes=["employment"])
    return Casework(engine, tmp_path, rng)


def day_of(value: dt.date) -> dt.datetime:
    return dt.datetime.combine(value, dt.time(10))


__all__ += ["BANK", "CW", "EMPLOYER", "SCHOOL", "Casework", "day_of"]
