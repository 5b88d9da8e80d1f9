"""Which list criteria a subject meets on a date: pure, from the same as-of facts as scoring.

The black list follows adjudicated records: a subject is on it for each active, displayed
serious record of a type some black-list criterion names, from the record's category
rollout date and until the listing period (or the display window, or the query bar) ends.
A score never puts anyone on it. Minors are never listed, nor is anyone for a record
decided while they were a minor.

The red list follows the grade: the criterion's grade or better, with no negative record
decided within its clean period. It is re-evaluated every time, so it has no planned exit.

``black_exit`` and ``red_exit`` say why a criterion is not met, with the date it stopped
being met where that date is known; the store uses them to explain every exit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from socialcredit.policy import BlackCriterion, RedCriterion, ResolvedPolicy
from socialcredit.records.catalogue import RecordTypeSpec, default_catalogue
from socialcredit.scoring.dates import add_months
from socialcredit.scoring.facts import RecordFact, SubjectFacts
from socialcredit.scoring.results import ScoreResult

BLACK = "black"
RED = "red"
LIST_NAMES = (BLACK, RED)

# What a record status other than "active" means for a listing, when the status event
# gives no reason of its own.
STATUS_REASONS: dict[str, str] = {
    "annulled": "record annulled by its provider",
    "corrected": "record corrected by its provider",
    "repaired": "credit repaired",
    "expired": "record expired",
}
# Statuses of negative records that still count against the red list's clean period:
# an expired record happened; an annulled one did not, a corrected one is replaced by its
# new version, and a repaired one is forgiven.
_RED_BLOCKING_STATUSES = frozenset({"active", "expired"})


@lru_cache(maxsize=1)
def _types() -> dict[str, RecordTypeSpec]:
    return default_catalogue().by_code()


@dataclass(frozen=True, slots=True)
class ListDecision:
    """A list criterion met on the as-of date, with what it rests on."""

    list_name: str  # black | red
    criterion: str
    legal_basis: str
    policy_id: str
    policy_version: str
    # The province whose policy decided: an entry holds in every YRD province (mutual
    # recognition), carrying where it was decided.
    origin_province: str
    notice_working_days: int
    record_id: int | None = None  # black: the record that triggered it
    record_ref: str | None = None  # "<provider_id>:<provider_record_id>", stable across versions
    record_type: str | None = None
    decided_on: dt.date | None = None
    planned_exit_on: dt.date | None = None  # black only: the red list is re-evaluated
    grade: str | None = None  # red: the grade that qualified

    @property
    def key(self) -> tuple[str, str, str | None]:
        """What identifies one entry: a black entry per record, a red entry per criterion."""
        return (self.list_name, self.criterion, self.record_ref)

    def to_row(self, subject_id: int) -> dict[str, Any]:
        """The decision as a ``scoring.results.LIST_SCHEMA`` row."""
        return {"subject_id": subject_id} | {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ListDecision:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class NotListed:
    """Why a criterion is not met, and since when (the as-of date when unknown)."""

    since: dt.date
    reason: str


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def planned_exit(record: RecordFact, criterion: BlackCriterion, policy: ResolvedPolicy) -> dt.date:
    """The day the record stops listing its subject: the end of the listing period (the
    display window when the criterion sets none), or the query bar if that comes first."""
    spec = _types()[record.record_type]
    months = criterion.duration_months or spec.max_window_months
    end = add_months(record.decided_on, months)
    bar = add_months(record.conduct_ended_on or record.decided_on, 12 * policy.bar_years)
    return min(end, bar)


def black_exit(
    record: RecordFact,
    criterion: BlackCriterion,
    policy: ResolvedPolicy,
    as_of: dt.date,
    birth_date: dt.date | None,
) -> NotListed | None:
    """Why ``record`` does not put its subject on the black list on ``as_of``; None if it does."""
    if record.record_type not in criterion.record_types:
        return NotListed(as_of, f"{record.record_type} is not a record type of {criterion.id}")
    if record.status != "active":
        return NotListed(as_of, STATUS_REASONS.get(record.status, f"record {record.status}"))
    min_age = policy.lists.black.min_age
    if birth_date is not None:
        if age_on(birth_date, record.decided_on) < min_age:
            return NotListed(
                as_of,
                f"decided while the subject was under {min_age}; minors are never listed",
            )
        if age_on(birth_date, as_of) < min_age:
            return NotListed(as_of, f"the subject is under {min_age}; minors are never listed")
    if record.decided_on > as_of:
        return NotListed(as_of, f"decided on {record.decided_on}, after {as_of}")
    spec = _types()[record.record_type]
    counts_from = policy.category(spec.category).counts_from
    if counts_from is None or counts_from > as_of:
        when = f"until {counts_from}" if counts_from else "at all"
        return NotListed(as_of, f"{spec.category} records do not count under {policy.ref} {when}")
    end = planned_exit(record, criterion, policy)
    if as_of >= end:
        bar = add_months(record.conduct_ended_on or record.decided_on, 12 * policy.bar_years)
        if end == bar:
            why = f"the {policy.bar_years}-year query bar was reached"
        elif criterion.duration_months and criterion.duration_months < spec.max_window_months:
            why = f"the listing period of {criterion.duration_months} months ended"
        else:
            why = f"the record's display window of {spec.max_window_months} months ended"
        return NotListed(end, why)
    return None


def red_exit(
    facts: SubjectFacts,
    criterion: RedCriterion,
    policy: ResolvedPolicy,
    as_of: dt.date,
    grade: str,
) -> NotListed | None:
    """Why the subject does not meet a red-list criterion on ``as_of``; None if it does."""
    ranks = {g.grade: i for i, g in enumerate(policy.grades)}
    wanted = ranks.get(criterion.grade)
    if wanted is None:
        return NotListed(as_of, f"{policy.ref} has no grade {criterion.grade}")
    if ranks.get(grade, len(ranks)) > wanted:
        return NotListed(as_of, f"grade {grade} is below {criterion.grade}")
    clean_from = add_months(as_of, -12 * criterion.clean_years)
    blocking = [r for r in facts.records if _blocks_red(r, policy, as_of, clean_from)]
    if blocking:
        worst = max(blocking, key=lambda r: (r.decided_on, r.record_id))
        return NotListed(
            as_of,
            f"negative record {worst.record_type} decided on {worst.decided_on}, within the "
            f"{criterion.clean_years}-year clean period",
        )
    return None


def _blocks_red(
    record: RecordFact, policy: ResolvedPolicy, as_of: dt.date, clean_from: dt.date
) -> bool:
    spec = _types()[record.record_type]
    if spec.polarity != "negative" or record.status not in _RED_BLOCKING_STATUSES:
        return False
    if not clean_from < record.decided_on <= as_of:
        return False
    # The same rules of use as for scores: a category not switched on and a record past
    # the query bar say nothing about the subject.
    counts_from = policy.category(spec.category).counts_from
    if counts_from is None or counts_from > as_of:
        return False
    bar = add_months(record.conduct_ended_on or record.decided_on, 12 * policy.bar_years)
    return as_of < bar


def list_decisions(
    facts: SubjectFacts,
    policy: ResolvedPolicy,
    as_of: dt.date,
    score_result: ScoreResult,
    birth_date: dt.date | None,
) -> list[ListDecision]:
    """Every list criterion ``facts.subject_id`` meets on ``as_of`` under ``policy``.

    ``score_result`` is the subject's score on the same date under the same policy (the red
    list reads its grade); ``birth_date`` is None for organisations.
    """
    out: list[ListDecision] = []
    black = policy.lists.black
    for record in facts.records:
        criterion = black.criterion_for(record.record_type)
        if criterion is None or black_exit(record, criterion, policy, as_of, birth_date):
            continue
        out.append(
            ListDecision(
                list_name=BLACK,
                criterion=criterion.id,
                legal_basis=criterion.legal_basis,
                policy_id=policy.id,
                policy_version=policy.version,
                origin_province=facts.province_code,
                notice_working_days=black.notice_working_days,
                record_id=record.record_id,
                record_ref=record.ref,
                record_type=record.record_type,
                decided_on=record.decided_on,
                planned_exit_on=planned_exit(record, criterion, policy),
            )
        )
    red = policy.lists.red
    for wanted in red.criteria:
        if red_exit(facts, wanted, policy, as_of, score_result.grade) is None:
            out.append(
                ListDecision(
                    list_name=RED,
                    criterion=wanted.id,
                    legal_basis=wanted.legal_basis,
                    policy_id=policy.id,
                    policy_version=policy.version,
                    origin_province=facts.province_code,
                    notice_working_days=red.notice_working_days,
                    grade=score_result.grade,
                )
            )
    out.sort(key=lambda d: (d.list_name, d.criterion, d.record_id or 0))
    return out
