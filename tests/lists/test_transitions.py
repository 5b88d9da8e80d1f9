"""List entries through notice, publication and exit, with fixed dates across the 2026
National Day holiday and its make-up Saturday (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from socialcredit.db.engine import session_scope
from socialcredit.db.models import Record, RescoreQueue, Score
from socialcredit.lists import due_subjects, rescore_and_list
from socialcredit.scoring.store import compute

from .conftest import COURT, REGULATOR, TAX, D, World

PENDING, PUBLISHED, EXITED = "pending_notice", "published", "exited"


def test_notice_counts_working_days_across_national_day(world: World) -> None:
    debtor = world.person()
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 24), prid="E-1")

    changes = world.update(D(2026, 9, 28), debtor)  # Monday
    (entry,) = world.entries(debtor)
    assert [(c.from_status, c.to_status) for c in changes] == [(None, PENDING)]
    assert (entry.list_name, entry.criterion, entry.status) == (
        "black",
        "court-dishonest-debtor",
        PENDING,
    )
    # Five working days after Monday 28 Sep: 29, 30 Sep, then 1-7 Oct are the National Day
    # holiday, then 8, 9 and the make-up Saturday 10 Oct. Plain weekdays would say 2 Oct.
    assert entry.entered_on == D(2026, 9, 28)
    assert entry.notice_until == D(2026, 10, 10)
    assert entry.planned_exit_on == D(2028, 9, 24)  # two years from the decision
    assert (entry.origin_province, entry.policy_id) == ("31", "cn-31-shanghai")
    assert "court.dishonest_debtor" in changes[0].reason

    assert world.update(D(2026, 10, 9), debtor) == []  # still under notice
    changes = world.update(D(2026, 10, 12), debtor)  # Monday after the make-up Saturday
    assert [(c.from_status, c.to_status, c.on) for c in changes] == [
        (PENDING, PUBLISHED, D(2026, 10, 12))
    ]
    (entry,) = world.entries(debtor)
    assert (entry.status, entry.published_on) == (PUBLISHED, D(2026, 10, 12))


def test_exit_on_annulment_is_dated_when_the_annulment_was_recorded(world: World) -> None:
    debtor = world.person()
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 24), prid="E-2")
    world.update(D(2026, 9, 28), debtor)
    world.update(D(2026, 10, 12), debtor)
    world.annul(COURT, "E-2", dt.datetime(2026, 11, 2, 9), ref="（2026）沪执异12号（履行完毕）")

    changes = world.update(D(2026, 11, 4), debtor)
    assert [(c.from_status, c.to_status, c.on) for c in changes] == [
        (PUBLISHED, EXITED, D(2026, 11, 2))
    ]
    (entry,) = world.entries(debtor)
    assert (entry.status, entry.exited_on) == (EXITED, D(2026, 11, 2))
    assert entry.exit_reason is not None
    assert "annulled" in entry.exit_reason and "履行完毕" in entry.exit_reason
    assert world.history(entry.id) == [
        (None, PENDING, D(2026, 9, 28)),
        (PENDING, PUBLISHED, D(2026, 10, 12)),
        (PUBLISHED, EXITED, D(2026, 11, 2)),
    ]


def test_a_late_run_dates_each_move_when_it_happened(world: World) -> None:
    debtor = world.person()
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 24), prid="E-3")
    world.update(D(2026, 9, 28), debtor)
    world.annul(COURT, "E-3", dt.datetime(2026, 11, 2, 9), ref="撤销")
    # No run between entry and 20 Nov: publication and exit are both caught up, each on
    # its own date, in order.
    changes = world.update(D(2026, 11, 20), debtor)
    assert [(c.from_status, c.to_status, c.on) for c in changes] == [
        (PENDING, PUBLISHED, D(2026, 10, 12)),
        (PUBLISHED, EXITED, D(2026, 11, 2)),
    ]


def test_annulled_during_notice_exits_unpublished(world: World) -> None:
    debtor = world.person()
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 24), prid="E-4")
    world.update(D(2026, 9, 28), debtor)
    world.annul(COURT, "E-4", dt.datetime(2026, 9, 30, 9), ref="撤销")
    changes = world.update(D(2026, 10, 12), debtor)
    assert [(c.from_status, c.to_status, c.on) for c in changes] == [
        (PENDING, EXITED, D(2026, 9, 30))
    ]
    (entry,) = world.entries(debtor)
    assert entry.published_on is None


def test_exit_on_expiry_at_the_end_of_the_display_window(world: World) -> None:
    debtor = world.person()
    # A consumption restriction from 2024: displayed for at most 24 months, until
    # 20 Nov 2026; court records count from 1 Jul 2026 (phased rollout).
    world.record(
        COURT,
        debtor,
        "court.consumption_restriction",
        D(2024, 11, 20),
        prid="R-1",
        recorded=dt.datetime(2026, 6, 1, 9),
    )
    assert world.update(D(2026, 6, 30), debtor) == []  # the category does not count yet
    world.update(D(2026, 7, 1), debtor)
    (entry,) = world.entries(debtor)
    assert entry.planned_exit_on == D(2026, 11, 20)
    world.update(D(2026, 7, 15), debtor)
    changes = world.update(D(2026, 11, 25), debtor)
    assert [(c.from_status, c.to_status, c.on) for c in changes] == [
        (PUBLISHED, EXITED, D(2026, 11, 20))
    ]
    assert "display window of 24 months ended" in changes[0].reason


def test_running_twice_for_a_date_changes_nothing(world: World) -> None:
    a, b = world.person(), world.person(province="32")
    world.record(COURT, a, "court.dishonest_debtor", D(2026, 9, 24), prid="I-1")
    world.record(REGULATOR, b, "fraud.telecom", D(2026, 10, 15), prid="I-2")
    for day in (D(2026, 10, 16), D(2026, 10, 30)):
        first = world.update(day, a, b)
        counts = world.row_counts()
        assert world.update(day, a, b) == []
        assert world.row_counts() == counts
        assert first  # each date did something the first time
    # A run for an earlier date leaves entries that have moved past it alone.
    assert world.update(D(2026, 10, 20), a, b) == []
    assert world.row_counts() == counts


def test_a_corrected_record_keeps_its_entry(world: World) -> None:
    evader = world.person()
    world.record(TAX, evader, "tax.evasion", D(2026, 10, 8), prid="T-1", amount_cny=2_000_000)
    world.update(D(2026, 10, 9), evader)
    world.record(
        TAX,
        evader,
        "tax.evasion",
        D(2026, 10, 8),
        prid="T-1",
        amount_cny=1_500_000,
        action="correct",
        recorded=dt.datetime(2026, 10, 12, 9),
    )
    changes = world.update(D(2026, 10, 12), evader)
    (entry,) = world.entries(evader)
    assert entry.status == PENDING  # the correction neither restarts nor ends the notice
    assert [(c.from_status, c.to_status) for c in changes] == [(PENDING, PENDING)]
    assert "corrected" in changes[0].reason
    with session_scope(world.engine) as s:
        newest = s.scalar(
            select(Record.id).where(Record.provider_record_id == "T-1", Record.version == 2)
        )
    assert entry.record_id == newest


def test_rescore_and_list_stores_scores_and_lists_together(world: World) -> None:
    debtor, clean = world.person(), world.person(province="33")
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 24), prid="Q-1")
    with session_scope(world.engine) as s:
        assert s.scalar(select(RescoreQueue.subject_id)) == debtor.id  # queued by the import
    done = rescore_and_list(world.engine, [debtor.id, clean.id], D(2026, 9, 28))
    assert done == 2
    with world.engine.connect() as conn:
        expected = {r.subject_id: r for r in compute(conn, [debtor.id, clean.id], D(2026, 9, 28))}
    with session_scope(world.engine) as s:
        stored = {sc.subject_id: sc for sc in s.scalars(select(Score))}
        assert s.scalar(select(func.count()).select_from(RescoreQueue)) == 0
    for sid, result in expected.items():
        assert (stored[sid].score, stored[sid].grade) == (result.score, result.grade)
    assert stored[debtor.id].grade in ("C", "D")
    assert [e.status for e in world.entries(debtor)] == [PENDING]
    assert world.entries(clean) == []


def test_due_subjects_are_those_whose_entries_move_without_a_new_record(world: World) -> None:
    a, b, c = world.person(), world.person(), world.person()
    world.record(COURT, a, "court.dishonest_debtor", D(2026, 9, 24), prid="U-1")
    world.record(
        COURT,
        b,
        "court.consumption_restriction",
        D(2024, 11, 20),
        prid="U-2",
        recorded=dt.datetime(2026, 6, 1, 9),
    )
    world.update(D(2026, 7, 1), b)
    world.update(D(2026, 7, 15), b)  # published; its display window ends on 20 Nov 2026
    world.update(D(2026, 9, 28), a, c)  # a under notice until the make-up Saturday
    with world.engine.connect() as conn:
        assert due_subjects(conn, D(2026, 10, 10)) == []
        assert due_subjects(conn, D(2026, 10, 12)) == [a.id]
        assert due_subjects(conn, D(2026, 11, 20)) == [a.id, b.id]
