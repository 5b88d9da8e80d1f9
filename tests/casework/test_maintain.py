"""``maintain`` (SQLite and PostgreSQL): the daily job catching up from 30 December 2026 to
4 January 2027 across the year boundary and the New Year holiday, one day at a time, each
move dated on its own day; and running it again changes nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update

from socialcredit.casework import objections, repair
from socialcredit.casework.maintenance import days_to_run, maintain
from socialcredit.db.models import (
    MaintenanceRun,
    Objection,
    ObjectionEvent,
    Record,
    RecordStatusEvent,
    RepairApplication,
)
from socialcredit.scoring.store import compute
from tests.records.conftest import row

from .conftest import COURT, CW, POLICE, REGULATOR, TAX, Casework, D, Subj


def _with_conduct_end(world: Casework, subject: Subj, prid: str, decided: D, ended: D) -> None:
    """A fraud record whose conduct ended long before the decision (the query bar runs
    from the end of the conduct)."""
    world._import(
        REGULATOR,
        [
            row(
                provider_record_id=prid,
                subject_id=subject.number,
                record_type="fraud.contract",
                decided_on=decided.isoformat(),
                conduct_ended_on=ended.isoformat(),
                decision_ref=f"沪市监罚〔{decided.year}〕{prid}号",
                amount_cny="120000",
            )
        ],
        D(2026, 11, 27),
    )
    with world.engine.begin() as conn:
        conn.execute(
            update(Record)
            .where(Record.provider_record_id == prid)
            .values(recorded_at=dt.datetime.combine(decided, dt.time(10)))
        )


def _events(world: Casework, prid: str) -> list[tuple[str, str, dt.datetime]]:
    with world.engine.connect() as conn:
        return [
            (e.status, e.reason or "", e.recorded_at)
            for e in conn.execute(
                select(RecordStatusEvent)
                .where(RecordStatusEvent.record_id == world.record_id(prid))
                .order_by(RecordStatusEvent.recorded_at, RecordStatusEvent.id)
            )
        ]


def test_days_are_stepped_across_the_year_boundary() -> None:
    assert days_to_run(D(2026, 12, 30), D(2027, 1, 4)) == [
        D(2026, 12, 31),
        D(2027, 1, 1),
        D(2027, 1, 2),
        D(2027, 1, 3),
        D(2027, 1, 4),
    ]
    assert days_to_run(None, D(2027, 1, 4)) == [D(2027, 1, 4)]
    assert days_to_run(D(2027, 1, 4), D(2027, 1, 4)) == []
    assert days_to_run(D(2027, 1, 4), D(2027, 1, 2)) == []
    # A leap day on the way.
    assert len(days_to_run(D(2028, 2, 27), D(2028, 3, 1))) == 3


def test_maintain_catches_up_from_30_december_to_4_january(world: Casework) -> None:
    driver, debtor, taxpayer, fraudster = (world.person() for _ in range(4))
    # Traffic records are shown for 3 months: these end on 1 and 2 January.
    world.record(POLICE, driver, "traffic.speeding", D(2026, 10, 1), prid="SP-1")
    world.record(POLICE, driver, "traffic.speeding", D(2026, 10, 2), prid="SP-2")
    world.record(POLICE, driver, "traffic.speeding", D(2026, 12, 1), prid="SP-3")
    # A black-list entry under notice until 30 December (5 working days from the 23rd).
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 12, 17), prid="E-1")
    world.update(D(2026, 12, 23), debtor)
    (entry,) = world.entries(debtor)
    assert (entry.status, entry.notice_until) == ("pending_notice", D(2026, 12, 30))
    # Conduct ended 2 January 2022: the 5-year query bar falls on 2 January 2027.
    _with_conduct_end(world, fraudster, "F-1", D(2026, 10, 12), D(2022, 1, 2))
    # An objection filed on 30 December, flag due on the 31st, and never flagged; a repair
    # application filed on the 28th, due on the 31st, and never decided.
    world.record(TAX, taxpayer, "tax.arrears", D(2026, 4, 20), prid="TA-1", amount_cny=3200)
    late_objection = objections.file_objection(
        world.engine,
        actor=world.subject(driver),
        record_id=world.record_id("SP-3"),
        reason="测速设备未经检定",
        on=D(2026, 12, 30),
    )
    late_repair = repair.apply_for_repair(
        world.engine,
        actor=CW,
        record_id=world.record_id("TA-1"),
        obligations=["欠缴税款已补缴"],
        commitment="承诺依法按期纳税",
        on=D(2026, 12, 28),
    )
    assert (late_objection.flag_due, late_repair.decision_due) == (D(2026, 12, 31),) * 2

    first = maintain(world.engine, as_of=D(2026, 12, 30))
    assert [d.day for d in first.days] == [D(2026, 12, 30)]
    assert (first.days[0].expired, first.days[0].barred, first.days[0].list_changes) == (0, 0, 0)

    result = maintain(world.engine, as_of=D(2027, 1, 4))
    by_day = {d.day: d for d in result.days}
    assert list(by_day) == [
        D(2026, 12, 31),
        D(2027, 1, 1),
        D(2027, 1, 2),
        D(2027, 1, 3),
        D(2027, 1, 4),
    ]
    # 31 Dec: the notice is over, the entry is published that day.
    assert by_day[D(2026, 12, 31)].list_changes == 1
    (entry,) = world.entries(debtor)
    assert (entry.status, entry.published_on) == ("published", D(2026, 12, 31))
    # 1 Jan (a holiday, still a day): SP-1's window ends; both overdue cases escalate.
    assert by_day[D(2027, 1, 1)].expired == 1
    assert by_day[D(2027, 1, 1)].escalated_objections == [late_objection.id]
    assert by_day[D(2027, 1, 1)].escalated_repairs == [late_repair.id]
    # 2 Jan: SP-2's window ends; the fraud record reaches its query bar.
    assert (by_day[D(2027, 1, 2)].expired, by_day[D(2027, 1, 2)].barred) == (1, 1)
    assert all(by_day[d].expired == by_day[d].barred == 0 for d in (D(2027, 1, 3), D(2027, 1, 4)))

    assert _events(world, "SP-1") == [
        ("expired", "display window of 3 months ended on 2027-01-01", dt.datetime(2027, 1, 1))
    ]
    ((status, reason, at),) = _events(world, "F-1")
    assert (status, at) == ("expired", dt.datetime(2027, 1, 2))
    assert reason.startswith("query bar reached on 2027-01-02") and "5 years" in reason
    assert _events(world, "SP-3") == []
    with world.engine.connect() as conn:
        statuses = dict(
            conn.execute(
                select(Record.provider_record_id, Record.status).where(
                    Record.provider_record_id.in_(["SP-1", "SP-2", "SP-3", "F-1"])
                )
            ).all()
        )
        escalated = conn.scalar(
            select(Objection.escalated_on).where(Objection.id == late_objection.id)
        )
        step = conn.execute(
            select(ObjectionEvent.action, ObjectionEvent.on, ObjectionEvent.reason)
            .where(ObjectionEvent.objection_id == late_objection.id)
            .order_by(ObjectionEvent.id.desc())
            .limit(1)
        ).one()
        repaired_due = conn.scalar(
            select(RepairApplication.escalated_on).where(RepairApplication.id == late_repair.id)
        )
        runs = list(conn.scalars(select(MaintenanceRun.day).order_by(MaintenanceRun.day)))
        # What the platform knew is unchanged for earlier days: SP-1 still counted on 31 Dec.
        (on_31,) = compute(conn, [driver.id], D(2026, 12, 31))
    assert statuses == {"SP-1": "expired", "SP-2": "expired", "SP-3": "active", "F-1": "expired"}
    assert escalated == repaired_due == D(2027, 1, 1)
    assert tuple(step) == ("escalated", D(2027, 1, 1), "flag was due on 2026-12-31")
    assert runs == [D(2026, 12, 30), *by_day]
    assert sum(c.record_id is not None for c in on_31.contributions if c.points) == 3
    assert [e.outcome for e in world.audit("maintenance.day")] == ["ok"] * 6
    assert result.rescored == 2  # the driver and the fraudster, as of 4 January

    # Running again, for the same day or an earlier one, changes nothing.
    before = world.counts()
    assert maintain(world.engine, as_of=D(2027, 1, 4)).days == []
    assert maintain(world.engine, as_of=D(2027, 1, 2)).days == []
    assert world.counts() == before
    # The next day is a normal day again.
    assert [d.day for d in maintain(world.engine, as_of=D(2027, 1, 5)).days] == [D(2027, 1, 5)]


def test_a_first_run_catches_every_past_expiry_at_once(world: Casework) -> None:
    driver = world.person()
    world.record(POLICE, driver, "traffic.speeding", D(2026, 4, 10), prid="SP-9")
    result = maintain(world.engine, as_of=D(2026, 11, 27))
    assert [(d.day, d.expired) for d in result.days] == [(D(2026, 11, 27), 1)]
    ((status, _reason, at),) = _events(world, "SP-9")
    assert (status, at) == ("expired", dt.datetime(2026, 7, 10))  # dated when it ended


def test_catch_up_completes_a_cascade_on_the_day_it_arrived_not_before(world: Casework) -> None:
    """An annulment recorded on 25 November whose cascade an import left undone is
    completed on the 25th of a catch-up run from the 21st: received and removed that day,
    not back-dated to the first day caught up."""
    from socialcredit.casework.annulments import list_annulments
    from socialcredit.db.models import Annulment, Notification

    debtor = world.person()
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 1), prid="E-7")
    maintain(world.engine, as_of=D(2026, 11, 20))
    world.annul(COURT, "E-7", dt.datetime(2026, 11, 25, 9), ref="撤销")
    with world.engine.begin() as conn:  # as if the import had died before its cascade
        conn.execute(delete(Notification))
        conn.execute(delete(Annulment))
    result = maintain(world.engine, as_of=D(2026, 11, 27))
    assert [(d.day, d.cascades) for d in result.days] == [
        (D(2026, 11, 21), 0),
        (D(2026, 11, 22), 0),
        (D(2026, 11, 23), 0),
        (D(2026, 11, 24), 0),
        (D(2026, 11, 25), 1),
        (D(2026, 11, 26), 0),
        (D(2026, 11, 27), 0),
    ]
    with world.engine.connect() as conn:
        (cascade,) = list_annulments(conn)
    assert (cascade.received_on, cascade.removed_on, cascade.late) == (
        D(2026, 11, 25),
        D(2026, 11, 25),
        False,
    )
