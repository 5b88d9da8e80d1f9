"""Which measures apply to S for purpose P on D (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from socialcredit.measures import (
    MeasuresAnswer,
    UnknownPurposeError,
    UnknownSubjectError,
    measures_for,
)
from tests.lists.conftest import CIVIL, COURT, REGULATOR, D, Subj, World

DEBTOR_BANS = {"debtor-no-flights", "debtor-no-soft-sleepers", "debtor-no-g-series-trains"}


def _ask(
    world: World, who: Subj, purpose: str, as_of: dt.date, region: str | None = None
) -> MeasuresAnswer:
    with world.engine.connect() as conn:
        return measures_for(conn, subject_id=who.id, purpose=purpose, as_of=as_of, region=region)


def _ids(answer: MeasuresAnswer) -> set[str]:
    return {m.id for m in answer.measures}


def _listed(world: World, who: Subj, record_type: str, prid: str) -> None:
    """Decided on 15 Oct 2026 (fraud records count from 1 Oct), entered on the 16th,
    published on Monday 26 Oct after five working days of notice."""
    provider = COURT if record_type.startswith("court.") else REGULATOR
    world.record(provider, who, record_type, D(2026, 10, 15), prid=prid)
    world.update(D(2026, 10, 16), who)
    world.update(D(2026, 10, 26), who)


def test_measures_per_purpose_for_a_dishonest_debtor(world: World) -> None:
    debtor = world.person()
    _listed(world, debtor, "court.dishonest_debtor", "Q-1")
    on = D(2026, 10, 26)
    assert _ids(_ask(world, debtor, "transport_ticketing", on)) == DEBTOR_BANS
    assert _ids(_ask(world, debtor, "hotel_booking", on)) == {"debtor-no-star-hotels"}
    assert _ids(_ask(world, debtor, "school_admission", on)) == {"debtor-no-private-school-fees"}
    assert _ids(_ask(world, debtor, "civil_service_recruitment", on)) == {"no-civil-service-hiring"}
    assert _ids(_ask(world, debtor, "government_procurement", on)) == {"no-government-procurement"}
    assert _ids(_ask(world, debtor, "employment", on)) == {"no-soe-senior-management"}

    answer = _ask(world, debtor, "transport_ticketing", on)
    flights = next(m for m in answer.measures if m.id == "debtor-no-flights")
    assert flights.category == "sanction"
    assert "限制被执行人高消费" in flights.legal_basis
    (basis,) = flights.triggered_by
    assert (basis.kind, basis.list_name, basis.criterion, basis.via) == (
        "list",
        "black",
        "court-dishonest-debtor",
        "self",
    )
    assert basis.published_on == D(2026, 10, 26) and basis.planned_exit_on == D(2028, 10, 15)
    # The answer is the measures and their basis, not the file.
    text = str(answer.as_dict())
    assert "Q-1" not in text and debtor.number not in text and "record" not in text


def test_debtor_bans_follow_the_court_lists_only(world: World) -> None:
    fraudster = world.person()
    _listed(world, fraudster, "fraud.contract", "Q-2")
    on = D(2026, 10, 26)
    assert _ids(_ask(world, fraudster, "transport_ticketing", on)) == set()
    assert _ids(_ask(world, fraudster, "civil_service_recruitment", on)) == {
        "no-civil-service-hiring"
    }
    assert _ids(_ask(world, fraudster, "employment", on)) == set()


def test_only_published_entries_in_force_on_the_date_count(world: World) -> None:
    debtor = world.person()
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 24), prid="Q-3")
    world.update(D(2026, 9, 28), debtor)
    # Under notice: no effect yet, not even after the notice ends until the run publishes.
    assert _ids(_ask(world, debtor, "transport_ticketing", D(2026, 10, 9))) == set()
    assert _ids(_ask(world, debtor, "transport_ticketing", D(2026, 10, 12))) == set()
    world.update(D(2026, 10, 12), debtor)
    assert _ids(_ask(world, debtor, "transport_ticketing", D(2026, 10, 12))) == DEBTOR_BANS
    assert _ids(_ask(world, debtor, "transport_ticketing", D(2026, 10, 11))) == set()
    world.annul(COURT, "Q-3", dt.datetime(2026, 11, 2, 9), ref="履行完毕")
    world.update(D(2026, 11, 3), debtor)
    assert _ids(_ask(world, debtor, "transport_ticketing", D(2026, 11, 3))) == set()
    # What applied on a past date still can be shown.
    assert _ids(_ask(world, debtor, "transport_ticketing", D(2026, 11, 1))) == DEBTOR_BANS
    # Never past the planned exit, even before a run has moved the entry.
    assert _ids(_ask(world, debtor, "transport_ticketing", D(2028, 9, 24))) == set()


def test_legal_representative_of_a_listed_organisation(world: World) -> None:
    boss, clerk = world.person(), world.person()
    company = world.org(boss)
    _listed(world, company, "court.dishonest_debtor", "Q-4")
    on = D(2026, 10, 26)
    answer = _ask(world, boss, "transport_ticketing", on)
    assert _ids(answer) == DEBTOR_BANS
    basis = answer.measures[0].triggered_by[0]
    assert (basis.via, basis.organisation_name) == ("legal_representative", company.name)
    assert basis.organisation is not None and company.number not in basis.organisation
    # Measures that do not target the legal representative stay with the organisation.
    assert _ids(_ask(world, boss, "government_procurement", on)) == set()
    assert _ids(_ask(world, boss, "civil_service_recruitment", on)) == set()
    assert _ids(_ask(world, company, "government_procurement", on)) == {"no-government-procurement"}
    assert _ids(_ask(world, company, "transport_ticketing", on)) == set()
    assert _ids(_ask(world, boss, "business_licensing", on)) == {
        "no-financial-institution-founding"
    }
    assert _ids(_ask(world, clerk, "transport_ticketing", on)) == set()


def test_rewards_follow_the_red_list_and_grades(world: World) -> None:
    hero = world.person()
    world.record(CIVIL, hero, "commendation.heroic_act", D(2026, 10, 10), prid="H-1")
    world.record(CIVIL, hero, "commendation.model_worker", D(2026, 10, 11), prid="H-2")
    world.update(D(2027, 1, 5), hero)
    # AAA at once (computed in process), red list only once published.
    assert _ids(_ask(world, hero, "transport_ticketing", D(2027, 1, 5), "31")) == {
        "sh-deposit-free-services"
    }
    assert _ids(_ask(world, hero, "transport_ticketing", D(2027, 1, 5))) == set()
    assert _ids(_ask(world, hero, "business_licensing", D(2027, 1, 5))) == set()
    world.update(D(2027, 1, 13), hero)
    answer = _ask(world, hero, "business_licensing", D(2027, 1, 13))
    assert _ids(answer) == {"green-channel"}  # fewer inspections are for organisations
    assert answer.measures[0].category == "reward"
    grade = _ask(world, hero, "transport_ticketing", D(2027, 1, 13), "31").measures[0]
    (basis,) = grade.triggered_by
    assert (basis.kind, basis.grade) == ("grade", "AAA")
    assert basis.score_policy == "cn-31-shanghai@2027.1"


def test_bad_questions(world: World) -> None:
    someone = world.person()
    with pytest.raises(UnknownPurposeError, match="unknown purpose 'gossip'") as info:
        _ask(world, someone, "gossip", D(2026, 10, 1))
    assert info.value.code == "unknown_purpose"
    assert "transport_ticketing" in str(info.value)
    with world.engine.connect() as conn, pytest.raises(UnknownSubjectError):
        measures_for(conn, subject_id=987654, purpose="employment", as_of=D(2026, 10, 1))
