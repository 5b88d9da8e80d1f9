"""Credit repair with fixed dates (SQLite and PostgreSQL): eligibility after the minimum
display window, the catalogue's repairable flag (the court debtor list exits on performance
instead), the 3-working-day decision, and the black-list exit on approval."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from socialcredit.casework import repair
from socialcredit.casework.common import Actor, CaseworkError
from socialcredit.db.models import Record, RecordStatusEvent
from socialcredit.records.catalogue import default_catalogue
from socialcredit.scoring.store import compute

from .conftest import COURT, CW, TAX, Casework, D

OBLIGATIONS = ["偷逃税款及滞纳金共计人民币48,600元已于2026年9月全部补缴", "罚款已缴清"]
COMMITMENT = "本人郑重承诺：今后严格遵守税收法律法规，按期如实申报纳税，如有违反，自愿接受惩戒。"


def _apply(world: Casework, actor: Actor, prid: str, on: D) -> repair.RepairView:
    return repair.apply_for_repair(
        world.engine,
        actor=actor,
        record_id=world.record_id(prid),
        obligations=OBLIGATIONS,
        commitment=COMMITMENT,
        on=on,
    )


def _score(world: Casework, subject_id: int, on: D) -> int:
    with world.engine.connect() as conn:
        (result,) = compute(conn, [subject_id], on)
    return result.score


def test_the_catalogue_says_what_is_repairable() -> None:
    types = default_catalogue().by_code()
    assert types["court.dishonest_debtor"].repairable is False
    assert types["tax.evasion"].repairable is True


def test_repair_after_the_minimum_window_takes_the_subject_off_the_black_list(
    world: Casework,
) -> None:
    taxpayer = world.person()
    world.record(TAX, taxpayer, "tax.evasion", D(2025, 10, 10), prid="TE-1", amount_cny=48600)
    world.update(D(2026, 9, 1), taxpayer)
    world.update(D(2026, 9, 9), taxpayer)
    (entry,) = world.entries(taxpayer)
    assert (entry.list_name, entry.status) == ("black", "published")

    # The minimum display window of a serious record is 12 months: from 10 October 2026.
    with pytest.raises(CaseworkError) as early:
        _apply(world, world.subject(taxpayer), "TE-1", D(2026, 10, 9))
    assert (early.value.code, early.value.field) == ("too_early", "record_id")
    assert "from 2026-10-10" in early.value.message

    app = _apply(world, world.subject(taxpayer), "TE-1", D(2026, 10, 10))
    # Filed on the make-up Saturday: due Monday 12, Tuesday 13, Wednesday 14 October.
    assert (app.status, app.filed_on, app.decision_due) == (
        "filed",
        D(2026, 10, 10),
        D(2026, 10, 14),
    )
    assert app.obligations == tuple(OBLIGATIONS) and app.commitment == COMMITMENT
    assert "fee" not in app.as_dict()

    before = _score(world, taxpayer.id, D(2026, 10, 13))
    approved = repair.decide_repair(
        world.engine,
        actor=CW,
        application_id=app.id,
        approve=True,
        reason="已核验完税凭证及信用承诺书",
        on=D(2026, 10, 13),
    )
    assert (approved.status, approved.decided_on, approved.decided_by) == (
        "approved",
        D(2026, 10, 13),
        CW.name,
    )
    rid = world.record_id("TE-1")
    with world.engine.connect() as conn:
        status = conn.scalar(select(Record.status).where(Record.id == rid))
        event = conn.execute(
            select(RecordStatusEvent).where(RecordStatusEvent.record_id == rid)
        ).one()
    assert status == "repaired"
    assert (event.status, event.source) == ("repaired", "casework")
    assert event.reason.startswith(f"credit repair {app.id} approved on 2026-10-13")
    # No longer counted from the day of approval, still counted the day before.
    assert _score(world, taxpayer.id, D(2026, 10, 13)) > before
    assert _score(world, taxpayer.id, D(2026, 10, 12)) == before
    (entry,) = world.entries(taxpayer)
    assert (entry.status, entry.exited_on) == ("exited", D(2026, 10, 13))
    assert entry.exit_reason is not None and f"credit repair {app.id}" in entry.exit_reason

    # Deciding twice is refused and changes nothing.
    before_counts = world.counts()
    with pytest.raises(CaseworkError) as twice:
        repair.decide_repair(
            world.engine,
            actor=CW,
            application_id=app.id,
            approve=False,
            reason="?",
            on=D(2026, 10, 14),
        )
    assert (twice.value.code, twice.value.status) == ("already_decided", 409)
    assert world.counts() == before_counts
    assert [e.outcome for e in world.audit("repair.decide")] == ["ok", "already_decided"]


def test_rejection_keeps_the_record(world: Casework) -> None:
    taxpayer = world.person()
    world.record(TAX, taxpayer, "tax.arrears", D(2026, 4, 20), prid="TA-1", amount_cny=3200)
    # A general record: minimum window 3 months, so from 20 July 2026.
    app = _apply(world, CW, "TA-1", D(2026, 7, 20))
    rejected = repair.decide_repair(
        world.engine,
        actor=CW,
        application_id=app.id,
        approve=False,
        reason="未提供完税凭证",
        on=D(2026, 7, 27),
    )
    # Due Thursday 23 July; decided Monday 27th: two working days late, and it says so.
    assert (rejected.status, rejected.decision_reason) == (
        "rejected",
        "未提供完税凭证 (2 working days late)",
    )
    with world.engine.connect() as conn:
        assert conn.scalar(select(Record.status).where(Record.id == app.record_id)) == "active"
    # A new application may follow a rejection.
    assert _apply(world, CW, "TA-1", D(2026, 7, 28)).status == "filed"


def test_ineligible_applications_are_refused_audited_and_change_nothing(world: Casework) -> None:
    debtor, other = world.person(), world.person()
    world.record(COURT, debtor, "court.dishonest_debtor", D(2024, 1, 10), prid="E-1")
    world.record(TAX, debtor, "tax.evasion", D(2025, 1, 10), prid="TE-2", amount_cny=9000)

    def refused(code: str, field: str, call: Callable[[], Any]) -> None:
        before = world.counts()
        with pytest.raises(CaseworkError) as exc:
            call()
        assert (exc.value.code, exc.value.field) == (code, field)
        assert world.counts() == before

    # Past its 24 months and still not repairable: it leaves on performance.
    refused("not_repairable", "record_id", lambda: _apply(world, CW, "E-1", D(2026, 10, 12)))
    refused(
        "out_of_scope",
        "record_id",
        lambda: _apply(world, world.subject(other), "TE-2", D(2026, 10, 12)),
    )
    refused(
        "missing_value",
        "obligations",
        lambda: repair.apply_for_repair(
            world.engine,
            actor=CW,
            record_id=world.record_id("TE-2"),
            obligations=[],
            commitment=COMMITMENT,
            on=D(2026, 10, 12),
        ),
    )
    refused(
        "missing_value",
        "commitment",
        lambda: repair.apply_for_repair(
            world.engine,
            actor=CW,
            record_id=world.record_id("TE-2"),
            obligations=OBLIGATIONS,
            commitment=" ",
            on=D(2026, 10, 12),
        ),
    )
    refused(
        "forbidden_role",
        "actor",
        lambda: _apply(world, world.provider(TAX), "TE-2", D(2026, 10, 12)),
    )
    _apply(world, CW, "TE-2", D(2026, 10, 12))
    refused("application_open", "record_id", lambda: _apply(world, CW, "TE-2", D(2026, 10, 13)))
    outcomes = [e.outcome for e in world.audit("repair.apply")]
    assert outcomes == [
        "not_repairable",
        "out_of_scope",
        "missing_value",
        "missing_value",
        "forbidden_role",
        "ok",
        "application_open",
    ]
    # The refusal about someone else's record is on the owner's file.
    assert world.audit("repair.apply")[1].subject_id == debtor.id
