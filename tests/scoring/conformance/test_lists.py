"""List membership, hand-written: every executor writes exactly these list rows.

As of 2026-06-15 under ``test-national@1`` with the list section below (subjects in
province 32). Display windows from the catalogue: court.dishonest_debtor 24 months,
fraud.insurance and medical.malpractice 36; medical counts only from 2026-09-01.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from socialcredit.policy import (
    BlackCriterion,
    BlackListRules,
    ListRules,
    RedCriterion,
    RedListRules,
    ResolvedPolicy,
)
from socialcredit.scoring.executors import PopulationExecutor

from .facts import Facts, Record, StatusEvent, Subject, midnight, score_and_list
from .policies import NATIONAL

D = dt.date
AS_OF = D(2026, 6, 15)

LISTED = dataclasses.replace(
    NATIONAL,
    lists=ListRules(
        black=BlackListRules(
            notice_working_days=5,
            min_age=18,
            criteria=(
                BlackCriterion(
                    "debtor", ("court.dishonest_debtor",), "法释〔2017〕7号", 12, None, "t"
                ),
                BlackCriterion(
                    "fraud", ("fraud.insurance", "medical.malpractice"), "basis-f", None, None, "t"
                ),
            ),
        ),
        red=RedListRules(
            notice_working_days=3,
            criteria=(
                RedCriterion("aa-clean", "AA", 1, "basis-aa", "t"),
                RedCriterion("aaa-clean", "AAA", 3, "basis-aaa", "t"),
            ),
        ),
    ),
)


def listed(
    executor: PopulationExecutor,
    tmp_path: Path,
    facts: Facts,
    *,
    as_of: dt.date = AS_OF,
    policies: tuple[ResolvedPolicy, ...] = (LISTED,),
) -> list[dict[str, Any]]:
    _, rows = score_and_list(executor, tmp_path, facts, as_of=as_of, policies=policies)
    return rows


def black(
    record: Record, criterion: str, planned_exit_on: dt.date, *, basis: str = "basis-f"
) -> dict[str, Any]:
    return {
        "subject_id": record.subject_id,
        "list_name": "black",
        "criterion": criterion,
        "legal_basis": basis,
        "policy_id": "test-national",
        "policy_version": "1",
        "origin_province": "32",
        "notice_working_days": 5,
        "record_id": record.record_id,
        "record_ref": record.ref,
        "record_type": record.record_type,
        "decided_on": record.decided_on,
        "planned_exit_on": planned_exit_on,
        "grade": None,
    }


def red(subject_id: int, criterion: str, basis: str, grade: str) -> dict[str, Any]:
    return {
        "subject_id": subject_id,
        "list_name": "red",
        "criterion": criterion,
        "legal_basis": basis,
        "policy_id": "test-national",
        "policy_version": "1",
        "origin_province": "32",
        "notice_working_days": 3,
        "record_id": None,
        "record_ref": None,
        "record_type": None,
        "decided_on": None,
        "planned_exit_on": None,
        "grade": grade,
    }


ADULT = D(1980, 5, 20)


def test_black_list_entries_and_planned_exits(executor: PopulationExecutor, tmp_path: Path) -> None:
    debtor = Record(1, 1, "court.dishonest_debtor", D(2025, 9, 30))
    # The listing period (12 months) ends before the display window (24).
    fraud = Record(2, 2, "fraud.insurance", D(2024, 2, 29))
    # No listing period: the 36-month display window, its day clamped (2027-02-28).
    barred_soon = Record(3, 3, "fraud.insurance", D(2026, 1, 5), conduct_ended_on=D(2021, 6, 16))
    # The 5-year query bar from the end of conduct comes first: 2026-06-16.
    barred = Record(4, 4, "fraud.insurance", D(2026, 1, 5), conduct_ended_on=D(2021, 6, 15))
    past = Record(5, 5, "court.dishonest_debtor", D(2025, 6, 15))  # 12 months ended today
    facts = Facts(
        subjects=[Subject(i, birth_date=ADULT) for i in range(1, 6)],
        records=[debtor, fraud, barred_soon, barred, past],
    )
    assert listed(executor, tmp_path, facts) == [
        black(debtor, "debtor", D(2026, 9, 30), basis="法释〔2017〕7号"),
        black(fraud, "fraud", D(2027, 2, 28)),
        black(barred_soon, "fraud", D(2026, 6, 16)),
    ]


def test_minors_are_never_listed(executor: PopulationExecutor, tmp_path: Path) -> None:
    facts = Facts(
        subjects=[
            Subject(1, birth_date=D(2008, 6, 16)),  # 18 tomorrow
            Subject(2, birth_date=D(2008, 1, 1)),  # 18 now, but 17 when decided
            Subject(3, birth_date=D(2007, 6, 15)),  # 18 on the day of the decision
            Subject(4, kind="organisation"),  # no birth date
            Subject(5, birth_date=D(2008, 2, 29)),  # 18 only on 2026-03-01
        ],
        records=[
            Record(1, 1, "fraud.insurance", D(2026, 5, 1)),
            Record(2, 2, "fraud.insurance", D(2025, 12, 31)),
            Record(3, 3, "fraud.insurance", D(2025, 6, 15)),
            Record(4, 4, "fraud.insurance", D(2026, 5, 1)),
            Record(5, 5, "fraud.insurance", D(2026, 2, 28)),
            Record(6, 5, "fraud.insurance", D(2026, 3, 1)),
        ],
    )
    rows = listed(executor, tmp_path, facts)
    assert [(r["subject_id"], r["record_id"]) for r in rows] == [(3, 3), (4, 4), (5, 6)]


def test_status_dates_and_categories(executor: PopulationExecutor, tmp_path: Path) -> None:
    records = [
        Record(1, 1, "fraud.insurance", D(2026, 3, 2)),  # annulled
        Record(2, 1, "fraud.insurance", D(2026, 3, 3)),  # repaired, then active again
        Record(3, 1, "fraud.insurance", D(2026, 3, 4)),  # expired
        Record(4, 1, "fraud.insurance", D(2026, 6, 16)),  # decided after the as-of date
        # Recorded after the end of the as-of day: unknown then.
        Record(5, 1, "fraud.insurance", D(2026, 6, 10), recorded_at=midnight(D(2026, 6, 16))),
        Record(6, 1, "medical.malpractice", D(2026, 3, 5)),  # medical counts from 09-01
    ]
    events = [
        StatusEvent(1, 1, "annulled", midnight(D(2026, 4, 1))),
        StatusEvent(2, 2, "repaired", midnight(D(2026, 4, 1))),
        StatusEvent(3, 2, "active", midnight(D(2026, 4, 1))),  # same instant, later id wins
        StatusEvent(4, 3, "expired", midnight(D(2026, 5, 1))),
    ]
    facts = Facts(subjects=[Subject(1, birth_date=ADULT)], records=records, status_events=events)
    assert [r["record_id"] for r in listed(executor, tmp_path, facts)] == [2]
    later = listed(executor, tmp_path / "later", facts, as_of=D(2026, 9, 1))
    assert [r["record_id"] for r in later] == [2, 4, 5, 6]


def test_red_list_by_grade_and_clean_period(executor: PopulationExecutor, tmp_path: Path) -> None:
    # Commendations are capped at +40: 1030..1040 is AA, AAA (1050) is out of reach, so
    # only the AA criterion (one clean year: nothing negative after 2025-06-15) can hold.
    def commended(subject_id: int, first_id: int) -> list[Record]:
        return [
            Record(first_id, subject_id, "commendation.heroic_act", D(2026, 1, 10)),
            Record(first_id + 1, subject_id, "commendation.blood_donation", D(2026, 2, 10)),
        ]

    records = [
        *commended(1, 10),
        *commended(2, 20),
        # Jaywalking has no rule: it costs no points but is a negative record.
        Record(22, 2, "traffic.jaywalking", D(2025, 6, 16)),
        *commended(3, 30),
        Record(32, 3, "traffic.jaywalking", D(2025, 6, 15)),  # on the edge: clean
        *commended(4, 40),
        Record(42, 4, "traffic.jaywalking", D(2025, 12, 1)),  # annulled: never happened
        *commended(5, 50),
        Record(52, 5, "traffic.jaywalking", D(2025, 12, 1)),  # expired: still happened
        Record(60, 6, "commendation.blood_donation", D(2026, 2, 10)),  # 1005: grade A
    ]
    events = [
        StatusEvent(1, 42, "annulled", midnight(D(2026, 1, 5))),
        StatusEvent(2, 52, "expired", midnight(D(2026, 3, 5))),
    ]
    facts = Facts(
        subjects=[Subject(i, birth_date=ADULT) for i in range(1, 7)],
        records=records,
        status_events=events,
    )
    assert listed(executor, tmp_path, facts) == [
        red(1, "aa-clean", "basis-aa", "AA"),
        red(3, "aa-clean", "basis-aa", "AA"),
        red(4, "aa-clean", "basis-aa", "AA"),
    ]


def test_both_lists_at_once_in_order(executor: PopulationExecutor, tmp_path: Path) -> None:
    # A listing period longer than the display window keeps a black entry after its
    # record stops counting; the grade alone decides the red list, and a record decided
    # over a year ago breaks no one-year clean period.
    policy = dataclasses.replace(
        LISTED,
        lists=dataclasses.replace(
            LISTED.lists,
            black=dataclasses.replace(
                LISTED.lists.black,
                criteria=(
                    *LISTED.lists.black.criteria,
                    BlackCriterion("lights", ("traffic.red_light",), "basis-l", 24, None, "t"),
                ),
            ),
        ),
    )
    late = Record(7, 1, "traffic.red_light", D(2025, 5, 31))
    early = Record(3, 1, "traffic.red_light", D(2025, 4, 30))
    records = [
        late,
        early,
        Record(10, 1, "commendation.heroic_act", D(2026, 1, 10)),
        Record(11, 1, "commendation.blood_donation", D(2026, 1, 10)),
        Record(12, 1, "commendation.blood_donation", D(2026, 1, 11)),
    ]
    facts = Facts(subjects=[Subject(1, birth_date=ADULT)], records=records)
    scores, rows = score_and_list(executor, tmp_path, facts, as_of=AS_OF, policies=(policy,))
    assert (scores[1]["score"], scores[1]["grade"]) == (1040, "AA")
    assert rows == [
        black(early, "lights", D(2027, 4, 30), basis="basis-l"),
        black(late, "lights", D(2027, 5, 31), basis="basis-l"),
        red(1, "aa-clean", "basis-aa", "AA"),
    ]
