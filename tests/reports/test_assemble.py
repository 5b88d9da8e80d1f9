"""The subject report: everything held, as of a date, masked, with disputes marked."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine

from socialcredit.audit import append
from socialcredit.db.engine import session_scope
from socialcredit.identity.registry import link_account, register_profession
from socialcredit.records.providers import add_provider
from socialcredit.reports import SubjectReport, UnknownSubjectError, build_report, mask_account
from socialcredit.reports.canonical import canonical_json
from tests.reports.conftest import (
    COURT,
    POLICE,
    REGULATOR,
    TODAY,
    Subj,
    World,
    object_to,
    score,
)

D = dt.date
TELECOM = "中国电信股份有限公司上海分公司"


def _build(engine: Engine, subject_id: int, as_of: dt.date) -> SubjectReport:
    with engine.connect() as conn:
        return build_report(conn, subject_id, as_of)


@pytest.fixture
def file(world: World) -> Subj:
    """A Shanghai doctor with a phone account, a court listing, traffic tickets (one annulled,
    one under objection), stored scores and a black-list entry that has been published."""
    p = world.person(birth=D(1984, 3, 9))
    with session_scope(world.engine) as s:
        add_provider(s, name=TELECOM, kind="telecom", region_code="31", record_types=[])
        link_account(s, provider=TELECOM, account_id="13916000001", number=p.number, name=p.name)
        register_profession(
            s,
            number=p.number,
            profession="doctor",
            licence_no="110310000012345",
            employer=None,
            on=D(2026, 5, 1),
        )
    # Court records count (and list) from the rollout of their category, 2026-07-01.
    world.record(COURT, p, "court.dishonest_debtor", D(2026, 7, 15), prid="EXEC-2026-001")
    world.record(POLICE, p, "traffic.speeding", D(2026, 9, 1), prid="TP-1")
    world.annul(POLICE, "TP-1", dt.datetime(2026, 9, 15, 9), ref="沪公交撤字〔2026〕第1号")
    world.record(POLICE, p, "traffic.speeding", D(2026, 11, 20), prid="TP-2")
    world.update(D(2026, 7, 15), p)
    world.update(TODAY, p)
    score(world.engine, p, D(2026, 10, 1))
    score(world.engine, p, TODAY)
    object_to(world.engine, p, "TP-2", TODAY)
    return p


def test_everything_held_is_in_the_report(world: World, file: Subj) -> None:
    report = _build(world.engine, file.id, TODAY)
    assert report.identity.name == file.name and report.identity.kind == "person"
    assert report.identity.id == file.number[:4] + "*" * 10 + file.number[-4:]
    assert report.identity.province == "上海市"
    (account,) = report.accounts
    assert account.provider == TELECOM and "16000" not in account.account
    (prof,) = report.professions
    assert prof.profession == "doctor" and prof.licence_no == "110310000012345"

    by_ref = {r.provider_record_id: r for r in report.records}
    assert set(by_ref) == {"EXEC-2026-001", "TP-1", "TP-2"}
    court = by_ref["EXEC-2026-001"]
    assert court.provider == COURT and court.severity == "serious"
    assert "失信被执行人" in court.legal_basis or court.legal_basis
    assert court.decision_ref and court.status == "active" and court.shown
    assert court.window.shown_from == D(2026, 7, 15)
    assert court.window.shown_until == D(2028, 7, 15)  # 24 months
    assert court.window.query_bar_from == D(2031, 7, 15)  # 5 years after the conduct
    annulled = by_ref["TP-1"]
    assert annulled.status == "annulled" and not annulled.shown
    assert [e.status for e in annulled.status_history] == ["annulled"]
    ticket = by_ref["TP-2"]
    assert ticket.shown and ticket.window.shown_until == D(2027, 2, 20)
    # Disputed exactly where an objection is open.
    assert ticket.disputed and not court.disputed and not annulled.disputed
    assert report.disputed_records == 1

    assert report.score is not None and report.score.as_of == TODAY
    assert report.score.policy.startswith("cn-31-shanghai@")
    assert report.policies.score_policy == report.score.policy
    assert any(c.record_type == "court.dishonest_debtor" for c in report.score.contributions)
    assert [h.as_of for h in report.score_history][:2] == [TODAY, D(2026, 10, 1)]

    (entry,) = report.lists
    assert entry.list_name == "black" and entry.status == "published" and entry.in_force
    assert [t.to_status for t in entry.transitions] == ["pending_notice", "published"]
    sanctions = [m for m in report.measures if m.category == "sanction"]
    assert sanctions and all(m.triggered_by[0].entry_id == entry.entry_id for m in sanctions)
    assert all(m.purposes for m in report.measures)
    assert report.policies.measures_catalogue

    # The objection filing is an access to the file; it is in the history.
    assert any(a.action == "objection.file" for a in report.accesses)
    assert report.fee_cny == "0"


def test_the_full_id_number_never_appears(world: World, file: Subj) -> None:
    text = canonical_json(_build(world.engine, file.id, TODAY).as_json())
    assert file.number not in text
    assert file.number[6:14] not in text  # nor the birth date it encodes


def test_as_of_shows_what_was_known_then(world: World, file: Subj) -> None:
    before = _build(world.engine, file.id, D(2026, 9, 10))
    refs = {r.provider_record_id: r for r in before.records}
    # TP-2 arrived later; TP-1's annulment was recorded later.
    assert set(refs) == {"EXEC-2026-001", "TP-1"}
    assert refs["TP-1"].status == "active" and refs["TP-1"].shown
    assert refs["TP-1"].status_history == ()
    (entry,) = before.lists
    assert entry.status == "published" and entry.in_force  # notice ran out in July
    assert [h.as_of for h in before.score_history] == []  # none computed by then
    assert before.score is not None and before.score.as_of == D(2026, 9, 10)
    early = _build(world.engine, file.id, D(2026, 7, 16))
    assert early.lists[0].status == "pending_notice" and not early.lists[0].in_force
    assert early.lists[0].published_on is None


def test_canonical_json_is_stable(world: World, file: Subj) -> None:
    now = dt.datetime(2026, 11, 27, 8, 0)
    with world.engine.connect() as conn:
        a = build_report(conn, file.id, TODAY, now=now)
        b = build_report(conn, file.id, TODAY, now=now)
    assert a.canonical() == b.canonical()
    assert json.loads(a.canonical())["as_of"] == "2026-11-27"


def test_an_organisation_report_names_its_legal_representative(world: World) -> None:
    rep = world.person()
    org = world.org(rep)
    world.record(REGULATOR, org, "market.food_safety", D(2026, 8, 1), prid="FS-1")
    report = _build(world.engine, org.id, TODAY)
    assert report.identity.kind == "organisation"
    assert report.identity.legal_representative == (
        f"{rep.number[:4]}{'*' * 10}{rep.number[-4:]} {rep.name}"
    )
    assert rep.number not in report.canonical()
    (rec,) = report.records
    assert rec.record_type == "market.food_safety" and not rec.disputed


def test_accesses_are_listed_newest_first(world: World) -> None:
    p = world.person()
    with world.engine.begin() as conn:
        for purpose in ("employment", "financial_credit"):
            append(
                conn,
                actor="sc_rp_AbCd1234",
                role="relying_party",
                purpose=purpose,
                subject_id=p.id,
                action="measures.query",
                outcome="ok",
            )
    report = _build(world.engine, p.id, TODAY)
    assert [a.purpose for a in report.accesses] == ["financial_credit", "employment"]
    assert report.accesses[0].seq > report.accesses[1].seq


def test_unknown_subject(world: World) -> None:
    with pytest.raises(UnknownSubjectError), world.engine.connect() as conn:
        build_report(conn, 987654321, TODAY)


@pytest.mark.parametrize(
    ("account", "masked"),
    [
        ("13916000001", "139****0001"),
        ("6222020200112233", "622*********2233"),
        ("wx_8817", "w*****7"),
        ("abcd", "****"),
    ],
)
def test_mask_account(account: str, masked: str) -> None:
    assert mask_account(account) == masked
    assert len(mask_account(account)) == len(account)
