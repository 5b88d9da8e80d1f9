"""The policies in force, flattened into the constants the Spark plan inlines.

Everything here depends only on the policies, the catalogue and the as-of date, so it is
computed once in Python (with ``scoring.dates.add_months`` and the DuckDB executor's
``first_shown`` thresholds, both held to the contract by the conformance suite), then
rendered as Spark SQL literals by ``spark_sql``.

Indexing: a policy used by some province is ``policy_key`` 0..P-1; record types and
categories are ranks in Python's sorted order of their names (so sorting by rank sorts like
``Contribution.sort_key`` does); values per (type, policy) live in flat arrays at
``type_rank * P + policy_key``, per (policy, category) at ``policy_key * C + cat_rank``, per
(type, policy, profession) at ``(type_rank * P + policy_key) * F + profession_rank``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from socialcredit.policy import ResolvedPolicy, Rule, select_policy
from socialcredit.scoring.catalogue_view import catalogue_view
from socialcredit.scoring.dates import add_months
from socialcredit.scoring.duckdb_executor import first_shown


@dataclass(frozen=True, slots=True)
class RedCriterionRow:
    criterion: str
    legal_basis: str
    # Rank of the criterion's grade in the policy (0 best); -1 when the policy has no such
    # grade, which no subject's rank is at most.
    rank: int
    clean_from: dt.date  # a negative record decided after this day blocks the criterion


@dataclass(slots=True)
class PolicyPlan:
    """What the Spark plan needs from the used policies, as plain Python values."""

    policies: list[ResolvedPolicy] = field(default_factory=list)
    province_keys: dict[str, int] = field(default_factory=dict)
    null_province_key: int | None = None
    type_names: list[str] = field(default_factory=list)
    category_names: list[str] = field(default_factory=list)
    # Per type rank.
    type_cat: list[int] = field(default_factory=list)
    type_negative: list[bool] = field(default_factory=list)
    shown_from: list[dt.date] = field(default_factory=list)
    # The earliest decision date that can matter for a score or a list, by type; records
    # decided before it are dropped before the shuffle.
    relevant_from: list[dt.date] = field(default_factory=list)
    # Per (type, policy).
    in_force: list[bool] = field(default_factory=list)
    generic_rule: list[int | None] = field(default_factory=list)
    # Professions with a rule of their own in some used policy, alphabetically (the order
    # ``rule_for`` tries them in); a subject's held ones travel as a bit mask of these.
    professions: list[str] = field(default_factory=list)
    # Per (type, policy, profession): the profession's rule key, else None.
    profession_rules: list[int | None] = field(default_factory=list)
    black_criterion: list[int | None] = field(default_factory=list)
    black_months: list[int | None] = field(default_factory=list)
    # Per policy.
    bar_from: list[dt.date] = field(default_factory=list)
    bar_months: list[int] = field(default_factory=list)
    black_ids: list[list[str]] = field(default_factory=list)
    black_bases: list[list[str]] = field(default_factory=list)
    red: list[list[RedCriterionRow]] = field(default_factory=list)
    # Per (policy, category): bounds of the category's total.
    cat_min: list[int | None] = field(default_factory=list)
    cat_max: list[int | None] = field(default_factory=list)
    # Per rule key.
    rules: list[Rule] = field(default_factory=list)
    rule_cap_rank: list[int | None] = field(default_factory=list)
    min_bar_from: dt.date = dt.date.max

    @property
    def n_policies(self) -> int:
        return len(self.policies)

    @property
    def n_categories(self) -> int:
        return len(self.category_names)


def choose_policies(
    policies: Sequence[ResolvedPolicy], provinces: Iterable[str | None], as_of: dt.date
) -> dict[str | None, ResolvedPolicy]:
    """``select_policy`` per province present; a subject without a province gets what a
    province with no policy of its own gets (as the other executors do)."""
    return {code: select_policy(policies, code or "", as_of) for code in provinces}


def _day_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=1)


def build_plan(chosen: dict[str | None, ResolvedPolicy], as_of: dt.date) -> PolicyPlan:
    plan = PolicyPlan()
    keys: dict[int, int] = {}
    for province, policy in chosen.items():
        if id(policy) not in keys:
            keys[id(policy)] = len(plan.policies)
            plan.policies.append(policy)
        if province is None:
            plan.null_province_key = keys[id(policy)]
        else:
            plan.province_keys[province] = keys[id(policy)]
    catalogue = catalogue_view()
    used = plan.policies
    plan.type_names = sorted(catalogue)
    plan.category_names = sorted(
        {category for category, _polarity, _window in catalogue.values()}
        | {r.category for p in used for r in p.rules}
        | {c.category for p in used for c in p.categories}
    )
    cat_rank = {name: rank for rank, name in enumerate(plan.category_names)}

    for policy in used:
        bar_months = 12 * policy.bar_years
        plan.bar_months.append(bar_months)
        plan.bar_from.append(first_shown(as_of, bar_months))
        plan.black_ids.append([c.id for c in policy.lists.black.criteria])
        plan.black_bases.append([c.legal_basis for c in policy.lists.black.criteria])
        ranks = {g.grade: i for i, g in enumerate(policy.grades)}
        plan.red.append(
            [
                RedCriterionRow(
                    criterion=c.id,
                    legal_basis=c.legal_basis,
                    rank=ranks.get(c.grade, -1),
                    clean_from=add_months(as_of, -12 * c.clean_years),
                )
                for c in sorted(policy.lists.red.criteria, key=lambda c: c.id)
            ]
        )
        for category in plan.category_names:
            bounds = policy.category(category)
            plan.cat_min.append(bounds.min_points)
            plan.cat_max.append(bounds.max_points)
    plan.min_bar_from = min(plan.bar_from, default=dt.date.max)

    rule_key: dict[int, int] = {}  # id(rule) -> key
    for policy in used:
        for rule in policy.rules:
            if rule.category != catalogue[rule.record_type][0]:
                # The plan sorts and caps by the catalogue's category; the resolver copies
                # it into every rule, so this only guards that invariant.
                raise ValueError(
                    f"{policy.ref}: rule for {rule.record_type} is filed under "
                    f"{rule.category}, the catalogue says {catalogue[rule.record_type][0]}"
                )
            rule_key[id(rule)] = len(plan.rules)
            plan.rules.append(rule)
            plan.rule_cap_rank.append(
                policy.grade_rank(rule.grade_cap) if rule.grade_cap is not None else None
            )
    # ResolvedPolicy.rule_for's own lookup: one rule per (type, profession).
    lookups = [{(r.record_type, r.profession): r for r in p.rules} for p in used]
    plan.professions = sorted(
        {profession for lookup in lookups for (_t, profession) in lookup if profession}
    )
    # The red list's clean periods: the earliest day after which a negative record blocks.
    red_from = min(
        (_day_after(c.clean_from) for rows in plan.red for c in rows), default=dt.date.max
    )

    for record_type in plan.type_names:
        category, polarity, window = catalogue[record_type]
        negative = polarity == "negative"
        plan.type_cat.append(cat_rank[category])
        plan.type_negative.append(negative)
        shown = first_shown(as_of, window)
        plan.shown_from.append(shown)
        relevant = shown
        if negative:
            relevant = min(relevant, red_from)
        for policy, lookup in zip(used, lookups, strict=True):
            counts_from = policy.category(category).counts_from
            plan.in_force.append(counts_from is not None and counts_from <= as_of)
            generic = lookup.get((record_type, None))
            plan.generic_rule.append(rule_key[id(generic)] if generic is not None else None)
            for profession in plan.professions:
                own = lookup.get((record_type, profession))
                plan.profession_rules.append(rule_key[id(own)] if own is not None else None)
            criterion = policy.lists.black.criterion_for(record_type)
            if criterion is None:
                plan.black_criterion.append(None)
                plan.black_months.append(None)
            else:
                months = criterion.duration_months or window
                plan.black_criterion.append(policy.lists.black.criteria.index(criterion))
                plan.black_months.append(months)
                relevant = min(relevant, first_shown(as_of, months))
        plan.relevant_from.append(relevant)
    return plan
