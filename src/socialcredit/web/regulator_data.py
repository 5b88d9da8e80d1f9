"""What the regulator's dashboard reads: grade distributions, policy impact and cases."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from socialcredit.db.models import ProfessionalProfile, Score, Subject
from socialcredit.policy import ResolvedPolicy
from socialcredit.policy.diff import DiffReport, simulate

GRADES = ("AAA", "AA", "A", "B", "C", "D")


@dataclass
class Distribution:
    grades: list[str]
    subjects: int = 0
    as_of: dt.date | None = None  # the newest as-of date among the scores shown
    by_province: dict[str, Counter[str]] = field(default_factory=dict)
    by_city: dict[str, Counter[str]] = field(default_factory=dict)
    by_profession: dict[str, Counter[str]] = field(default_factory=dict)
    # score bands of 50 points: lower bound -> subjects
    histogram: dict[int, int] = field(default_factory=dict)


def grade_distribution(conn: Connection, *, top_cities: int = 15) -> Distribution:
    """Every subject's newest stored score (newest as-of date, then newest computation),
    counted by grade per province, city and profession. ``top_cities`` keeps the cities
    with most subjects, so the chart stays readable at national scale."""
    ranked = select(
        Score.subject_id,
        Score.grade,
        Score.score,
        Score.as_of,
        func.row_number()
        .over(
            partition_by=Score.subject_id,
            order_by=(Score.as_of.desc(), Score.computed_at.desc(), Score.id.desc()),
        )
        .label("rank"),
    ).subquery()
    latest = (
        select(ranked.c.subject_id, ranked.c.grade, ranked.c.score, ranked.c.as_of)
        .where(ranked.c.rank == 1)
        .subquery()
    )
    by_place = conn.execute(
        select(
            Subject.province_code,
            Subject.city_code,
            latest.c.grade,
            (latest.c.score / 50).label("band"),
            func.count(),
            func.max(latest.c.as_of),
        )
        .join(latest, latest.c.subject_id == Subject.id)
        .group_by(Subject.province_code, Subject.city_code, latest.c.grade, "band")
    )
    seen_grades: set[str] = set()
    out = Distribution(grades=[])
    provinces: dict[str, Counter[str]] = defaultdict(Counter)
    cities: dict[str, Counter[str]] = defaultdict(Counter)
    histogram: Counter[int] = Counter()
    for province, city, grade, band, count, as_of in by_place:
        seen_grades.add(grade)
        provinces[province][grade] += count
        cities[city][grade] += count
        histogram[int(band) * 50] += count
        out.subjects += count
        if as_of is not None and (out.as_of is None or as_of > out.as_of):
            out.as_of = as_of
    professions: dict[str, Counter[str]] = defaultdict(Counter)
    for profession, grade, count in conn.execute(
        select(
            ProfessionalProfile.profession,
            latest.c.grade,
            func.count(func.distinct(latest.c.subject_id)),
        )
        .join(latest, latest.c.subject_id == ProfessionalProfile.subject_id)
        .group_by(ProfessionalProfile.profession, latest.c.grade)
    ):
        professions[profession][grade] += count
    out.grades = [g for g in GRADES if g in seen_grades] + sorted(seen_grades - set(GRADES))
    out.by_province = dict(sorted(provinces.items()))
    biggest = sorted(cities.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:top_cities]
    out.by_city = dict(sorted(biggest))
    out.by_profession = dict(sorted(professions.items()))
    out.histogram = dict(sorted(histogram.items()))
    return out


# --- policy impact ------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyPair:
    region: str
    current: ResolvedPolicy
    draft: ResolvedPolicy

    @property
    def key(self) -> str:
        return f"{self.current.ref}..{self.draft.ref}"


def policy_pairs(policies: Sequence[ResolvedPolicy], today: dt.date) -> list[PolicyPair]:
    """Each later version of a region's policy (one not yet in force: a draft, or one
    adopted for a future date) against the version in force today."""
    out = []
    for current in policies:
        if not current.in_force(today):
            continue
        for candidate in policies:
            if (
                candidate.id == current.id
                and candidate.region == current.region
                and candidate.effective_from > today
                and candidate.version_key > current.version_key
            ):
                out.append(PolicyPair(current.region, current, candidate))
    out.sort(key=lambda p: (p.region, p.current.ref, p.draft.version_key))
    return out


# A simulation scores the region's population twice; its report is kept this long.
IMPACT_TTL_SECONDS = 600.0


def impact(
    engine: Engine,
    pair: PolicyPair,
    as_of: dt.date,
    cache: dict[tuple[str, str, str], Any],
    *,
    top: int = 10,
) -> DiffReport:
    """``policy diff`` for the pair as of ``as_of``, computed at most every ten minutes."""
    key = (pair.current.ref, pair.draft.ref, as_of.isoformat())
    found = cache.get(key)
    now = time.monotonic()
    if found is not None and now - found[0] < IMPACT_TTL_SECONDS:
        report: DiffReport = found[1]
        return report
    report = simulate(engine, pair.current, pair.draft, as_of=as_of, top=top)
    cache[key] = (now, report)
    return report
