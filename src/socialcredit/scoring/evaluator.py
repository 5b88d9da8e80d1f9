"""The in-process evaluator: the contract of ``socialcredit.scoring``, for one subject.

It is the reference the set-wise executors are held to, so it is written for
clarity first; it is still fast enough to rescore a subject on every new record.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from socialcredit.policy import ResolvedPolicy
from socialcredit.policy.model import Rule
from socialcredit.scoring.dates import add_months
from socialcredit.scoring.facts import RecordFact, SubjectFacts
from socialcredit.scoring.results import Contribution, ScoreResult


def _shown(record: RecordFact, rule_window: int, as_of: dt.date) -> bool:
    return record.decided_on <= as_of < add_months(record.decided_on, rule_window)


def _barred(record: RecordFact, polarity: str, bar_years: int, as_of: dt.date) -> bool:
    if polarity != "negative":
        return False
    ended = record.conduct_ended_on or record.decided_on
    return as_of >= add_months(ended, 12 * bar_years)


def evaluate(
    subject: SubjectFacts,
    policy: ResolvedPolicy,
    as_of: dt.date,
    catalogue: dict[str, tuple[str, str, int]],
) -> ScoreResult:
    """Score one subject. ``catalogue`` maps record type → (category, polarity, max window)."""
    items: list[Contribution] = []
    counted: list[tuple[RecordFact, Rule, int]] = []
    for record in subject.records:
        if record.status != "active":
            continue
        category, polarity, max_window = catalogue[record.record_type]
        if not _shown(record, max_window, as_of) or _barred(
            record, polarity, policy.bar_years, as_of
        ):
            continue
        cat_policy = policy.category(category)
        if cat_policy.counts_from is None or cat_policy.counts_from > as_of:
            items.append(_zero(record, category, "category_not_in_force"))
            continue
        rule = policy.rule_for(record.record_type, subject.professions)
        if rule is None:
            items.append(_zero(record, category, "no_rule"))
            continue
        counted.append((record, rule, rule.points_for(record.amount_fen)))

    by_type: dict[str, list[tuple[RecordFact, Rule, int]]] = defaultdict(list)
    for entry in counted:
        by_type[entry[0].record_type].append(entry)
    totals: dict[str, int] = defaultdict(int)
    grade_caps: list[str] = []
    for entries in by_type.values():
        entries.sort(key=lambda e: (e[0].decided_on, e[0].record_id))
        for i, (record, rule, base) in enumerate(entries):
            extra = 0
            if rule.repeat is not None and i > 0:
                previous = entries[i - 1][0]
                if (record.decided_on - previous.decided_on).days <= rule.repeat.window_days:
                    extra = rule.repeat.extra_points
            points = base + extra
            totals[rule.category] += points
            if rule.grade_cap is not None:
                grade_caps.append(rule.grade_cap)
            items.append(
                Contribution(
                    kind="record",
                    category=rule.category,
                    points=points,
                    status="counted",
                    record_id=record.record_id,
                    record_ref=record.ref,
                    record_type=record.record_type,
                    base_points=base,
                    repeat_points=extra,
                )
            )
    for category, total in totals.items():
        bounds = policy.category(category)
        adjust = 0
        if bounds.min_points is not None and total < bounds.min_points:
            adjust = bounds.min_points - total
        elif bounds.max_points is not None and total > bounds.max_points:
            adjust = bounds.max_points - total
        if adjust:
            items.append(Contribution(kind="cap", category=category, points=adjust, status="cap"))

    score = policy.base_score + sum(c.points for c in items)
    grade = policy.grade_for(score)
    for cap in grade_caps:
        grade = policy.worse_grade(grade, cap)
    items.sort(key=Contribution.sort_key)
    return ScoreResult(
        subject_id=subject.subject_id,
        as_of=as_of,
        policy_id=policy.id,
        policy_version=policy.version,
        score=score,
        grade=grade,
        contributions=tuple(items),
    )


def _zero(record: RecordFact, category: str, status: str) -> Contribution:
    return Contribution(
        kind="record",
        category=category,
        points=0,
        status=status,
        record_id=record.record_id,
        record_ref=record.ref,
        record_type=record.record_type,
    )
