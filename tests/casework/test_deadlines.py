"""Every due-process deadline in working days, with fixed dates: an ordinary weekend, the
2026 National Day holiday (1–7 Oct off; Sunday 20 Sep and Saturday 10 Oct worked), New Year
2027 and the 2027 Spring Festival (5–10 Feb off), as the ``holidays`` package has them.
The store scenarios check that the deadlines are stored when the case opens (SQLite and
PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from socialcredit.casework import objections, repair
from socialcredit.casework.annulments import REMOVAL_WORKING_DAYS
from socialcredit.casework.calendar import add_working_days, is_working_day
from socialcredit.db.models import Objection, RepairApplication

from .conftest import CW, POLICE, TAX, Casework, D


def test_the_calendar_the_scenarios_rely_on() -> None:
    # If the holidays package changes its 2026/2027 data, these scenarios must be revisited.
    assert not any(is_working_day(D(2026, 10, d)) for d in range(1, 8))
    assert is_working_day(D(2026, 10, 8))
    assert is_working_day(D(2026, 9, 20)) and is_working_day(D(2026, 10, 10))  # make-up days
    assert not is_working_day(D(2026, 9, 25))  # Mid-Autumn Festival
    assert not is_working_day(D(2027, 1, 1))
    assert not any(is_working_day(D(2027, 2, d)) for d in range(5, 11))
    assert is_working_day(D(2027, 2, 11))


@pytest.mark.parametrize(
    ("filed", "flag", "forward", "decision"),
    [
        # Friday: the weekend does not count. 5 working days after Tue 24 Nov: 25-27, 30, 1 Dec.
        (D(2026, 11, 20), D(2026, 11, 23), D(2026, 11, 24), D(2026, 12, 1)),
        # Filed on a Saturday: the first working day after it is Monday.
        (D(2026, 11, 21), D(2026, 11, 23), D(2026, 11, 24), D(2026, 12, 1)),
        # Friday 18 Sep: the make-up Sunday 20 Sep is a working day, so the flag is due then;
        # Friday 25 Sep (Mid-Autumn) is off.
        (D(2026, 9, 18), D(2026, 9, 20), D(2026, 9, 21), D(2026, 9, 29)),
        # The eve of National Day: 1-7 Oct off, then Thu 8, Fri 9, the make-up Saturday 10,
        # Mon 12 ... Plain weekdays would say 1 Oct, 2 Oct and 9 Oct.
        (D(2026, 9, 30), D(2026, 10, 8), D(2026, 10, 9), D(2026, 10, 15)),
        # Filed in the holiday itself.
        (D(2026, 10, 3), D(2026, 10, 8), D(2026, 10, 9), D(2026, 10, 15)),
        # New Year 2027: Thu 31 Dec, then Fri 1 Jan off and the weekend.
        (D(2026, 12, 30), D(2026, 12, 31), D(2027, 1, 4), D(2027, 1, 11)),
        # Spring Festival 2027: 5-10 Feb off.
        (D(2027, 2, 4), D(2027, 2, 11), D(2027, 2, 12), D(2027, 2, 19)),
    ],
)
def test_objection_deadlines(filed: D, flag: D, forward: D, decision: D) -> None:
    due = objections.deadlines(filed)
    assert (due.flag, due.forward, due.decision) == (flag, forward, decision)


def test_repair_and_removal_deadlines() -> None:
    # Three working days: across the Spring Festival, and across National Day with its
    # make-up Saturday.
    assert add_working_days(D(2027, 2, 4), repair.DECISION_WORKING_DAYS) == D(2027, 2, 15)
    assert add_working_days(D(2026, 9, 30), REMOVAL_WORKING_DAYS) == D(2026, 10, 10)
    assert add_working_days(D(2026, 11, 27), REMOVAL_WORKING_DAYS) == D(2026, 12, 2)


def test_deadlines_are_stored_when_the_case_opens(world: Casework) -> None:
    driver = world.person()
    world.record(POLICE, driver, "traffic.speeding", D(2026, 9, 14), prid="SP-1")
    view = objections.file_objection(
        world.engine,
        actor=world.subject(driver),
        record_id=world.record_id("SP-1"),
        reason="当日车辆停放在小区车库，有物业监控为证",
        on=D(2026, 9, 30),
    )
    with world.engine.connect() as conn:
        row = conn.execute(select(Objection).where(Objection.id == view.id)).one()
    assert (row.filed_on, row.flag_due, row.forward_due, row.decision_due) == (
        D(2026, 9, 30),
        D(2026, 10, 8),
        D(2026, 10, 9),
        D(2026, 10, 15),
    )

    taxpayer = world.person()
    world.record(TAX, taxpayer, "tax.arrears", D(2026, 4, 20), prid="TX-1", amount_cny=3200)
    app = repair.apply_for_repair(
        world.engine,
        actor=CW,
        record_id=world.record_id("TX-1"),
        obligations=["欠缴税款及滞纳金已于2027年1月全部补缴"],
        commitment="本人承诺今后依法按期申报纳税，如有违反愿承担相应责任",
        on=D(2027, 2, 4),
    )
    with world.engine.connect() as conn:
        due = conn.scalar(
            select(RepairApplication.decision_due).where(RepairApplication.id == app.id)
        )
    assert due == D(2027, 2, 15)
