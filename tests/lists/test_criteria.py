"""Who meets which list criterion: minors never black-listed, red list entry and exit."""

from __future__ import annotations

import datetime as dt

from socialcredit.lists import list_decisions
from socialcredit.policy import find_policy, load_policies
from socialcredit.scoring.catalogue_view import catalogue_view
from socialcredit.scoring.evaluator import evaluate
from socialcredit.scoring.facts import RecordFact, SubjectFacts

from .conftest import CIVIL, COURT, POLICE, D, World

SHANGHAI = find_policy(load_policies(), "cn-31-shanghai@2026.1")


def _facts(*records: tuple[str, dt.date], status: str = "active") -> SubjectFacts:
    return SubjectFacts(
        subject_id=1,
        province_code="31",
        professions=frozenset(),
        records=tuple(
            RecordFact(i, 7, f"R-{i}", rtype, decided, None, None, status)
            for i, (rtype, decided) in enumerate(records, start=1)
        ),
    )


def _decide(facts: SubjectFacts, as_of: dt.date, birth: dt.date | None) -> list[str]:
    score = evaluate(facts, SHANGHAI, as_of, catalogue_view())
    return [
        f"{d.list_name}:{d.criterion}" for d in list_decisions(facts, SHANGHAI, as_of, score, birth)
    ]


def test_black_list_follows_serious_records_of_listed_types_only() -> None:
    as_of = D(2026, 11, 1)
    facts = _facts(
        ("court.dishonest_debtor", D(2026, 9, 1)),
        ("fraud.telecom", D(2026, 10, 20)),
        ("traffic.drunk_driving", D(2026, 10, 1)),  # serious, but no criterion names it
        ("traffic.speeding", D(2026, 10, 1)),
    )
    assert _decide(facts, as_of, D(1980, 1, 1)) == [
        "black:court-dishonest-debtor",
        "black:serious-fraud",
    ]
    # Annulled, repaired or superseded records list nobody.
    for status in ("annulled", "repaired", "corrected", "expired"):
        assert _decide(_facts(("fraud.telecom", D(2026, 10, 20)), status=status), as_of, None) == []


def test_a_low_score_alone_lists_nobody() -> None:
    # Ten red-light tickets and four jaywalking ones: a grade of C at best, no black list.
    records = [("traffic.red_light", D(2026, 10, i)) for i in range(1, 11)]
    records += [("traffic.jaywalking", D(2026, 10, i)) for i in range(11, 15)]
    facts = _facts(*records)
    score = evaluate(facts, SHANGHAI, D(2026, 10, 20), catalogue_view())
    assert score.grade not in ("AAA", "AA", "A")
    assert list_decisions(facts, SHANGHAI, D(2026, 10, 20), score, D(1980, 1, 1)) == []


def test_minors_are_never_black_listed() -> None:
    facts = _facts(("court.dishonest_debtor", D(2026, 9, 1)))
    as_of = D(2026, 11, 1)
    assert _decide(facts, as_of, D(2010, 3, 1)) == []  # 16
    # Decided at 17 years and 10 months: still never listed, even once 18.
    turned_18 = D(2008, 11, 1)
    assert _decide(facts, as_of, turned_18) == []
    assert _decide(facts, D(2027, 6, 1), turned_18) == []
    # Organisations have no age; an adult is listed.
    assert _decide(facts, as_of, None) == ["black:court-dishonest-debtor"]
    assert _decide(facts, as_of, D(2008, 8, 31)) == ["black:court-dishonest-debtor"]


def test_a_minor_in_the_store_gets_no_entry(world: World) -> None:
    minor = world.person(birth=D(2010, 3, 1))
    adult = world.person(birth=D(1990, 3, 1))
    for who, prid in ((minor, "M-1"), (adult, "M-2")):
        world.record(COURT, who, "court.dishonest_debtor", D(2026, 9, 24), prid=prid)
    world.update(D(2026, 9, 28), minor, adult)
    world.update(D(2026, 11, 2), minor, adult)
    assert world.entries(minor) == []
    assert [e.status for e in world.entries(adult)] == ["published"]


def test_red_list_entry_and_exit(world: World) -> None:
    hero = world.person()
    world.record(CIVIL, hero, "commendation.heroic_act", D(2026, 10, 10), prid="H-1")
    world.record(CIVIL, hero, "commendation.model_worker", D(2026, 10, 11), prid="H-2")
    # Commendations count from 2027: 1000 + 60, capped at +50 = 1050, AAA.
    assert world.update(D(2026, 12, 1), hero) == []
    (change,) = world.update(D(2027, 1, 5), hero)
    assert (change.list_name, change.criterion, change.to_status) == (
        "red",
        "aaa-clean-record",
        "pending_notice",
    )
    (entry,) = world.entries(hero)
    assert entry.planned_exit_on is None  # re-evaluated on every run
    assert entry.notice_until == D(2027, 1, 12)
    world.update(D(2027, 1, 13), hero)
    (entry,) = world.entries(hero)
    assert (entry.status, entry.published_on) == ("published", D(2027, 1, 13))

    # A speeding ticket from June 2026 reaches the platform in January 2027: long out of
    # its display window (no points, still AAA), but inside the 3-year clean period.
    world.record(
        POLICE,
        hero,
        "traffic.speeding",
        D(2026, 6, 1),
        prid="S-1",
        recorded=dt.datetime(2027, 1, 20, 9),
    )
    (change,) = world.update(D(2027, 1, 21), hero)
    assert (change.to_status, change.on) == ("exited", D(2027, 1, 21))
    assert "traffic.speeding decided on 2026-06-01" in change.reason
    assert "3-year clean period" in change.reason
