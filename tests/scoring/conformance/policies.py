"""Small explicit policies for the hand-written cases, so every expected number is visible.

``NATIONAL`` (region 00, from 2026-01-01) and two versions of a Shanghai policy (region 31:
1 until 2027-01-01, then 2). Only the numbers the cases need; rules copy category,
severity, polarity and windows from the record catalogue, as the resolver does.
"""

from __future__ import annotations

import datetime as dt

from socialcredit.policy import (
    AmountBand,
    CategoryPolicy,
    GradeBand,
    Repeat,
    ResolvedPolicy,
    Rule,
)
from socialcredit.records.catalogue import default_catalogue

D = dt.date
FEN_PER_YUAN = 100

GRADES = (
    GradeBand("AAA", 1050, None),
    GradeBand("AA", 1030, 1049),
    GradeBand("A", 960, 1029),
    GradeBand("B", 850, 959),
    GradeBand("C", 600, 849),
    GradeBand("D", None, 599),
)


def rule(
    record_type: str,
    points: int,
    *,
    profession: str | None = None,
    bands: tuple[tuple[int, int | None, int], ...] = (),
    repeat: tuple[int, int] | None = None,
    grade_cap: str | None = None,
) -> Rule:
    spec = default_catalogue().by_code()[record_type]
    return Rule(
        record_type=record_type,
        profession=profession,
        points=points,
        amount_bands=tuple(AmountBand(lo, hi, pts) for lo, hi, pts in bands),
        repeat=Repeat(*repeat) if repeat else None,
        grade_cap=grade_cap,
        legal_basis="test",
        defined_in="test",
        category=spec.category,
        severity=spec.severity,
        polarity=spec.polarity,
        min_window_months=spec.min_window_months,
        max_window_months=spec.max_window_months,
    )


def _categories(
    **settings: tuple[dt.date | None, int | None, int | None],
) -> tuple[CategoryPolicy, ...]:
    names = sorted(default_catalogue().categories)
    return tuple(CategoryPolicy(name, *settings.get(name, (None, None, None))) for name in names)


ARREARS_BANDS = (
    (0, 10_000 * FEN_PER_YUAN, -10),
    (10_000 * FEN_PER_YUAN, 100_000 * FEN_PER_YUAN, -30),
    (100_000 * FEN_PER_YUAN, None, -60),
)

NATIONAL_RULES = (
    rule("traffic.speeding", -5, repeat=(90, -5)),
    rule("traffic.drunk_driving", -50, grade_cap="C"),
    rule("traffic.drunk_driving", -80, profession="public_servant", grade_cap="C"),
    rule("traffic.red_light", -4),
    # No rule for traffic.jaywalking: its records are shown as no_rule.
    rule("tax.arrears", -15, bands=ARREARS_BANDS),
    rule("tax.late_filing", -3),
    rule("debt.loan_arrears", -10, repeat=(62, -5)),
    rule("fraud.insurance", -30),
    rule("fraud.insurance", -60, profession="doctor"),
    rule("fraud.insurance", -45, profession="public_servant"),
    rule("court.dishonest_debtor", -100, grade_cap="C"),
    rule("court.contempt", -80),
    # Never counted (market is never switched on), so its grade cap never applies.
    rule("market.false_advertising", -20, grade_cap="C"),
    rule("medical.malpractice", -50),
    rule("commendation.heroic_act", 30),
    rule("commendation.blood_donation", 5),
)


def _policy(
    ident: str,
    version: str,
    region: str,
    effective_from: dt.date,
    effective_until: dt.date | None,
    rules: tuple[Rule, ...],
    *,
    bar_years: int = 5,
) -> ResolvedPolicy:
    return ResolvedPolicy(
        id=ident,
        version=version,
        region=region,
        title=ident,
        legal_basis="test",
        effective_from=effective_from,
        effective_until=effective_until,
        base_score=1000,
        bar_years=bar_years,
        grades=GRADES,
        categories=_categories(
            traffic=(D(2026, 1, 1), -30, None),
            tax=(D(2026, 1, 1), None, None),
            debt=(D(2026, 1, 1), None, None),
            fraud=(D(2026, 1, 1), None, None),
            court_enforcement=(D(2026, 1, 1), None, None),
            commendation=(D(2026, 1, 1), None, 40),
            # Switched on after the usual as-of date of the cases.
            medical=(D(2026, 9, 1), None, None),
            # market: never switched on.
        ),
        rules=tuple(
            sorted(
                rules, key=lambda r: (r.record_type, r.profession is not None, r.profession or "")
            )
        ),
        sanctions=(),
        lineage=(f"{ident}@{version}",),
        catalogue_version=default_catalogue().version,
        source="test",
    )


def _replace(rules: tuple[Rule, ...], new: Rule) -> tuple[Rule, ...]:
    kept = [r for r in rules if (r.record_type, r.profession) != (new.record_type, new.profession)]
    return (*kept, new)


NATIONAL = _policy("test-national", "1", "00", D(2026, 1, 1), None, NATIONAL_RULES)
SHANGHAI_1 = _policy(
    "test-31",
    "1",
    "31",
    D(2026, 1, 1),
    D(2027, 1, 1),
    _replace(NATIONAL_RULES, rule("traffic.speeding", -7, repeat=(90, -5))),
)
SHANGHAI_2 = _policy(
    "test-31",
    "2",
    "31",
    D(2027, 1, 1),
    None,
    _replace(NATIONAL_RULES, rule("traffic.speeding", -9, repeat=(90, -5))),
)
POLICIES = (NATIONAL, SHANGHAI_1, SHANGHAI_2)
# Every catalogue window is at most 36 months, so only a bar shorter than that shows the
# bar running from the decision date when no end of conduct is recorded.
BAR_2 = _policy("test-bar-2", "1", "00", D(2026, 1, 1), None, NATIONAL_RULES, bar_years=2)
