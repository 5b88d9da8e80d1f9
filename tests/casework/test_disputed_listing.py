"""A disputed record is not newly published on the black list until its objection is
decided (SQLite and PostgreSQL).

The hold lives in ``lists/store.py`` (``_Run.publish_if_due``), wired from
``casework.objections.disputed_by_subject`` and ``disputes_decided_on``; until it is, the
scenario is an expected failure (strict: it fails the suite as soon as the hold works,
so the marker is removed with the wiring)."""

from __future__ import annotations

from socialcredit.casework import objections

from .conftest import COURT, CW, Casework, D


def test_publication_waits_for_the_decision(world: Casework) -> None:
    debtor = world.person()
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 24), prid="E-1")
    world.update(D(2026, 9, 28), debtor)  # notice until 10 Oct, publication due 12 Oct
    view = objections.file_objection(
        world.engine,
        actor=world.subject(debtor),
        record_id=world.record_id("E-1"),
        reason="该案已和解结案，不应列入失信被执行人名单",
        on=D(2026, 9, 30),
    )
    world.update(D(2026, 10, 12), debtor)
    (entry,) = world.entries(debtor)
    assert entry.status == "pending_notice"  # held while disputed

    objections.flag_objection(world.engine, actor=CW, objection_id=view.id, on=D(2026, 10, 8))
    objections.forward_objection(world.engine, actor=CW, objection_id=view.id, on=D(2026, 10, 9))
    objections.decide_objection(
        world.engine,
        actor=world.provider(COURT),
        objection_id=view.id,
        outcome="upheld",
        reason="和解协议未履行，恢复执行",
        on=D(2026, 10, 14),
    )
    # The decision's rescore publishes it, dated the day of the decision: it was not
    # public before.
    (entry,) = world.entries(debtor)
    assert (entry.status, entry.published_on) == ("published", D(2026, 10, 14))


def test_an_entry_published_before_the_objection_stays_published(world: Casework) -> None:
    debtor = world.person()
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 24), prid="E-2")
    world.update(D(2026, 9, 28), debtor)
    world.update(D(2026, 10, 12), debtor)
    objections.file_objection(
        world.engine,
        actor=CW,
        record_id=world.record_id("E-2"),
        reason="金额有误",
        on=D(2026, 10, 13),
    )
    world.update(D(2026, 10, 14), debtor)
    (entry,) = world.entries(debtor)
    assert (entry.status, entry.published_on) == ("published", D(2026, 10, 12))
