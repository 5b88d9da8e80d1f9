"""Objections through their states with fixed dates (SQLite and PostgreSQL): dated steps
with who and why, the disputed records, the escalation list across National Day, each
outcome, and bad input refused, audited, with nothing changed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from socialcredit.casework import objections
from socialcredit.casework.annulments import Correction, list_annulments
from socialcredit.casework.common import Actor, CaseworkError
from socialcredit.casework.objections import disputed_by_subject, disputed_record_ids
from socialcredit.db.models import Record, RecordStatusEvent

from .conftest import COURT, CW, POLICE, REGULATOR, TAX, Casework, D


def _file(world: Casework, actor: Actor, prid: str, on: D) -> objections.ObjectionView:
    return objections.file_objection(
        world.engine,
        actor=actor,
        record_id=world.record_id(prid),
        reason="处罚决定书所载车牌号并非本人车辆",
        on=on,
    )


def _disputed(world: Casework, subject_id: int) -> set[int]:
    with world.engine.connect() as conn:
        return disputed_record_ids(conn, subject_id)


def test_filed_flagged_forwarded_upheld(world: Casework) -> None:
    driver = world.person()
    world.record(POLICE, driver, "traffic.speeding", D(2026, 9, 14), prid="SP-1")
    world.record(POLICE, driver, "traffic.speeding", D(2026, 9, 15), prid="SP-2")
    rid = world.record_id("SP-1")

    view = _file(world, world.subject(driver), "SP-1", D(2026, 9, 30))
    assert (view.status, view.outcome, view.filed_by) == ("filed", None, f"sub-{driver.id}")
    assert _disputed(world, driver.id) == {rid}  # disputed from filing, not SP-2

    flagged = objections.flag_objection(
        world.engine, actor=CW, objection_id=view.id, on=D(2026, 10, 8)
    )
    assert (flagged.status, flagged.flagged_on) == ("flagged", D(2026, 10, 8))
    forwarded = objections.forward_objection(
        world.engine, actor=CW, objection_id=view.id, on=D(2026, 10, 9), note="已转交市交警总队"
    )
    assert forwarded.status == "forwarded"
    decided = objections.decide_objection(
        world.engine,
        actor=world.provider(POLICE),
        objection_id=view.id,
        outcome="upheld",
        reason="经核查电子监控原始记录，车牌识别无误",
        on=D(2026, 10, 14),
    )
    assert (decided.status, decided.outcome, decided.decided_on) == (
        "decided",
        "upheld",
        D(2026, 10, 14),
    )
    assert _disputed(world, driver.id) == set()
    assert [(s.action, s.from_status, s.to_status, s.on, s.actor) for s in decided.steps] == [
        ("filed", None, "filed", D(2026, 9, 30), f"sub-{driver.id}"),
        ("flagged", "filed", "flagged", D(2026, 10, 8), CW.name),
        ("forwarded", "flagged", "forwarded", D(2026, 10, 9), CW.name),
        ("decided", "forwarded", "decided", D(2026, 10, 14), world.provider(POLICE).name),
    ]
    assert decided.steps[2].reason == "已转交市交警总队"
    assert decided.steps[3].reason.startswith("upheld: 经核查")
    # The record is untouched; the decision rescored the subject as of its day.
    with world.engine.connect() as conn:
        assert conn.scalar(select(Record.status).where(Record.id == rid)) == "active"
    assert world.scores_as_of(driver, D(2026, 10, 14)) == 1
    assert [e.outcome for e in world.audit("objection.decide")] == ["ok"]


def test_a_late_step_is_recorded_as_late(world: Casework) -> None:
    driver = world.person()
    world.record(POLICE, driver, "traffic.speeding", D(2026, 9, 14), prid="SP-3")
    view = _file(world, CW, "SP-3", D(2026, 9, 30))
    late = objections.flag_objection(
        world.engine, actor=CW, objection_id=view.id, on=D(2026, 10, 12)
    )
    # Due Thu 8 Oct; Fri 9, the make-up Saturday 10 and Monday 12 make it 3 days late.
    assert late.steps[-1].reason.endswith("(3 working days late)")


def test_escalation_list_across_national_day(world: Casework) -> None:
    driver = world.person()
    world.record(POLICE, driver, "traffic.speeding", D(2026, 9, 14), prid="SP-4")
    world.record(POLICE, driver, "traffic.speeding", D(2026, 9, 15), prid="SP-5")
    first = _file(world, CW, "SP-4", D(2026, 9, 30))
    second = _file(world, CW, "SP-5", D(2026, 9, 30))
    objections.flag_objection(world.engine, actor=CW, objection_id=second.id, on=D(2026, 10, 8))

    def overdue(on: D) -> list[tuple[int, str, D, int]]:
        with world.engine.connect() as conn:
            return [
                (c.objection.id, c.step, c.due, c.working_days_late)
                for c in objections.overdue_objections(conn, on)
            ]

    # The whole holiday passes and nothing is overdue: the flag is due on 8 October.
    assert overdue(D(2026, 10, 7)) == []
    assert overdue(D(2026, 10, 8)) == []
    assert overdue(D(2026, 10, 9)) == [(first.id, "flag", D(2026, 10, 8), 1)]
    # The make-up Saturday counts; Sunday does not.
    assert overdue(D(2026, 10, 11)) == [
        (first.id, "flag", D(2026, 10, 8), 2),
        (second.id, "forward", D(2026, 10, 9), 1),
    ]


def test_deleted_runs_the_annulment_cascade_and_rescores(world: Casework) -> None:
    debtor = world.person()
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 1), prid="E-1")
    world.update(D(2026, 9, 2), debtor)
    world.update(D(2026, 9, 10), debtor)  # published
    (entry,) = world.entries(debtor)
    assert entry.status == "published"
    view = _file(world, world.subject(debtor), "E-1", D(2026, 11, 2))
    objections.flag_objection(world.engine, actor=CW, objection_id=view.id, on=D(2026, 11, 3))
    objections.forward_objection(world.engine, actor=CW, objection_id=view.id, on=D(2026, 11, 3))
    decided = objections.decide_objection(
        world.engine,
        actor=CW,
        objection_id=view.id,
        outcome="deleted",
        reason="执行案件已于2026年8月执行完毕，不应纳入失信名单",
        on=D(2026, 11, 6),
    )
    assert decided.outcome == "deleted"
    rid = world.record_id("E-1")
    with world.engine.connect() as conn:
        event = conn.execute(
            select(RecordStatusEvent).where(RecordStatusEvent.record_id == rid)
        ).one()
        (cascade,) = list_annulments(conn, subject_id=debtor.id)
    assert (event.status, event.source) == ("annulled", "casework")
    assert event.reason.startswith(f"deleted on objection {view.id}: 执行案件")
    assert (cascade.action, cascade.source, cascade.received_on) == (
        "annulled",
        "objection",
        D(2026, 11, 6),
    )
    assert (cascade.removal_due, cascade.removed_on, cascade.late) == (
        D(2026, 11, 11),
        D(2026, 11, 6),
        False,
    )
    assert cascade.notified == 1  # the subject; no relying party asked about it
    # The decision's rescore also moved the list entry out, dated the day of the decision.
    (entry,) = world.entries(debtor)
    assert (entry.status, entry.exited_on) == ("exited", D(2026, 11, 6))
    assert entry.exit_reason is not None and f"objection {view.id}" in entry.exit_reason


def test_corrected_writes_a_new_version(world: Casework) -> None:
    taxpayer = world.person()
    world.record(TAX, taxpayer, "tax.arrears", D(2026, 6, 1), prid="TX-1", amount_cny=52000)
    old = world.record_id("TX-1")
    view = _file(world, CW, "TX-1", D(2026, 11, 2))
    assert _disputed(world, taxpayer.id) == {old}
    objections.flag_objection(world.engine, actor=CW, objection_id=view.id, on=D(2026, 11, 2))
    objections.forward_objection(world.engine, actor=CW, objection_id=view.id, on=D(2026, 11, 3))
    with pytest.raises(CaseworkError) as missing:
        objections.decide_objection(
            world.engine,
            actor=world.provider(TAX),
            objection_id=view.id,
            outcome="corrected",
            reason="金额有误",
            on=D(2026, 11, 5),
        )
    assert (missing.value.code, missing.value.field) == ("missing_value", "correction")
    decided = objections.decide_objection(
        world.engine,
        actor=world.provider(TAX),
        objection_id=view.id,
        outcome="corrected",
        reason="欠税金额录入错误，应为5200元",
        on=D(2026, 11, 5),
        correction=Correction(amount_fen=520000),
    )
    assert decided.outcome == "corrected"
    with world.engine.connect() as conn:
        versions = conn.execute(
            select(Record.version, Record.status, Record.amount_fen)
            .where(Record.provider_record_id == "TX-1")
            .order_by(Record.version)
        ).all()
        (cascade,) = list_annulments(conn, subject_id=taxpayer.id)
    assert [tuple(v) for v in versions] == [(1, "corrected", 5200000), (2, "active", 520000)]
    assert cascade.action == "corrected"
    assert _disputed(world, taxpayer.id) == set()


def test_a_correction_sent_while_disputed_stays_disputed(world: Casework) -> None:
    taxpayer = world.person()
    world.record(TAX, taxpayer, "tax.arrears", D(2026, 6, 1), prid="TX-2", amount_cny=8000)
    first = world.record_id("TX-2")
    _file(world, CW, "TX-2", D(2026, 11, 2))
    world.record(
        TAX, taxpayer, "tax.arrears", D(2026, 6, 1), prid="TX-2", amount_cny=800, action="correct"
    )
    second = world.record_id("TX-2")
    assert second != first
    assert _disputed(world, taxpayer.id) == {first, second}
    with world.engine.connect() as conn:
        assert disputed_by_subject(conn, [taxpayer.id, 999_999]) == {taxpayer.id: {first, second}}


def test_bad_input_is_refused_audited_and_changes_nothing(world: Casework) -> None:
    owner, other = world.person(), world.person()
    world.record(POLICE, owner, "traffic.speeding", D(2026, 9, 14), prid="SP-6")
    world.record(REGULATOR, owner, "fraud.contract", D(2026, 10, 12), prid="F-1")
    rid = world.record_id("SP-6")

    def refused(code: str, field: str, status: int, call: object) -> None:
        before = world.counts()
        with pytest.raises(CaseworkError) as exc:
            call()  # type: ignore[operator]
        assert (exc.value.code, exc.value.field, exc.value.status) == (code, field, status)
        assert world.counts() == before

    # Someone else's record.
    refused(
        "out_of_scope",
        "record_id",
        403,
        lambda: objections.file_objection(
            world.engine,
            actor=world.subject(other),
            record_id=rid,
            reason="不是我",
            on=D(2026, 10, 9),
        ),
    )
    (entry,) = world.audit("objection.file")
    assert (entry.outcome, entry.actor, entry.subject_id) == (
        "out_of_scope",
        f"sub-{other.id}",
        owner.id,
    )
    # An unknown record, no reason, a relying party.
    refused(
        "unknown_record",
        "record_id",
        404,
        lambda: objections.file_objection(
            world.engine, actor=CW, record_id=987654, reason="?", on=D(2026, 10, 9)
        ),
    )
    refused(
        "missing_value",
        "reason",
        422,
        lambda: objections.file_objection(
            world.engine, actor=CW, record_id=rid, reason="   ", on=D(2026, 10, 9)
        ),
    )
    view = _file(world, world.subject(owner), "SP-6", D(2026, 10, 9))
    # A second objection to the same record while the first is open.
    refused("objection_open", "record_id", 409, lambda: _file(world, CW, "SP-6", D(2026, 10, 9)))
    # Steps out of order, by the wrong role, before the last step.
    refused(
        "wrong_status",
        "objection_id",
        409,
        lambda: objections.forward_objection(
            world.engine, actor=CW, objection_id=view.id, on=D(2026, 10, 9)
        ),
    )
    refused(
        "forbidden_role",
        "actor",
        403,
        lambda: objections.flag_objection(
            world.engine, actor=world.subject(owner), objection_id=view.id, on=D(2026, 10, 9)
        ),
    )
    refused(
        "bad_date",
        "on",
        422,
        lambda: objections.flag_objection(
            world.engine, actor=CW, objection_id=view.id, on=D(2026, 10, 8)
        ),
    )
    objections.flag_objection(world.engine, actor=CW, objection_id=view.id, on=D(2026, 10, 9))
    objections.forward_objection(world.engine, actor=CW, objection_id=view.id, on=D(2026, 10, 9))
    # Another provider may not decide about the police's record.
    refused(
        "out_of_scope",
        "record_id",
        403,
        lambda: objections.decide_objection(
            world.engine,
            actor=world.provider(REGULATOR),
            objection_id=view.id,
            outcome="deleted",
            reason="x",
            on=D(2026, 10, 12),
        ),
    )
    objections.decide_objection(
        world.engine,
        actor=world.provider(POLICE),
        objection_id=view.id,
        outcome="upheld",
        reason="核查无误",
        on=D(2026, 10, 12),
    )
    # Deciding twice.
    refused(
        "already_decided",
        "objection_id",
        409,
        lambda: objections.decide_objection(
            world.engine,
            actor=CW,
            objection_id=view.id,
            outcome="deleted",
            reason="再次决定",
            on=D(2026, 10, 13),
        ),
    )
    refused(
        "unknown_objection",
        "objection_id",
        404,
        lambda: objections.flag_objection(
            world.engine, actor=CW, objection_id=view.id + 100, on=D(2026, 10, 13)
        ),
    )
    outcomes = [e.outcome for e in world.audit("objection.decide")]
    assert outcomes == ["out_of_scope", "ok", "already_decided"]
