"""A resolved policy: one flat, immutable value that every scoring executor reads.

Everything an executor needs is here, already merged along ``extends`` and joined
with the record catalogue (category, severity, polarity, windows), so the
in-process, DuckDB and Spark executors start from identical numbers and never
consult the files or the catalogue themselves. Money is in fen, like
``records.amount_fen``; dates are ``datetime.date``.

The lookup helpers define the tie-breaks executors must mirror: see ``rule_for``,
``Rule.points_for`` and ``grade_for``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any


def version_key(version: str) -> tuple[int, ...]:
    """Versions compare numerically, part by part: 2026.10 is newer than 2026.9."""
    return tuple(int(part) for part in version.split("."))


@dataclass(frozen=True, slots=True)
class GradeBand:
    """Scores from ``min_score`` to ``max_score`` inclusive; ``None`` is an open end."""

    grade: str
    min_score: int | None
    max_score: int | None

    def contains(self, score: int) -> bool:
        return (self.min_score is None or score >= self.min_score) and (
            self.max_score is None or score <= self.max_score
        )


@dataclass(frozen=True, slots=True)
class AmountBand:
    """Amounts from ``min_fen`` (inclusive) to ``max_fen`` (exclusive; ``None``: no limit)."""

    min_fen: int
    max_fen: int | None
    points: int

    def contains(self, amount_fen: int) -> bool:
        return amount_fen >= self.min_fen and (self.max_fen is None or amount_fen < self.max_fen)


@dataclass(frozen=True, slots=True)
class Repeat:
    """A counting record with another counting record of the same type for the same subject
    decided within ``window_days`` before it gets ``extra_points`` on top of its points."""

    window_days: int
    extra_points: int


@dataclass(frozen=True, slots=True)
class Rule:
    record_type: str
    # None: applies to everyone; otherwise only to subjects holding that professional profile.
    profession: str | None
    points: int
    # Ordered by amount and covering every amount from 0 up; empty when the rule has none.
    amount_bands: tuple[AmountBand, ...]
    repeat: Repeat | None
    # While a record under this rule counts, the grade is at best this one.
    grade_cap: str | None
    legal_basis: str
    # ``id@version`` of the policy file that wrote this rule (the baseline or an extension).
    defined_in: str
    # Copied from the record catalogue so executors need no join to it.
    category: str
    severity: str
    polarity: str
    min_window_months: int
    max_window_months: int

    def points_for(self, amount_fen: int | None) -> int:
        """Points for one record: its amount band when it has an amount and the rule has
        bands, else ``points``. Repeat extras are the scorer's business."""
        if amount_fen is None or not self.amount_bands:
            return self.points
        for band in self.amount_bands:
            if band.contains(amount_fen):
                return band.points
        # Bands start at 0 (lint enforces it), so only a negative amount lands here.
        raise ValueError(f"{self.record_type}: amount {amount_fen} fen is below every band")


@dataclass(frozen=True, slots=True)
class CategoryPolicy:
    """Per category of the catalogue: when it starts counting and how far it may move a score."""

    category: str
    # The category is switched on for scores as of this date or later (the phased rollout);
    # before it, and always when None, its records count for nothing.
    counts_from: dt.date | None
    # The category's total is clamped to [min_points, max_points]; None: unbounded.
    min_points: int | None
    max_points: int | None


@dataclass(frozen=True, slots=True)
class Trigger:
    on_list: str | None = None  # "black" | "red"
    grade: str | None = None
    score_below: int | None = None


@dataclass(frozen=True, slots=True)
class Sanction:
    id: str
    title: str | None
    legal_basis: str
    trigger: Trigger
    defined_in: str


# Defaults when no policy in a lineage says otherwise: a week of notice, and nobody under 18
# on the black list (minors are never listed).
DEFAULT_NOTICE_WORKING_DAYS = 5
ADULT_AGE = 18


@dataclass(frozen=True, slots=True)
class BlackCriterion:
    """An active, displayed serious record of one of ``record_types`` puts its subject on the
    black list, for ``duration_months`` from the decision (None: the record's display window)."""

    id: str
    record_types: tuple[str, ...]
    legal_basis: str
    duration_months: int | None
    # Published for aggravated cases with a recorded reason; not applied yet (no record
    # carries the reason), so it never changes a planned exit today.
    extra_months_with_reason: tuple[int, int] | None
    defined_in: str


@dataclass(frozen=True, slots=True)
class RedCriterion:
    """Holding ``grade`` (or better) with no negative record decided in ``clean_years``."""

    id: str
    grade: str
    clean_years: int
    legal_basis: str
    defined_in: str


@dataclass(frozen=True, slots=True)
class BlackListRules:
    notice_working_days: int = DEFAULT_NOTICE_WORKING_DAYS
    min_age: int = ADULT_AGE
    criteria: tuple[BlackCriterion, ...] = ()  # by id

    def criterion_for(self, record_type: str) -> BlackCriterion | None:
        # The resolver refuses a record type named by two criteria, so at most one matches.
        for criterion in self.criteria:
            if record_type in criterion.record_types:
                return criterion
        return None


@dataclass(frozen=True, slots=True)
class RedListRules:
    notice_working_days: int = DEFAULT_NOTICE_WORKING_DAYS
    criteria: tuple[RedCriterion, ...] = ()  # by id


@dataclass(frozen=True, slots=True)
class ListRules:
    """Entry criteria of the black and red lists (the ``lists`` section of a policy)."""

    black: BlackListRules = BlackListRules()
    red: RedListRules = RedListRules()


@dataclass(frozen=True, slots=True)
class ResolvedPolicy:
    id: str
    version: str
    region: str  # "00" national, else the two-digit province code
    title: str
    legal_basis: str
    effective_from: dt.date
    effective_until: dt.date | None  # exclusive
    base_score: int
    bar_years: int
    grades: tuple[GradeBand, ...]  # best first; together they cover every integer once
    categories: tuple[CategoryPolicy, ...]  # one per catalogue category, by name
    rules: tuple[Rule, ...]  # by (record_type, profession), generic rule first
    sanctions: tuple[Sanction, ...]  # by id
    # id@version of this policy, then of each policy it extends, down to the baseline.
    lineage: tuple[str, ...]
    catalogue_version: str
    source: str  # the file this version was read from
    lists: ListRules = ListRules()

    _rules: dict[tuple[str, str | None], Rule] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _categories: dict[str, CategoryPolicy] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _grade_rank: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # Lookup tables for the in-process scorer; excluded from equality and hashing.
        object.__setattr__(self, "_rules", {(r.record_type, r.profession): r for r in self.rules})
        object.__setattr__(self, "_categories", {c.category: c for c in self.categories})
        object.__setattr__(self, "_grade_rank", {g.grade: i for i, g in enumerate(self.grades)})

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def extends(self) -> str | None:
        return self.lineage[1] if len(self.lineage) > 1 else None

    @property
    def version_key(self) -> tuple[int, ...]:
        return version_key(self.version)

    def in_force(self, as_of: dt.date) -> bool:
        return self.effective_from <= as_of and (
            self.effective_until is None or as_of < self.effective_until
        )

    def rule_for(self, record_type: str, professions: Collection[str] = ()) -> Rule | None:
        """The rule for a record of ``record_type`` on a subject holding ``professions``.

        A profession-specific rule wins over the generic one; if the subject holds several
        professions with their own rule, the alphabetically first profession decides, so
        that every executor picks the same rule.
        """
        for profession in sorted(professions):
            rule = self._rules.get((record_type, profession))
            if rule is not None:
                return rule
        return self._rules.get((record_type, None))

    def category(self, name: str) -> CategoryPolicy:
        found = self._categories.get(name)
        return found if found is not None else CategoryPolicy(name, None, None, None)

    def grade_for(self, score: int) -> str:
        for band in self.grades:
            if band.contains(score):
                return band.grade
        raise AssertionError(f"{self.ref}: grade bands do not cover {score}")  # lint prevents it

    def grade_rank(self, grade: str) -> int:
        """0 for the best grade, growing towards the worst."""
        return self._grade_rank[grade]

    def worse_grade(self, a: str, b: str) -> str:
        """The worse of two grades: how a grade cap applies."""
        return a if self.grade_rank(a) >= self.grade_rank(b) else b

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON (dates as ISO text), without the lookup tables."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if not f.name.startswith("_"):
                out[f.name] = _plain(getattr(self, f.name))
        return out


def _plain(value: object) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return value
