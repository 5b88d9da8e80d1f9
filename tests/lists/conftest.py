"""A small YRD world for list and measures tests: subjects of chosen province and age,
the authorities that furnish list-relevant records, and feeds dated as the test says."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from socialcredit.db.engine import session_scope
from socialcredit.db.models import ListEntry, ListTransition, Record, RecordStatusEvent
from socialcredit.identity.registry import register_organisation, register_person
from socialcredit.lists import ListChange, update_lists
from socialcredit.records.ingest import import_feed
from socialcredit.records.providers import add_provider
from socialcredit.synth.ids import make_ric, make_uscc
from socialcredit.synth.names import company_name, person_name
from tests.records.conftest import row, write_csv

COURT = "上海市高级人民法院"
REGULATOR = "上海市市场监督管理局"
TAX = "国家税务总局上海市税务局"
CIVIL = "上海市民政局"
POLICE = "上海市公安局交通警察总队"

D = dt.date


@dataclass(frozen=True)
class Subj:
    number: str
    id: int
    name: str


@dataclass
class World:
    engine: Engine
    tmp: Path
    rng: random.Random
    _files: itertools.count[int] = field(default_factory=itertools.count)

    def person(self, *, birth: dt.date = D(1985, 5, 5), province: str = "31") -> Subj:
        number = make_ric(self.rng, birth=birth, province=province)
        name = person_name(self.rng)
        with session_scope(self.engine) as s:
            sid = register_person(s, number=number, name=name).id
        return Subj(number, sid, name)

    def org(self, legal_rep: Subj, *, province: str = "31") -> Subj:
        code = make_uscc(self.rng, province=province)
        name = company_name(self.rng, code[2:4])
        with session_scope(self.engine) as s:
            sid = register_organisation(s, code=code, name=name, legal_rep=legal_rep.number).id
        return Subj(code, sid, name)

    def _import(self, provider: str, rows: list[dict[str, object]], today: dt.date) -> None:
        path = write_csv(self.tmp / f"feed-{next(self._files)}.csv", rows)
        result = import_feed(self.engine, path, provider=provider, today=today)
        assert result.rejected == 0, result

    def record(
        self,
        provider: str,
        subject: Subj,
        record_type: str,
        decided_on: dt.date,
        *,
        prid: str,
        recorded: dt.datetime | None = None,
        amount_cny: int | None = None,
        action: str = "record",
    ) -> str:
        """Import one record and date its arrival (default: 10:00 on the decision day)."""
        values: dict[str, object] = {
            "provider_record_id": prid,
            "subject_id": subject.number,
            "record_type": record_type,
            "decided_on": decided_on.isoformat(),
            "decision_ref": f"（{decided_on.year}）沪执{prid}号",
            "action": action,
        }
        if amount_cny is not None:
            values["amount_cny"] = str(amount_cny)
        self._import(provider, [row(**values)], max(decided_on, dt.date.today()))
        when = recorded or dt.datetime.combine(decided_on, dt.time(10))
        with session_scope(self.engine) as s:
            newest = s.scalar(
                select(Record.id)
                .where(Record.provider_record_id == prid)
                .order_by(Record.version.desc())
                .limit(1)
            )
            s.execute(update(Record).where(Record.id == newest).values(recorded_at=when))
            # A correction also marks the previous version as superseded, at the same time.
            s.execute(
                update(RecordStatusEvent)
                .where(
                    RecordStatusEvent.record_id.in_(
                        select(Record.id).where(Record.provider_record_id == prid)
                    ),
                    RecordStatusEvent.status == "corrected",
                    RecordStatusEvent.recorded_at > when,
                )
                .values(recorded_at=when)
            )
        return prid

    def annul(self, provider: str, prid: str, recorded: dt.datetime, *, ref: str) -> None:
        self._import(
            provider,
            [row(provider_record_id=prid, action="annul", decision_ref=ref)],
            recorded.date(),
        )
        with session_scope(self.engine) as s:
            s.execute(
                update(RecordStatusEvent)
                .where(
                    RecordStatusEvent.record_id.in_(
                        select(Record.id).where(Record.provider_record_id == prid)
                    ),
                    RecordStatusEvent.status == "annulled",
                )
                .values(recorded_at=recorded)
            )

    def update(self, as_of: dt.date, *subjects: Subj) -> list[ListChange]:
        with self.engine.begin() as conn:
            return update_lists(conn, [s.id for s in subjects], as_of)

    def entries(self, subject: Subj) -> list[ListEntry]:
        with session_scope(self.engine) as s:
            return list(
                s.scalars(
                    select(ListEntry)
                    .where(ListEntry.subject_id == subject.id)
                    .order_by(ListEntry.id)
                )
            )

    def history(self, entry_id: int) -> list[tuple[str | None, str, dt.date]]:
        with session_scope(self.engine) as s:
            return [
                (t.from_status, t.to_status, t.on)
                for t in s.scalars(
                    select(ListTransition)
                    .where(ListTransition.entry_id == entry_id)
                    .order_by(ListTransition.id)
                )
            ]

    def row_counts(self) -> tuple[int, int]:
        with session_scope(self.engine) as s:
            entries = len(list(s.scalars(select(ListEntry.id))))
            transitions = len(list(s.scalars(select(ListTransition.id))))
        return entries, transitions


@pytest.fixture
def world(engine: Engine, rng: random.Random, tmp_path: Path) -> World:
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
        add_provider(s, name=TAX, kind="tax_bureau", region_code="31", record_types=["tax.evasion"])
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
            record_types=["traffic.speeding"],
        )
    return World(engine, tmp_path, rng)
