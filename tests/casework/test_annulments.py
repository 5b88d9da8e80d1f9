"""The annulment cascade (SQLite and PostgreSQL): a provider annuls or corrects a record by
feed, by the casework call the API and CLI use, or through an objection; the record stops
counting, the subject is rescored and re-listed, and every relying party answered about the
subject since the record was recorded is told in the outbox, as is the subject. Deletion is
held to 3 working days."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select

from socialcredit.audit import append
from socialcredit.casework.annulments import (
    Correction,
    annul_record,
    correct_record,
    list_annulments,
    list_notifications,
)
from socialcredit.casework.common import Actor, CaseworkError
from socialcredit.casework.maintenance import maintain
from socialcredit.db.models import (
    Annulment,
    ApiKey,
    Notification,
    Record,
    RecordStatusEvent,
    RescoreQueue,
)
from socialcredit.identity.ids import mask
from tests.api.conftest import make_client
from tests.records.conftest import row

from .conftest import BANK, COURT, CW, EMPLOYER, REGULATOR, SCHOOL, Casework, D


def _ask(world: Casework, key: str, number: str, purpose: str = "employment") -> None:
    """A relying party's measures question through the API: it is answered and audited."""
    with make_client(world.engine) as client:
        r = client.get(
            "/v1/measures",
            params={"subject": number, "purpose": purpose},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert r.status_code == 200, r.text


def _old_answer(world: Casework, key: str, subject_id: int, at: dt.datetime) -> None:
    """An answer given long ago, as the audit log would hold it."""
    with world.engine.begin() as conn:
        prefix = conn.scalar(
            select(ApiKey.prefix)
            .where(ApiKey.role == "relying_party")
            .where(ApiKey.label == f"test {SCHOOL}")
        )
        assert prefix is not None and key.startswith(prefix)
        append(
            conn,
            actor=prefix,
            role="relying_party",
            action="measures.query",
            outcome="ok",
            purpose="employment",
            subject_id=subject_id,
            at=at,
        )


def test_feed_annulment_tells_everyone_who_was_answered(world: Casework) -> None:
    debtor, neighbour = world.person(), world.person()
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 1), prid="E-1")
    world.update(D(2026, 9, 2), debtor)
    employer, bank, school = (world.party_key(n) for n in (EMPLOYER, BANK, SCHOOL))
    _ask(world, employer, debtor.number)
    _ask(world, employer, debtor.number)  # asked twice: told once
    _ask(world, bank, neighbour.number, purpose="financial_credit")  # about someone else
    # Answered about the debtor before the record arrived: the record played no part.
    _old_answer(world, school, debtor.id, dt.datetime(2026, 8, 20, 15))

    world.annul(COURT, "E-1", dt.datetime(2026, 11, 20, 9), ref="（2026）沪01执异88号")
    rid = world.record_id("E-1")
    with world.engine.connect() as conn:
        (cascade,) = list_annulments(conn)
        notes = list_notifications(conn, cause_id=cascade.id)
        queued = conn.scalar(
            select(RescoreQueue.subject_id).where(RescoreQueue.subject_id == debtor.id)
        )
    assert (cascade.record_id, cascade.action, cascade.source) == (rid, "annulled", "feed")
    # Received Friday 20 Nov; three working days: 23, 24, 25 Nov. Done the same day.
    assert (cascade.received_on, cascade.removal_due, cascade.removed_on) == (
        D(2026, 11, 20),
        D(2026, 11, 25),
        D(2026, 11, 20),
    )
    assert not cascade.late and cascade.notified == 2
    assert sorted((n.recipient.split(":")[0], n.relying_party) for n in notes) == [
        ("party", EMPLOYER),
        ("subject", None),
    ]
    to_party = next(n for n in notes if n.relying_party == EMPLOYER)
    assert mask(debtor.number) in to_party.message and debtor.number not in to_party.message
    # The party learns that the file changed and when, nothing of the record or why.
    assert "changed on 2026-11-20" in to_party.message and "ask again" in to_party.message
    for detail in ("沪01执异88号", "court.dishonest_debtor", COURT, "E-1", "annulled"):
        assert detail not in to_party.message, detail
    assert to_party.record_id is None
    to_subject = next(n for n in notes if n.relying_party is None)
    assert "annulled on 2026-11-20" in to_subject.message and "沪01执异88号" in to_subject.message
    assert to_subject.recipient == f"subject:{debtor.id}" and to_subject.subject_id == debtor.id
    assert queued == debtor.id  # rescored (and re-listed) by whoever drains the queue

    # Importing the annulment again changes nothing and tells nobody twice.
    before = world.counts()
    world.annul(COURT, "E-1", dt.datetime(2026, 11, 20, 9), ref="（2026）沪01执异88号")
    assert world.counts() == before

    # A relying party sees its own messages only; a subject only those to it.
    with world.engine.connect() as conn:
        from socialcredit.db.models import RelyingParty

        ids = dict(conn.execute(select(RelyingParty.name, RelyingParty.id)).all())
        mine = list_notifications(
            conn, actor=Actor("rp", "relying_party", relying_party_id=ids[EMPLOYER])
        )
        theirs = list_notifications(
            conn, actor=Actor("rp", "relying_party", relying_party_id=ids[BANK])
        )
        own = list_notifications(conn, actor=Actor("s", "subject", subject_id=debtor.id))
    assert [n.id for n in mine] == [to_party.id] and theirs == []
    assert [n.id for n in own] == [to_subject.id]


def test_an_organisations_annulment_reaches_who_asked_about_its_legal_representative(
    world: Casework,
) -> None:
    boss = world.person()
    company = world.org(boss)
    world.record(REGULATOR, company, "market.food_safety", D(2026, 10, 12), prid="FS-1")
    employer = world.party_key(EMPLOYER)
    _ask(world, employer, boss.number)  # measures aimed at a legal representative follow the org
    view = annul_record(
        world.engine,
        actor=world.provider(REGULATOR),
        provider=REGULATOR,
        provider_record_id="FS-1",
        reason="行政复议决定撤销原处罚决定",
        decision_ref="沪市监复决〔2026〕12号",
        on=D(2026, 11, 23),
    )
    assert view.subject_id == company.id and view.notified == 2
    with world.engine.connect() as conn:
        notes = list_notifications(conn, cause_id=view.id)
    assert {n.relying_party for n in notes} == {EMPLOYER, None}
    assert [e.outcome for e in world.audit("record.annul")] == ["ok"]


def test_annulment_by_call_rescores_and_exits_the_list_at_once(world: Casework) -> None:
    debtor = world.person()
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 1), prid="E-2")
    world.update(D(2026, 9, 2), debtor)
    world.update(D(2026, 9, 10), debtor)
    view = annul_record(
        world.engine,
        actor=world.provider(COURT),
        provider=COURT,
        provider_record_id="E-2",
        reason="被执行人已全部履行",
        on=D(2026, 11, 23),
    )
    (entry,) = world.entries(debtor)
    assert (entry.status, entry.exited_on) == ("exited", D(2026, 11, 23))
    assert entry.exit_reason is not None and "被执行人已全部履行" in entry.exit_reason
    assert world.scores_as_of(debtor, D(2026, 11, 23)) == 1
    assert view.removal_due == D(2026, 11, 26)


def test_correction_by_call_is_a_new_version_with_the_same_cascade(world: Casework) -> None:
    fraudster = world.person()
    world.record(REGULATOR, fraudster, "fraud.contract", D(2026, 10, 12), prid="F-2")
    view = correct_record(
        world.engine,
        actor=world.provider(REGULATOR),
        provider=REGULATOR,
        provider_record_id="F-2",
        correction=Correction(decided_on=D(2026, 10, 14), decision_ref="沪市监罚〔2026〕77号"),
        reason="决定日期录入错误",
        on=D(2026, 11, 2),
    )
    assert (view.action, view.notified) == ("corrected", 1)
    with world.engine.connect() as conn:
        rows = conn.execute(
            select(Record.version, Record.status, Record.decided_on)
            .where(Record.provider_record_id == "F-2")
            .order_by(Record.version)
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, "corrected", D(2026, 10, 12)),
        (2, "active", D(2026, 10, 14)),
    ]


def test_bad_annulments_are_refused_audited_and_change_nothing(world: Casework) -> None:
    person = world.person()
    world.record(COURT, person, "court.dishonest_debtor", D(2026, 9, 1), prid="E-3")

    def refused(code: str, status: int, actor: Actor, provider: str, prid: str) -> None:
        before = world.counts()
        with pytest.raises(CaseworkError) as exc:
            annul_record(
                world.engine,
                actor=actor,
                provider=provider,
                provider_record_id=prid,
                reason="撤销",
                on=D(2026, 11, 23),
            )
        assert (exc.value.code, exc.value.status) == (code, status)
        assert world.counts() == before

    refused("unknown_record", 404, world.provider(COURT), COURT, "NO-SUCH-RECORD")
    refused("out_of_scope", 403, world.provider(REGULATOR), COURT, "E-3")
    refused("forbidden_role", 403, world.subject(person), COURT, "E-3")
    annul_record(
        world.engine,
        actor=CW,
        provider=COURT,
        provider_record_id="E-3",
        reason="法院来函撤销",
        on=D(2026, 11, 23),
    )
    refused("already_annulled", 409, world.provider(COURT), COURT, "E-3")
    assert [e.outcome for e in world.audit("record.annul")] == [
        "unknown_record",
        "out_of_scope",
        "forbidden_role",
        "ok",
        "already_annulled",
    ]
    # The feed reports an unknown target as a rejected row, as before.
    from socialcredit.records.ingest import import_feed
    from tests.records.conftest import write_csv

    path = write_csv(world.tmp / "annul.csv", [row(provider_record_id="NOPE", action="annul")])
    before = world.counts()
    result = import_feed(world.engine, path, provider=COURT, today=D(2026, 11, 23))
    assert result.rejected == 1 and result.top_reasons == {"unknown_target": 1}
    assert world.counts() == before


def test_a_cascade_left_undone_is_completed_late_and_escalated(world: Casework) -> None:
    debtor = world.person()
    employer = world.party_key(EMPLOYER)
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 1), prid="E-4")
    _ask(world, employer, debtor.number)
    world.annul(COURT, "E-4", dt.datetime(2026, 11, 2, 9), ref="撤销")
    # As if the import had died after its last chunk: the status event, no cascade.
    with world.engine.begin() as conn:
        conn.execute(delete(Notification))
        conn.execute(delete(Annulment))
    result = maintain(world.engine, as_of=D(2026, 11, 9))
    assert [d.cascades for d in result.days] == [1]
    with world.engine.connect() as conn:
        (cascade,) = list_annulments(conn, late_only=True)
        notes = list_notifications(conn, cause_id=cascade.id)
        event_day = conn.scalar(
            select(RecordStatusEvent.recorded_at).where(
                RecordStatusEvent.record_id == world.record_id("E-4")
            )
        )
    assert event_day is not None and event_day.date() == D(2026, 11, 2)
    # Received Monday 2 Nov, due Thursday 5 Nov, done on Monday 9 Nov: late, escalated.
    assert (cascade.received_on, cascade.removal_due, cascade.removed_on) == (
        D(2026, 11, 2),
        D(2026, 11, 5),
        D(2026, 11, 9),
    )
    assert (
        cascade.late and cascade.escalated_on == D(2026, 11, 9) and cascade.source == "maintenance"
    )
    assert {n.relying_party for n in notes} == {EMPLOYER, None}


def test_corrections_from_the_feed_cascade_too(world: Casework) -> None:
    payer = world.person()
    world.record(COURT, payer, "court.dishonest_debtor", D(2026, 9, 1), prid="E-5")
    world.record(
        COURT, payer, "court.dishonest_debtor", D(2026, 9, 2), prid="E-5", action="correct"
    )
    with world.engine.connect() as conn:
        (cascade,) = list_annulments(conn)
        (note,) = list_notifications(conn, cause_id=cascade.id)
    assert (cascade.action, cascade.source, cascade.notified) == ("corrected", "feed", 1)
    assert note.recipient == f"subject:{payer.id}" and "was corrected on" in note.message


def test_relying_parties_learn_no_reason_and_no_record_detail(world: Casework) -> None:
    """A decision's reason may hold health data: only the subject reads it."""
    from socialcredit.casework import objections

    debtor = world.person()
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 1), prid="E-9")
    employer = world.party_key(EMPLOYER)
    _ask(world, employer, debtor.number)
    case = objections.file_objection(
        world.engine,
        actor=world.subject(debtor),
        record_id=world.record_id("E-9"),
        reason="执行期间本人住院治疗",
        on=D(2026, 11, 2),
    )
    objections.flag_objection(world.engine, actor=CW, objection_id=case.id, on=D(2026, 11, 2))
    objections.forward_objection(world.engine, actor=CW, objection_id=case.id, on=D(2026, 11, 3))
    health = "被执行人执行期间因癌症住院治疗，法院认定确有困难"
    decided = objections.decide_objection(
        world.engine,
        actor=world.provider(COURT),
        objection_id=case.id,
        outcome="deleted",
        reason=health,
        on=D(2026, 11, 4),
    )
    with world.engine.connect() as conn:
        (cascade,) = list_annulments(conn)
        notes = list_notifications(conn, cause_id=cascade.id)
    assert decided.outcome == "deleted" and cascade.notified == 2
    to_party = next(n for n in notes if n.relying_party == EMPLOYER)
    assert to_party.message == (
        f"The credit file of {mask(debtor.number)} changed on 2026-11-04. An answer you "
        "received about this subject before then may no longer hold; ask again for the "
        "current measures."
    )
    assert to_party.record_id is None
    to_subject = next(n for n in notes if n.relying_party is None)
    assert health in to_subject.message and "E-9" in to_subject.message
