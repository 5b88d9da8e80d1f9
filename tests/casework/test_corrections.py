"""A correction never undoes what due process decided (SQLite and PostgreSQL): an annulled
record is not corrected back into the file, by an objection's decision or by the provider;
a repaired record stays repaired in its corrected version; an expired one is corrected
into an active version whose window follows its corrected dates."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from socialcredit.casework import objections, repair
from socialcredit.casework.annulments import (
    Correction,
    annul_record,
    correct_record,
    list_notifications,
)
from socialcredit.casework.common import CaseworkError
from socialcredit.casework.maintenance import maintain
from socialcredit.db.models import Record, RecordStatusEvent
from socialcredit.records.ingest import import_feed
from socialcredit.scoring.store import compute
from tests.records.conftest import row, write_csv

from .conftest import COURT, CW, POLICE, TAX, Casework, D, Subj


def _versions(world: Casework, prid: str) -> list[tuple[int, str, str | None]]:
    with world.engine.connect() as conn:
        return [
            (r.version, r.status, r.decision_ref)
            for r in conn.execute(
                select(Record.version, Record.status, Record.decision_ref)
                .where(Record.provider_record_id == prid)
                .order_by(Record.version)
            )
        ]


def _score(world: Casework, subject: Subj, on: D) -> int:
    with world.engine.connect() as conn:
        (result,) = compute(conn, [subject.id], on)
    return result.score


def test_an_annulled_record_is_not_corrected_back_into_the_file(world: Casework) -> None:
    debtor = world.person()
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 1), prid="E-1")
    case = objections.file_objection(
        world.engine,
        actor=world.subject(debtor),
        record_id=world.record_id("E-1"),
        reason="执行款已全部付清",
        on=D(2026, 11, 2),
    )
    objections.flag_objection(world.engine, actor=CW, objection_id=case.id, on=D(2026, 11, 2))
    objections.forward_objection(world.engine, actor=CW, objection_id=case.id, on=D(2026, 11, 3))
    # While the case is with the provider, the court annuls the listing itself.
    annul_record(
        world.engine,
        actor=world.provider(COURT),
        provider=COURT,
        provider_record_id="E-1",
        reason="被执行人已全部履行",
        on=D(2026, 11, 4),
    )
    before = world.counts()

    # Deciding "corrected" would have written an active version 2 of the annulled record.
    for correction in (Correction(decision_ref="（2026）沪01执1200号之一"), None):
        with pytest.raises(CaseworkError) as decided:
            objections.decide_objection(
                world.engine,
                actor=world.provider(COURT),
                objection_id=case.id,
                outcome="corrected",
                reason="更正案号",
                on=D(2026, 11, 5),
                correction=correction,
            )
        assert (decided.value.code, decided.value.status) == ("record_annulled", 409)
    # The provider's own correction is refused the same way.
    with pytest.raises(CaseworkError) as corrected:
        correct_record(
            world.engine,
            actor=world.provider(COURT),
            provider=COURT,
            provider_record_id="E-1",
            correction=Correction(decision_ref="（2026）沪01执1200号之一"),
            reason="更正案号",
            on=D(2026, 11, 5),
        )
    assert (corrected.value.code, corrected.value.status) == ("record_annulled", 409)
    assert world.counts() == before
    assert [(v, s) for v, s, _ in _versions(world, "E-1")] == [(1, "annulled")]
    assert [e.outcome for e in world.audit("objection.decide")] == ["record_annulled"] * 2
    assert [e.outcome for e in world.audit("record.correct")] == ["record_annulled"]
    # The case can still be closed as what happened: the record is gone.
    decided = objections.decide_objection(
        world.engine,
        actor=world.provider(COURT),
        objection_id=case.id,
        outcome="deleted",
        reason="已撤销",
        on=D(2026, 11, 5),
    )
    assert decided.outcome == "deleted"
    assert [(v, s) for v, s, _ in _versions(world, "E-1")] == [(1, "annulled")]


def test_a_repaired_record_stays_repaired_when_its_provider_corrects_it(world: Casework) -> None:
    taxpayer = world.person()
    world.record(TAX, taxpayer, "tax.evasion", D(2025, 10, 10), prid="TE-1", amount_cny=48600)
    world.update(D(2026, 9, 1), taxpayer)
    world.update(D(2026, 9, 9), taxpayer)
    app = repair.apply_for_repair(
        world.engine,
        actor=world.subject(taxpayer),
        record_id=world.record_id("TE-1"),
        obligations=["税款及滞纳金已全部补缴"],
        commitment="本人承诺今后依法纳税",
        on=D(2026, 10, 12),
    )
    repair.decide_repair(
        world.engine,
        actor=CW,
        application_id=app.id,
        approve=True,
        reason="凭证齐全",
        on=D(2026, 10, 13),
    )
    repaired_score = _score(world, taxpayer, D(2026, 10, 20))
    (entry,) = world.entries(taxpayer)
    assert entry.status == "exited"

    view = correct_record(
        world.engine,
        actor=world.provider(TAX),
        provider=TAX,
        provider_record_id="TE-1",
        correction=Correction(decision_ref="沪税稽罚〔2025〕12号"),
        reason="文书号录入错误",
        on=D(2026, 10, 20),
    )
    assert _versions(world, "TE-1") == [
        (1, "corrected", "（2025）沪执TE-1号"),
        (2, "repaired", "沪税稽罚〔2025〕12号"),
    ]
    new_id = world.record_id("TE-1")
    with world.engine.connect() as conn:
        (event,) = conn.execute(
            select(RecordStatusEvent).where(RecordStatusEvent.record_id == new_id)
        ).all()
    assert event.status == "repaired"
    assert event.reason.startswith("repaired as version 1 was")
    assert f"credit repair {app.id} approved on 2026-10-13" in event.reason
    # The repair stands: the score and the list are as the repair left them.
    assert _score(world, taxpayer, D(2026, 10, 20)) == repaired_score
    assert [e.status for e in world.entries(taxpayer)] == ["exited"]
    with world.engine.connect() as conn:
        (told,) = list_notifications(conn, cause_id=view.id)
    assert "corrected on 2026-10-20" in told.message and "stays repaired" in told.message
    assert "no longer counts" not in told.message

    # Corrected again: still repaired, and the reason still names the repair.
    correct_record(
        world.engine,
        actor=world.provider(TAX),
        provider=TAX,
        provider_record_id="TE-1",
        correction=Correction(amount_fen=4_860_000),
        reason="金额单位错误",
        on=D(2026, 10, 21),
    )
    assert [s for _, s, _ in _versions(world, "TE-1")] == ["corrected", "corrected", "repaired"]
    with world.engine.connect() as conn:
        reason = conn.scalar(
            select(RecordStatusEvent.reason).where(
                RecordStatusEvent.record_id == world.record_id("TE-1")
            )
        )
    assert reason == event.reason
    assert _score(world, taxpayer, D(2026, 10, 21)) == repaired_score


def test_an_expired_record_is_corrected_into_a_version_that_counts_by_its_dates(
    world: Casework,
) -> None:
    driver, clean = world.person(), world.person()
    world.record(POLICE, driver, "traffic.speeding", D(2026, 5, 4), prid="SP-1")
    maintain(world.engine, as_of=D(2026, 9, 1))  # three months on: expired
    assert [s for _, s, _ in _versions(world, "SP-1")] == ["expired"]
    correct_record(
        world.engine,
        actor=world.provider(POLICE),
        provider=POLICE,
        provider_record_id="SP-1",
        correction=Correction(decided_on=D(2026, 5, 5)),
        reason="决定日期录入错误",
        on=D(2026, 9, 2),
    )
    # Active again, but its corrected window has ended as well: it counts for nothing...
    assert [s for _, s, _ in _versions(world, "SP-1")] == ["corrected", "active"]
    assert _score(world, driver, D(2026, 9, 2)) == _score(world, clean, D(2026, 9, 2))
    # ...and the next daily run gives it its expiry again.
    maintain(world.engine, as_of=D(2026, 9, 3))
    assert [s for _, s, _ in _versions(world, "SP-1")] == ["corrected", "expired"]


def test_a_feed_correction_of_a_repaired_record_is_rejected(world: Casework) -> None:
    # A feed row would write an active version and undo the repair: it is rejected with its
    # line and reason, and the casework path (which keeps the repair) is named instead.
    taxpayer = world.person()
    world.record(TAX, taxpayer, "tax.evasion", D(2025, 10, 10), prid="TF-1", amount_cny=48600)
    app = repair.apply_for_repair(
        world.engine,
        actor=world.subject(taxpayer),
        record_id=world.record_id("TF-1"),
        obligations=["税款及滞纳金已全部补缴"],
        commitment="本人承诺今后依法纳税",
        on=D(2026, 10, 12),
    )
    repair.decide_repair(
        world.engine,
        actor=CW,
        application_id=app.id,
        approve=True,
        reason="凭证齐全",
        on=D(2026, 10, 13),
    )
    before = _versions(world, "TF-1")
    path = write_csv(
        world.tmp / "correction.csv",
        [
            row(
                provider_record_id="TF-1",
                subject_id=taxpayer.number,
                record_type="tax.evasion",
                decided_on="2025-10-10",
                decision_ref="沪税稽罚〔2025〕13号",
                amount_cny="48600",
                action="correct",
            )
        ],
    )
    rejects = world.tmp / "rejects.csv"
    result = import_feed(world.engine, path, provider=TAX, rejects_path=rejects)
    assert (result.accepted, result.rejected) == (0, 1)
    assert result.top_reasons == {"repaired_target": 1}
    assert "records correct" in rejects.read_text(encoding="utf-8")
    assert _versions(world, "TF-1") == before == [(1, "repaired", "（2025）沪执TF-1号")]
