"""Hand-written cases: every expected number is worked out from ``policies.py`` by hand.

Unless a case says otherwise, scores are as of 2026-06-15 under ``test-national@1``
(subjects default to province 32, which has no regional test policy): base 1000,
A = 960..1029, B = 850..959, C = 600..849; traffic is capped at -30 and commendations
at +40; market is never switched on and medical only from 2026-09-01.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from socialcredit.policy import NoPolicyInForceError, ResolvedPolicy, load_policies
from socialcredit.scoring.executors import PopulationExecutor
from socialcredit.scoring.results import Contribution

from .facts import (
    Facts,
    Profession,
    Record,
    StatusEvent,
    Subject,
    assert_result,
    cap_contribution,
    midnight,
    record_contribution,
    run_executor,
)
from .policies import BAR_2, NATIONAL, POLICIES, SHANGHAI_1, SHANGHAI_2

D = dt.date
T = dt.datetime
AS_OF = D(2026, 6, 15)


def score(
    executor: PopulationExecutor,
    tmp_path: Path,
    facts: Facts,
    *,
    as_of: dt.date = AS_OF,
    policies: tuple[ResolvedPolicy, ...] = POLICIES,
    partition_by_province: bool = False,
) -> dict[int, dict[str, Any]]:
    return run_executor(
        executor,
        tmp_path,
        facts,
        as_of=as_of,
        policies=policies,
        partition_by_province=partition_by_province,
    )


def check(
    row: dict[str, Any],
    score: int,
    grade: str,
    contributions: list[Contribution],
    *,
    policy: ResolvedPolicy = NATIONAL,
    as_of: dt.date = AS_OF,
) -> None:
    assert_result(
        row, score=score, grade=grade, contributions=contributions, policy=policy, as_of=as_of
    )


def subjects(*ids: int, province: str = "32") -> list[Subject]:
    return [Subject(i, province_code=province) for i in ids]


rc = record_contribution


def test_subjects_without_records_get_the_base_score(
    executor: PopulationExecutor, tmp_path: Path
) -> None:
    facts = Facts(subjects=[Subject(1), Subject(2, province_code="31")])
    rows = score(executor, tmp_path, facts)
    check(rows[1], 1000, "A", [])
    check(rows[2], 1000, "A", [], policy=SHANGHAI_1)
    assert rows[1]["reasons"] == rows[1]["contributions"] == "[]"


def test_empty_snapshot_scores_nobody(executor: PopulationExecutor, tmp_path: Path) -> None:
    assert score(executor, tmp_path, Facts()) == {}


def test_canonical_json_is_byte_exact(executor: PopulationExecutor, tmp_path: Path) -> None:
    # Chinese text, a quote, a backslash and a control character in the provider's id.
    r = Record(
        1,
        1,
        "traffic.speeding",
        D(2026, 6, 1),
        provider_id=7,
        provider_record_id='沪交罚"12\\3\x0b',
    )
    rows = score(executor, tmp_path, Facts(subjects(1), [r]))
    expected = (
        r'[{"base_points":-5,"category":"traffic","kind":"record","points":-5,"record_id":1,'
        r'"record_ref":"7:沪交罚\"12\\3\u000b","record_type":"traffic.speeding",'
        r'"repeat_points":0,"status":"counted"}]'
    )
    assert rows[1]["contributions"] == expected
    assert rows[1]["reasons"] == expected
    check(rows[1], 995, "A", [rc(r, -5)])


def test_records_recorded_after_the_as_of_date_are_ignored(
    executor: PopulationExecutor, tmp_path: Path
) -> None:
    last_moment = Record(
        1, 1, "traffic.speeding", D(2026, 6, 10), recorded_at=T(2026, 6, 15, 23, 59, 59, 999999)
    )
    too_late = Record(2, 2, "traffic.speeding", D(2026, 6, 10), recorded_at=T(2026, 6, 16))
    facts = Facts(subjects(1, 2), [last_moment, too_late])
    rows = score(executor, tmp_path, facts)
    check(rows[1], 995, "A", [rc(last_moment, -5)])
    check(rows[2], 1000, "A", [])
    # As of a later date the late record counts: history is reproducible, not overwritten.
    later = score(executor, tmp_path / "later", facts, as_of=D(2026, 6, 16))
    check(later[2], 995, "A", [rc(too_late, -5)], as_of=D(2026, 6, 16))


def test_status_as_of_the_date(executor: PopulationExecutor, tmp_path: Path) -> None:
    day = D(2026, 6, 1)
    records = [Record(i, i, "traffic.speeding", day) for i in range(1, 10)]
    # Subject 10: a corrected record and the version that superseded it.
    old = Record(10, 10, "traffic.speeding", day, provider_record_id="X")
    new = Record(
        11,
        10,
        "traffic.speeding",
        day,
        provider_record_id="X",
        version=2,
        recorded_at=T(2026, 6, 8),
    )
    # Subject 12: the newest event by time wins even with a lower event id.
    by_time = Record(12, 12, "traffic.speeding", day)
    events = [
        StatusEvent(1, 1, "annulled", T(2026, 6, 5)),
        StatusEvent(2, 2, "corrected", T(2026, 6, 5)),
        StatusEvent(3, 3, "repaired", T(2026, 6, 5)),
        StatusEvent(4, 4, "expired", T(2026, 6, 5)),
        # Annulled, but only known after the as-of date: still counts.
        StatusEvent(5, 5, "annulled", T(2026, 6, 16)),
        # Annulled, then reinstated after an objection.
        StatusEvent(6, 6, "annulled", T(2026, 6, 5)),
        StatusEvent(7, 6, "active", T(2026, 6, 7)),
        # Same instant: the highest event id decides.
        StatusEvent(71, 7, "active", T(2026, 6, 5, 10)),
        StatusEvent(70, 7, "annulled", T(2026, 6, 5, 10)),
        StatusEvent(80, 8, "active", T(2026, 6, 5, 10)),
        StatusEvent(81, 8, "annulled", T(2026, 6, 5, 10)),
        # Reinstated only after the as-of date: still annulled then.
        StatusEvent(90, 9, "annulled", T(2026, 6, 5)),
        StatusEvent(91, 9, "active", T(2026, 6, 20)),
        StatusEvent(100, 10, "corrected", T(2026, 6, 8)),
        StatusEvent(121, 12, "annulled", T(2026, 6, 6)),
        StatusEvent(122, 12, "active", T(2026, 6, 4)),
    ]
    facts = Facts(subjects(*range(1, 11), 12), [*records, old, new, by_time], events)
    rows = score(executor, tmp_path, facts)
    for gone in (1, 2, 3, 4, 8, 9, 12):
        check(rows[gone], 1000, "A", [])
    for kept in (5, 6, 7):
        check(rows[kept], 995, "A", [rc(records[kept - 1], -5)])
    check(rows[10], 995, "A", [rc(new, -5)])


def test_display_window(executor: PopulationExecutor, tmp_path: Path) -> None:
    # Speeding shows for 3 months, a dishonest-debtor listing for 24: shown while
    # decided_on <= D < decided_on + window.
    ended = Record(1, 1, "traffic.speeding", D(2026, 3, 15))
    last_day = Record(2, 2, "traffic.speeding", D(2026, 3, 16))
    future = Record(3, 3, "traffic.speeding", D(2026, 6, 16), recorded_at=T(2026, 6, 15, 8))
    today = Record(4, 4, "traffic.speeding", AS_OF, recorded_at=T(2026, 6, 15, 12))
    listing_over = Record(5, 5, "court.dishonest_debtor", D(2024, 6, 15))
    listing_on = Record(6, 6, "court.dishonest_debtor", D(2024, 6, 16))
    facts = Facts(
        subjects(1, 2, 3, 4, 5, 6), [ended, last_day, future, today, listing_over, listing_on]
    )
    rows = score(executor, tmp_path, facts)
    check(rows[1], 1000, "A", [])
    check(rows[2], 995, "A", [rc(last_day, -5)])
    check(rows[3], 1000, "A", [])
    check(rows[4], 995, "A", [rc(today, -5)])
    check(rows[5], 1000, "A", [])
    # 900 is a B; the listing's grade cap makes it a C.
    check(rows[6], 900, "C", [rc(listing_on, -100)])


def test_five_year_query_bar(executor: PopulationExecutor, tmp_path: Path) -> None:
    barred = Record(1, 1, "court.dishonest_debtor", D(2025, 1, 10), conduct_ended_on=D(2021, 6, 15))
    not_yet = Record(
        2, 2, "court.dishonest_debtor", D(2025, 1, 10), conduct_ended_on=D(2021, 6, 16)
    )
    # Positive records are not dishonesty information: never barred.
    heroic = Record(3, 3, "commendation.heroic_act", D(2024, 1, 10), conduct_ended_on=D(2019, 1, 1))
    facts = Facts(subjects(1, 2, 3), [barred, not_yet, heroic])
    rows = score(executor, tmp_path, facts)
    check(rows[1], 1000, "A", [])
    check(rows[2], 900, "C", [rc(not_yet, -100)])
    check(rows[3], 1030, "AA", [rc(heroic, 30)])


def test_query_bar_runs_from_the_decision_without_an_end_of_conduct(
    executor: PopulationExecutor, tmp_path: Path
) -> None:
    # A 2-year bar; contempt shows for 36 months.
    barred = Record(1, 1, "court.contempt", D(2024, 6, 15))
    not_yet = Record(2, 2, "court.contempt", D(2024, 6, 16))
    rows = score(executor, tmp_path, Facts(subjects(1, 2), [barred, not_yet]), policies=(BAR_2,))
    check(rows[1], 1000, "A", [], policy=BAR_2)
    check(rows[2], 920, "B", [rc(not_yet, -80)], policy=BAR_2)


def test_categories_not_switched_on_and_types_without_rule(
    executor: PopulationExecutor, tmp_path: Path
) -> None:
    day = D(2026, 6, 1)
    market = Record(1, 1, "market.false_advertising", day)  # market: never on
    medical = Record(2, 2, "medical.malpractice", day)  # medical: from 2026-09-01
    jaywalk = Record(3, 3, "traffic.jaywalking", day)  # traffic on, no rule
    neither = Record(4, 4, "market.food_safety", day)  # no rule and not on: category first
    speeding = Record(5, 5, "traffic.speeding", day)
    market_too = Record(6, 5, "market.false_advertising", day)
    facts = Facts(
        subjects(1, 2, 3, 4, 5), [market, medical, jaywalk, neither, speeding, market_too]
    )
    rows = score(executor, tmp_path, facts)
    # The market rule's grade cap does not apply: the record is not counted.
    check(rows[1], 1000, "A", [rc(market, status="category_not_in_force")])
    check(rows[2], 1000, "A", [rc(medical, status="category_not_in_force")])
    check(rows[3], 1000, "A", [rc(jaywalk, status="no_rule")])
    check(rows[4], 1000, "A", [rc(neither, status="category_not_in_force")])
    check(rows[5], 995, "A", [rc(speeding, -5), rc(market_too, status="category_not_in_force")])
    switched_on = D(2026, 9, 1)
    later = score(executor, tmp_path / "later", facts, as_of=switched_on)
    check(later[2], 950, "B", [rc(medical, -50)], as_of=switched_on)


def test_amount_bands(executor: PopulationExecutor, tmp_path: Path) -> None:
    day = D(2026, 6, 1)
    amounts = {1: 999_999, 2: 1_000_000, 3: 9_999_999, 4: 10_000_000, 5: None, 6: 0}
    expected = {1: -10, 2: -30, 3: -30, 4: -60, 5: -15, 6: -10}
    records = {i: Record(i, i, "tax.arrears", day, amount_fen=a) for i, a in amounts.items()}
    rows = score(executor, tmp_path, Facts(subjects(*amounts), list(records.values())))
    grades = {1: "A", 2: "A", 3: "A", 4: "B", 5: "A", 6: "A"}
    for i, points in expected.items():
        check(rows[i], 1000 + points, grades[i], [rc(records[i], points)])


def test_repeats(executor: PopulationExecutor, tmp_path: Path) -> None:
    sp = "traffic.speeding"  # repeat: within 90 days, -5 more
    s1 = [
        Record(1, 1, sp, D(2026, 4, 1)),
        Record(2, 1, sp, D(2026, 5, 1)),
        Record(3, 1, sp, D(2026, 6, 10)),
    ]
    # Same day: the lower record id comes first and the other is the repeat.
    s2 = [Record(21, 2, sp, D(2026, 6, 1)), Record(20, 2, sp, D(2026, 6, 1))]
    la = "debt.loan_arrears"  # repeat: within 62 days, -5 more
    s3 = [
        Record(30, 3, la, D(2026, 1, 1)),
        Record(31, 3, la, D(2026, 3, 4)),  # 62 days
        Record(32, 3, la, D(2026, 5, 6)),
    ]  # 63 days
    # Predecessors that do not count do not make a repeat: expired from display,
    # annulled, recorded late.
    s4 = [Record(40, 4, sp, D(2026, 3, 10)), Record(41, 4, sp, D(2026, 3, 20))]
    s5 = [Record(50, 5, sp, D(2026, 5, 1)), Record(51, 5, sp, D(2026, 5, 10))]
    s6 = [
        Record(60, 6, sp, D(2026, 5, 1), recorded_at=T(2026, 6, 20)),
        Record(61, 6, sp, D(2026, 5, 10)),
    ]
    # Another type is no repeat.
    s7 = [Record(70, 7, sp, D(2026, 6, 1)), Record(71, 7, "traffic.red_light", D(2026, 6, 2))]
    facts = Facts(
        subjects(*range(1, 8)),
        [*s1, *s2, *s3, *s4, *s5, *s6, *s7],
        [StatusEvent(1, 50, "annulled", T(2026, 5, 20))],
    )
    rows = score(executor, tmp_path, facts)
    check(
        rows[1],
        975,
        "A",
        [rc(s1[1], -5, repeat_points=-5), rc(s1[2], -5, repeat_points=-5), rc(s1[0], -5)],
    )
    check(rows[2], 985, "A", [rc(s2[0], -5, repeat_points=-5), rc(s2[1], -5)])
    check(rows[3], 965, "A", [rc(s3[1], -10, repeat_points=-5), rc(s3[0], -10), rc(s3[2], -10)])
    check(rows[4], 995, "A", [rc(s4[1], -5)])
    check(rows[5], 995, "A", [rc(s5[1], -5)])
    check(rows[6], 995, "A", [rc(s6[1], -5)])
    check(rows[7], 991, "A", [rc(s7[0], -5), rc(s7[1], -4)])


def test_category_caps(executor: PopulationExecutor, tmp_path: Path) -> None:
    drunk = Record(1, 1, "traffic.drunk_driving", D(2026, 1, 10))
    speeding = Record(2, 1, "traffic.speeding", D(2026, 6, 1))
    heroic_a = Record(3, 2, "commendation.heroic_act", D(2026, 2, 1))
    heroic_b = Record(4, 2, "commendation.heroic_act", D(2026, 3, 1))
    blood = Record(5, 2, "commendation.blood_donation", D(2026, 4, 1))
    facts = Facts(subjects(1, 2), [drunk, speeding, heroic_a, heroic_b, blood])
    rows = score(executor, tmp_path, facts)
    # Traffic -55, floored at -30 by a +25 cap; 970 is an A, capped to C by drunk driving.
    check(rows[1], 970, "C", [rc(drunk, -50), cap_contribution("traffic", 25), rc(speeding, -5)])
    # Commendations +65, ceiling +40: a -25 cap.
    check(
        rows[2],
        1040,
        "AA",
        [rc(heroic_a, 30), rc(heroic_b, 30), cap_contribution("commendation", -25), rc(blood, 5)],
    )


def test_grade_caps(executor: PopulationExecutor, tmp_path: Path) -> None:
    listing = Record(1, 1, "court.dishonest_debtor", D(2026, 1, 10))
    # Already worse than the cap: the cap does not lift it.
    many = [Record(10 + i, 2, "court.dishonest_debtor", D(2026, 1, 10 + i)) for i in range(5)]
    facts = Facts(subjects(1, 2), [listing, *many])
    rows = score(executor, tmp_path, facts)
    check(rows[1], 900, "C", [rc(listing, -100)])
    check(rows[2], 500, "D", [rc(r, -100) for r in many])


def test_profession_rules(executor: PopulationExecutor, tmp_path: Path) -> None:
    day = D(2026, 5, 1)
    records = {i: Record(i, i, "fraud.insurance", day) for i in range(1, 9) if i != 7}
    records[7] = Record(7, 7, "traffic.drunk_driving", day)
    before, after = T(2026, 1, 1), T(2026, 6, 16)
    professions = [
        Profession(2, "doctor", before),
        Profession(3, "doctor", after),  # registered after the as-of date
        Profession(4, "public_servant", before),
        Profession(4, "doctor", before),  # two rules: the alphabetically first profession
        Profession(5, "public_servant", before),
        Profession(6, "teacher", before),  # no teacher rule: generic
        Profession(7, "public_servant", before),
        Profession(8, "doctor", before),
        Profession(8, "doctor", T(2026, 2, 1)),  # registered twice
    ]
    facts = Facts(subjects(*range(1, 9)), list(records.values()), professions=professions)
    rows = score(executor, tmp_path, facts)
    expected = {1: -30, 2: -60, 3: -30, 4: -60, 5: -45, 6: -30, 8: -60}
    for i, points in expected.items():
        grade = "A" if 1000 + points >= 960 else "B"
        check(rows[i], 1000 + points, grade, [rc(records[i], points)])
    # A public servant's drunk driving: -80, floored at -30 by the traffic cap, graded C.
    check(rows[7], 970, "C", [rc(records[7], -80), cap_contribution("traffic", 50)])


@pytest.mark.parametrize(
    ("as_of", "policy", "points"),
    [
        (D(2026, 6, 15), SHANGHAI_1, -7),
        (D(2026, 12, 31), SHANGHAI_1, -7),  # effective_until is exclusive
        (D(2027, 1, 1), SHANGHAI_2, -9),
        (D(2027, 1, 15), SHANGHAI_2, -9),
    ],
)
def test_regional_policy_and_versions_by_date(
    executor: PopulationExecutor,
    tmp_path: Path,
    as_of: dt.date,
    policy: ResolvedPolicy,
    points: int,
) -> None:
    day = as_of - dt.timedelta(days=5)
    shanghai = Record(1, 1, "traffic.speeding", day)
    jiangsu = Record(2, 2, "traffic.speeding", day)
    elsewhere = Record(3, 3, "traffic.speeding", day)
    facts = Facts(
        [Subject(1, "31"), Subject(2, "32"), Subject(3, "65")], [shanghai, jiangsu, elsewhere]
    )
    rows = score(executor, tmp_path, facts, as_of=as_of)
    check(rows[1], 1000 + points, "A", [rc(shanghai, points)], policy=policy, as_of=as_of)
    # No regional policy: the national baseline.
    check(rows[2], 995, "A", [rc(jiangsu, -5)], as_of=as_of)
    check(rows[3], 995, "A", [rc(elsewhere, -5)], as_of=as_of)


@pytest.mark.parametrize(
    ("record_type", "decided_on", "as_of", "shown"),
    [
        # Red light shows for 3 months: 2025-11-30 + 3 months = 2026-02-28 (clamped).
        ("traffic.red_light", D(2025, 11, 30), D(2026, 2, 27), True),
        ("traffic.red_light", D(2025, 11, 30), D(2026, 2, 28), False),
        ("traffic.red_light", D(2026, 1, 31), D(2026, 4, 29), True),
        ("traffic.red_light", D(2026, 1, 31), D(2026, 4, 30), False),
        # Leap year: 2027-11-30 + 3 months = 2028-02-29.
        ("traffic.red_light", D(2027, 11, 30), D(2028, 2, 28), True),
        ("traffic.red_light", D(2027, 11, 30), D(2028, 2, 29), False),
        # No clamping needed.
        ("traffic.red_light", D(2026, 2, 28), D(2026, 5, 27), True),
        ("traffic.red_light", D(2026, 2, 28), D(2026, 5, 28), False),
        # A listing shows for 24 months: 2024-02-29 + 24 months = 2026-02-28.
        ("court.dishonest_debtor", D(2024, 2, 29), D(2026, 2, 27), True),
        ("court.dishonest_debtor", D(2024, 2, 29), D(2026, 2, 28), False),
    ],
)
def test_month_end_clamp(
    executor: PopulationExecutor,
    tmp_path: Path,
    record_type: str,
    decided_on: dt.date,
    as_of: dt.date,
    shown: bool,
) -> None:
    r = Record(1, 1, record_type, decided_on)
    rows = score(executor, tmp_path, Facts(subjects(1), [r]), as_of=as_of)
    if not shown:
        check(rows[1], 1000, "A", [], as_of=as_of)
    elif record_type == "traffic.red_light":
        check(rows[1], 996, "A", [rc(r, -4)], as_of=as_of)
    else:
        check(rows[1], 900, "C", [rc(r, -100)], as_of=as_of)


@pytest.mark.parametrize(
    ("as_of", "barred"),
    [(D(2029, 2, 27), False), (D(2029, 2, 28), True)],
)
def test_query_bar_clamps_a_leap_day(
    executor: PopulationExecutor, tmp_path: Path, as_of: dt.date, barred: bool
) -> None:
    # 2024-02-29 + 60 months = 2029-02-28; the listing itself shows until 2029-03-10.
    r = Record(1, 1, "court.dishonest_debtor", D(2027, 3, 10), conduct_ended_on=D(2024, 2, 29))
    rows = score(executor, tmp_path, Facts(subjects(1), [r]), as_of=as_of)
    if barred:
        check(rows[1], 1000, "A", [], as_of=as_of)
    else:
        check(rows[1], 900, "C", [rc(r, -100)], as_of=as_of)


def test_order_of_contributions_and_reasons(executor: PopulationExecutor, tmp_path: Path) -> None:
    day = D(2026, 6, 1)
    blood_b = Record(10, 1, "commendation.blood_donation", day)
    speeding = Record(11, 1, "traffic.speeding", day)
    blood_a = Record(9, 1, "commendation.blood_donation", day)
    late_filing = Record(12, 1, "tax.late_filing", day)
    market = Record(13, 1, "market.false_advertising", day)
    jaywalk = Record(14, 1, "traffic.jaywalking", day)
    heroic = Record(15, 1, "commendation.heroic_act", day)
    # Subject 2: a cap and a record with the same points (the cap sorts first), then
    # two equal records (by record id).
    fraud = Record(20, 2, "fraud.insurance", day)
    h1 = Record(22, 2, "commendation.heroic_act", day)
    h2 = Record(21, 2, "commendation.heroic_act", day)
    b1 = Record(23, 2, "commendation.blood_donation", day)
    b2 = Record(24, 2, "commendation.blood_donation", day)
    # Subject 3: a -30 record before a +30 cap (points before kind). Traffic: -50 - 5 - 5
    # (the speeding tickets are 91 days apart: no repeat) = -60, floored at -30.
    drunk = Record(30, 3, "traffic.drunk_driving", D(2026, 1, 10))
    sp_a = Record(31, 3, "traffic.speeding", D(2026, 3, 16))
    sp_b = Record(32, 3, "traffic.speeding", AS_OF, recorded_at=T(2026, 6, 15, 12))
    fraud_3 = Record(33, 3, "fraud.insurance", day)
    facts = Facts(
        subjects(1, 2, 3),
        [
            blood_b,
            speeding,
            blood_a,
            late_filing,
            market,
            jaywalk,
            heroic,
            fraud,
            h1,
            h2,
            b1,
            b2,
            drunk,
            sp_a,
            sp_b,
            fraud_3,
        ],
    )
    rows = score(executor, tmp_path, facts)
    # By -|points|, then points (-5 before +5), kind, record type, record id, category;
    # zeros last. Commendations total exactly +40: no cap. Reasons: the first four non-zero.
    check(
        rows[1],
        1032,
        "AA",
        [
            rc(heroic, 30),
            rc(speeding, -5),
            rc(blood_a, 5),
            rc(blood_b, 5),
            rc(late_filing, -3),
            rc(market, status="category_not_in_force"),
            rc(jaywalk, status="no_rule"),
        ],
    )
    # Commendations +70, ceiling +40: a -30 cap, tied with the -30 fraud record.
    check(
        rows[2],
        1010,
        "A",
        [
            cap_contribution("commendation", -30),
            rc(fraud, -30),
            rc(h2, 30),
            rc(h1, 30),
            rc(b1, 5),
            rc(b2, 5),
        ],
    )
    check(
        rows[3],
        940,
        "C",
        [
            rc(drunk, -50),
            rc(fraud_3, -30),
            cap_contribution("traffic", 30),
            rc(sp_a, -5),
            rc(sp_b, -5),
        ],
    )


def test_partitioned_snapshot_gives_the_same_answers(
    executor: PopulationExecutor, tmp_path: Path
) -> None:
    day = D(2026, 6, 1)
    facts = Facts(
        [Subject(1, "31"), Subject(2, "32"), Subject(3, "33"), Subject(4, "31")],
        [Record(i, 1 + i % 4, "traffic.speeding", day - dt.timedelta(days=i)) for i in range(12)],
        [StatusEvent(1, 3, "annulled", T(2026, 6, 2))],
        [Profession(2, "doctor", T(2026, 1, 1))],
    )
    flat = score(executor, tmp_path / "flat", facts)
    partitioned = score(executor, tmp_path / "partitioned", facts, partition_by_province=True)
    assert partitioned == flat


def test_as_of_before_any_policy_is_an_error(executor: PopulationExecutor, tmp_path: Path) -> None:
    facts = Facts(subjects(1), [Record(1, 1, "traffic.speeding", D(2025, 6, 1))])
    with pytest.raises(NoPolicyInForceError):
        score(executor, tmp_path, facts, as_of=D(2025, 6, 15))


def test_shipped_policies(executor: PopulationExecutor, tmp_path: Path) -> None:
    """A few numbers straight from the shipped policy files, as of 2026-11-01."""
    as_of = D(2026, 11, 1)
    day = D(2026, 10, 15)
    doctor_fraud = Record(1, 1, "fraud.insurance", day)  # Jiangsu: doctors -60
    drunk = Record(2, 2, "traffic.drunk_driving", day)  # -50, at best C
    food = Record(3, 3, "market.food_safety", day)  # Shanghai: -60, market on from 2026-07-01
    anhui_debt = Record(4, 4, "debt.contract_default", day)  # Anhui: debt only from 2027
    facts = Facts(
        [Subject(1, "32"), Subject(2, "33"), Subject(3, "31"), Subject(4, "34")],
        [doctor_fraud, drunk, food, anhui_debt],
        professions=[Profession(1, "doctor", midnight(D(2026, 4, 1)))],
    )
    shipped = load_policies()
    by_ref = {p.ref: p for p in shipped}
    rows = score(executor, tmp_path, facts, as_of=as_of, policies=shipped)
    check(
        rows[1],
        940,
        "B",
        [rc(doctor_fraud, -60)],
        policy=by_ref["cn-32-jiangsu@2026.1"],
        as_of=as_of,
    )
    check(rows[2], 950, "C", [rc(drunk, -50)], policy=by_ref["cn-33-zhejiang@2026.1"], as_of=as_of)
    check(rows[3], 940, "B", [rc(food, -60)], policy=by_ref["cn-31-shanghai@2026.1"], as_of=as_of)
    check(
        rows[4],
        1000,
        "A",
        [rc(anhui_debt, status="category_not_in_force")],
        policy=by_ref["cn-34-anhui@2026.1"],
        as_of=as_of,
    )
