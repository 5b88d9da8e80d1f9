"""Who may get a "no dishonesty record" certificate: the precise, documented rule."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from socialcredit.reports import build_report, dishonesty_reasons
from tests.reports.conftest import COURT, POLICE, REGULATOR, TODAY, Subj, World, object_to

D = dt.date


def _reasons(engine: Engine, subject: Subj, as_of: dt.date = TODAY) -> tuple[str, ...]:
    with engine.connect() as conn:
        return dishonesty_reasons(build_report(conn, subject.id, as_of))


def test_a_clean_file_and_minor_or_general_records_are_no_dishonesty(world: World) -> None:
    p = world.person()
    assert _reasons(world.engine, p) == ()
    world.record(POLICE, p, "traffic.speeding", D(2026, 11, 1), prid="TP-1")  # minor
    assert _reasons(world.engine, p) == ()


def test_a_shown_serious_record_refuses_even_before_its_category_counts(world: World) -> None:
    p = world.person()
    # Court enforcement counts in scores from 2026-07-01; the record is shown before that.
    world.record(COURT, p, "court.consumption_restriction", D(2026, 5, 1), prid="EXEC-1")
    (reason,) = _reasons(world.engine, p, D(2026, 6, 1))
    assert "court.consumption_restriction" in reason and "2026-05-01" in reason
    # Before it was decided, and after its display window (24 months), it refuses nothing.
    assert _reasons(world.engine, p, D(2026, 4, 30)) == ()
    assert _reasons(world.engine, p, D(2028, 5, 1)) == ()


def test_an_annulled_serious_record_refuses_nothing(world: World) -> None:
    p = world.person()
    world.record(REGULATOR, p, "fraud.telecom", D(2026, 8, 3), prid="FR-1")
    world.annul(REGULATOR, "FR-1", dt.datetime(2026, 9, 1, 9), ref="沪市监撤字〔2026〕第3号")
    assert _reasons(world.engine, p) == ()
    # Before the annulment was recorded, it did.
    assert _reasons(world.engine, p, D(2026, 8, 31))


def test_a_disputed_serious_record_still_refuses_and_says_so(world: World) -> None:
    p = world.person()
    world.record(REGULATOR, p, "fraud.contract", D(2026, 10, 9), prid="FR-2")
    object_to(world.engine, p, "FR-2", TODAY)
    (reason,) = _reasons(world.engine, p)
    assert "under objection" in reason


def test_an_open_black_list_entry_refuses_and_an_exited_one_does_not(world: World) -> None:
    p = world.person()
    world.record(COURT, p, "court.dishonest_debtor", D(2026, 7, 15), prid="EXEC-2")
    world.update(D(2026, 7, 15), p)
    reasons = _reasons(world.engine, p, D(2026, 7, 16))
    # Under notice already: the entry, and the record behind it.
    assert any(r.startswith("black-list entry") and "pending_notice" in r for r in reasons)
    assert any(r.startswith("serious record court.dishonest_debtor") for r in reasons)
    world.annul(COURT, "EXEC-2", dt.datetime(2026, 8, 3, 9), ref="（2026）沪执异1号")
    world.update(D(2026, 8, 3), p)
    assert _reasons(world.engine, p, D(2026, 8, 4)) == ()


def test_an_organisations_listing_does_not_refuse_its_representative(world: World) -> None:
    rep = world.person()
    org = world.org(rep)
    world.record(REGULATOR, org, "market.food_safety", D(2026, 8, 1), prid="FS-2")
    world.update(D(2026, 8, 1), org)
    world.update(TODAY, org)
    assert _reasons(world.engine, org)
    assert _reasons(world.engine, rep) == ()
