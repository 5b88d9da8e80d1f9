"""Policy impact: what changes if NEW replaces OLD, rule by rule and subject by subject.

``rule_changes`` compares two resolved policies key by key, the same keys ``extends``
merges on (rules by record type and profession, rollout and caps by category, grade
bands by name, sanctions and list criteria by id), so every line of the diff names
something a policy author wrote. ``simulate`` scores the stored population of the
policies' region twice with the in-process evaluator, once under each policy forced
regardless of its effective dates: the question a regulator asks before adoption is
"what if NEW had replaced OLD on this date", not "which policy is in force".

This module reads the scoring layer, which itself depends only on resolved policies;
nothing in the rest of ``socialcredit.policy`` imports it, so there is no cycle.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, func, select, true

from socialcredit.db.models import Subject
from socialcredit.identity.ids import mask
from socialcredit.identity.regions import region_of
from socialcredit.policy.errors import PolicyError
from socialcredit.policy.model import ResolvedPolicy, Rule
from socialcredit.policy.schema import NATIONAL
from socialcredit.scoring.catalogue_view import catalogue_view
from socialcredit.scoring.evaluator import evaluate
from socialcredit.scoring.facts import SubjectFacts
from socialcredit.scoring.results import ScoreResult
from socialcredit.scoring.store import load_facts

BATCH = 500
DEFAULT_TOP = 10

ProgressFn = Callable[[int], None]


# --- rule-level diff ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: Any  # plain JSON data; None when absent on that side
    new: Any


@dataclass(frozen=True, slots=True)
class RuleChange:
    """One keyed element of the policy that differs between OLD and NEW."""

    # setting | grade_band | rollout | category_cap | rule | sanction | list_setting
    # | list_criterion
    section: str
    # setting name, grade, category, record type, sanction id, "black.min_age" (list
    # settings) or "black:court-dishonest-debtor" (list criteria)
    key: str
    change: str  # added | removed | changed
    fields: tuple[FieldChange, ...]
    profession: str | None = None  # rules only: the profession a specific rule is for

    @property
    def label(self) -> str:
        return f"{self.key} ({self.profession})" if self.profession else self.key

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"section": self.section, "key": self.key}
        if self.section == "rule":
            out["profession"] = self.profession
        out["change"] = self.change
        out["fields"] = [{"field": f.field, "old": f.old, "new": f.new} for f in self.fields]
        return out


def _plain(value: object) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    return value


def _compare(
    section: str,
    key: str,
    old: dict[str, object] | None,
    new: dict[str, object] | None,
    profession: str | None = None,
) -> RuleChange | None:
    """The change between two views of one element (None: absent on that side)."""
    if old is None and new is None:
        return None
    if old is None or new is None:
        present = new if old is None else old
        assert present is not None
        # An added or removed element lists what it holds, leaving out empty settings
        # (no repeat, no bands) that would only be noise.
        shown = [
            FieldChange(
                name, None if old is None else _plain(v), _plain(v) if old is None else None
            )
            for name, v in present.items()
            if v not in (None, (), [])
        ]
        change = "added" if old is None else "removed"
        return RuleChange(section, key, change, tuple(shown), profession)
    diffs = tuple(
        FieldChange(name, _plain(old[name]), _plain(new[name]))
        for name in old
        if old[name] != new[name]
    )
    return RuleChange(section, key, "changed", diffs, profession) if diffs else None


def _rule_view(rule: Rule) -> dict[str, object]:
    # defined_in is left out: it changes with every version and says nothing about scores.
    return {
        "points": rule.points,
        "amount_bands": rule.amount_bands,
        "repeat": rule.repeat,
        "grade_cap": rule.grade_cap,
        "legal_basis": rule.legal_basis,
    }


def _keyed_changes(
    section: str,
    old: dict[str, dict[str, object]],
    new: dict[str, dict[str, object]],
    order: Callable[[str], Any] = lambda k: k,
) -> list[RuleChange]:
    out = []
    for key in sorted(old.keys() | new.keys(), key=order):
        found = _compare(section, key, old.get(key), new.get(key))
        if found is not None:
            out.append(found)
    return out


def rule_changes(old: ResolvedPolicy, new: ResolvedPolicy) -> tuple[RuleChange, ...]:
    """Everything that differs between two resolved policies, section by section.

    Identity and dates (id, version, effective period, title) are not listed: they
    differ between any two versions and are shown with the policies themselves.
    """
    out: list[RuleChange] = []
    settings = ("base_score", "bar_years")
    out += _keyed_changes(
        "setting",
        {s: {"value": getattr(old, s)} for s in settings},
        {s: {"value": getattr(new, s)} for s in settings},
        order=settings.index,
    )

    def bands(p: ResolvedPolicy) -> dict[str, dict[str, object]]:
        return {g.grade: {"min_score": g.min_score, "max_score": g.max_score} for g in p.grades}

    rank = {g: i for i, g in enumerate(grade_order(old, new))}
    out += _keyed_changes("grade_band", bands(old), bands(new), order=rank.__getitem__)

    def rollout(p: ResolvedPolicy) -> dict[str, dict[str, object]]:
        return {c.category: {"counts_from": c.counts_from} for c in p.categories if c.counts_from}

    out += _keyed_changes("rollout", rollout(old), rollout(new))

    def caps(p: ResolvedPolicy) -> dict[str, dict[str, object]]:
        return {
            c.category: {"min_points": c.min_points, "max_points": c.max_points}
            for c in p.categories
            if c.min_points is not None or c.max_points is not None
        }

    out += _keyed_changes("category_cap", caps(old), caps(new))

    old_rules = {(r.record_type, r.profession): r for r in old.rules}
    new_rules = {(r.record_type, r.profession): r for r in new.rules}
    for rt, prof in sorted(old_rules.keys() | new_rules.keys(), key=lambda k: (k[0], k[1] or "")):
        o, n = old_rules.get((rt, prof)), new_rules.get((rt, prof))
        found = _compare(
            "rule",
            rt,
            _rule_view(o) if o else None,
            _rule_view(n) if n else None,
            profession=prof,
        )
        if found is not None:
            out.append(found)

    def sanctions(p: ResolvedPolicy) -> dict[str, dict[str, object]]:
        return {
            s.id: {"title": s.title, "legal_basis": s.legal_basis, "trigger": s.trigger}
            for s in p.sanctions
        }

    out += _keyed_changes("sanction", sanctions(old), sanctions(new))

    list_settings = ("black.notice_working_days", "black.min_age", "red.notice_working_days")

    def lists(p: ResolvedPolicy) -> dict[str, dict[str, object]]:
        black, red = p.lists.black, p.lists.red
        values = (black.notice_working_days, black.min_age, red.notice_working_days)
        return {k: {"value": v} for k, v in zip(list_settings, values, strict=True)}

    out += _keyed_changes("list_setting", lists(old), lists(new), order=list_settings.index)

    def criteria(p: ResolvedPolicy) -> dict[str, dict[str, object]]:
        found: dict[str, dict[str, object]] = {}
        for b in p.lists.black.criteria:
            found[f"black:{b.id}"] = {
                "record_types": b.record_types,
                "duration_months": b.duration_months,
                "extra_months_with_reason": b.extra_months_with_reason,
                "legal_basis": b.legal_basis,
            }
        for r in p.lists.red.criteria:
            found[f"red:{r.id}"] = {
                "grade": r.grade,
                "clean_years": r.clean_years,
                "legal_basis": r.legal_basis,
            }
        return found

    out += _keyed_changes("list_criterion", criteria(old), criteria(new))
    return tuple(out)


def grade_order(old: ResolvedPolicy, new: ResolvedPolicy) -> tuple[str, ...]:
    """Every grade of either policy, best first.

    Two versions normally share their bands and this is simply their order. When NEW
    adds, drops or moves a band, grades are placed by the highest score their band
    reaches (NEW's band when it has one), so "up" and "down" still mean something.
    """
    bands = {g.grade: g for g in old.grades} | {g.grade: g for g in new.grades}

    def top(grade: str) -> tuple[float, float]:
        band = bands[grade]
        hi = math.inf if band.max_score is None else band.max_score
        lo = -math.inf if band.min_score is None else band.min_score
        return (-hi, -lo)

    return tuple(sorted(bands, key=top))


# --- population simulation ------------------------------------------------------------------


@dataclass(slots=True)
class _Tally:
    subjects: int = 0
    changed: int = 0
    up: int = 0
    down: int = 0
    score_up: int = 0
    score_down: int = 0
    old_total: int = 0
    new_total: int = 0

    def add(self, old_score: int, new_score: int, grade_move: int) -> None:
        self.subjects += 1
        self.old_total += old_score
        self.new_total += new_score
        if grade_move:
            self.changed += 1
            if grade_move > 0:
                self.up += 1
            else:
                self.down += 1
        if new_score > old_score:
            self.score_up += 1
        elif new_score < old_score:
            self.score_down += 1


@dataclass(frozen=True, slots=True)
class GroupStats:
    """One row of a breakdown; "up" and "down" are grade moves, the means are scores."""

    key: str | None  # province / city code, profession; None for "no profession"
    name: str
    subjects: int
    changed: int
    up: int
    down: int
    score_up: int
    score_down: int
    old_total: int
    new_total: int

    @property
    def mean_change(self) -> float:
        return (self.new_total - self.old_total) / self.subjects if self.subjects else 0.0

    @property
    def old_mean(self) -> float:
        return self.old_total / self.subjects if self.subjects else 0.0

    @property
    def new_mean(self) -> float:
        return self.new_total / self.subjects if self.subjects else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.key,
            "name": self.name,
            "subjects": self.subjects,
            "changed": self.changed,
            "up": self.up,
            "down": self.down,
            "score_up": self.score_up,
            "score_down": self.score_down,
            "mean_change": round(self.mean_change, 2),
        }


def _stats(key: str | None, name: str, t: _Tally) -> GroupStats:
    return GroupStats(
        key,
        name,
        t.subjects,
        t.changed,
        t.up,
        t.down,
        t.score_up,
        t.score_down,
        t.old_total,
        t.new_total,
    )


@dataclass(frozen=True, slots=True)
class Cause:
    """One item of a subject's score that the two policies weigh differently."""

    item: str  # a record type, "cap:<category>", "base_score" or "grade_bands"
    old_points: int
    new_points: int
    records: int = 0  # how many of the subject's records of that type are shown
    old_grade_cap: str | None = None
    new_grade_cap: str | None = None
    note: str | None = None

    @property
    def change(self) -> int:
        return self.new_points - self.old_points

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "item": self.item,
            "records": self.records,
            "old_points": self.old_points,
            "new_points": self.new_points,
            "change": self.change,
        }
        if self.old_grade_cap != self.new_grade_cap:
            out["old_grade_cap"] = self.old_grade_cap
            out["new_grade_cap"] = self.new_grade_cap
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True, slots=True)
class Mover:
    subject_id: int  # kept for callers in process; not part of the published report
    masked_id: str
    kind: str
    province_code: str
    city_code: str
    city: str
    professions: tuple[str, ...]
    old_score: int
    new_score: int
    old_grade: str
    new_grade: str
    causes: tuple[Cause, ...]

    @property
    def change(self) -> int:
        return self.new_score - self.old_score

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.masked_id,
            "kind": self.kind,
            "province": self.province_code,
            "city": {"code": self.city_code, "name": self.city},
            "professions": list(self.professions),
            "old": {"score": self.old_score, "grade": self.old_grade},
            "new": {"score": self.new_score, "grade": self.new_grade},
            "change": self.change,
            "causes": [c.as_dict() for c in self.causes],
        }


def _policy_info(p: ResolvedPolicy) -> dict[str, Any]:
    return {
        "ref": p.ref,
        "id": p.id,
        "version": p.version,
        "region": p.region,
        "title": p.title,
        "effective_from": p.effective_from.isoformat(),
        "effective_until": p.effective_until.isoformat() if p.effective_until else None,
        "source": p.source,
    }


@dataclass(frozen=True, slots=True)
class DiffReport:
    old: ResolvedPolicy
    new: ResolvedPolicy
    as_of: dt.date
    region: str
    region_name: str
    top: int
    grades: tuple[str, ...]  # best first, the union of both policies' grades
    # old grade -> new grade -> subjects, every pair of ``grades`` present (zeros too).
    transitions: dict[str, dict[str, int]]
    summary: GroupStats
    by_province: tuple[GroupStats, ...]
    by_city: tuple[GroupStats, ...]
    # One row per profession held; a subject with two professions is in both rows.
    by_profession: tuple[GroupStats, ...]
    movers: tuple[Mover, ...]
    rule_changes: tuple[RuleChange, ...]

    def grade_counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """Subjects per grade under OLD and under NEW."""
        before = {g: sum(self.transitions[g].values()) for g in self.grades}
        after = {g: sum(self.transitions[o][g] for o in self.grades) for g in self.grades}
        return before, after

    def as_dict(self) -> dict[str, Any]:
        before, after = self.grade_counts()
        s = self.summary
        return {
            "old": _policy_info(self.old),
            "new": _policy_info(self.new),
            "as_of": self.as_of.isoformat(),
            "region": {"code": self.region, "name": self.region_name},
            "summary": {
                "subjects": s.subjects,
                "changed_grade": s.changed,
                "grade_up": s.up,
                "grade_down": s.down,
                "unchanged_grade": s.subjects - s.changed,
                "score_up": s.score_up,
                "score_down": s.score_down,
                "score_unchanged": s.subjects - s.score_up - s.score_down,
                "old_mean_score": round(s.old_mean, 2),
                "new_mean_score": round(s.new_mean, 2),
                "mean_change": round(s.mean_change, 2),
                "old_grades": before,
                "new_grades": after,
            },
            "grades": list(self.grades),
            "transitions": self.transitions,
            "by_province": [g.as_dict() for g in self.by_province],
            "by_city": [g.as_dict() for g in self.by_city],
            "by_profession": [g.as_dict() for g in self.by_profession],
            "top": self.top,
            "movers": [m.as_dict() for m in self.movers],
            "rule_changes": [c.as_dict() for c in self.rule_changes],
        }


def region_name(region: str) -> str:
    if region == NATIONAL:
        return "全国 / national"
    return region_of(region + "0000").province or region


def _city_name(city_code: str) -> str:
    return region_of(city_code + "00").city or city_code


def _population(region: str) -> ColumnElement[bool]:
    # The national baseline's population is everyone; a regional policy's, its province.
    return Subject.province_code == region if region != NATIONAL else true()


def population_size(engine: Engine, region: str) -> int:
    """How many stored subjects ``simulate`` will score for a policy of ``region``."""
    with engine.connect() as conn:
        query = select(func.count()).select_from(Subject).where(_population(region))
        return int(conn.scalar(query) or 0)


def _batches(
    conn: Connection, region: str, size: int
) -> Iterable[Sequence[tuple[int, str, str, str]]]:
    # Keyset pagination keeps every query cheap and memory flat however large the store.
    last = 0
    while True:
        query = (
            select(Subject.id, Subject.code, Subject.kind, Subject.city_code)
            .where(_population(region), Subject.id > last)
            .order_by(Subject.id)
            .limit(size)
        )
        rows = [(sid, code, kind, city) for sid, code, kind, city in conn.execute(query)]
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _items(result: ScoreResult) -> dict[str, tuple[int, int]]:
    """item -> (records, points): contributions summed per record type, caps per category."""
    out: dict[str, tuple[int, int]] = {}
    for c in result.contributions:
        key = c.record_type if c.kind == "record" and c.record_type else f"cap:{c.category}"
        records, points = out.get(key, (0, 0))
        out[key] = (records + (c.kind == "record"), points + c.points)
    return out


def _counted_cap(
    policy: ResolvedPolicy, result: ScoreResult, record_type: str, professions: frozenset[str]
) -> str | None:
    counted = any(
        c.record_type == record_type and c.status == "counted" for c in result.contributions
    )
    rule = policy.rule_for(record_type, professions) if counted else None
    return rule.grade_cap if rule else None


def explain_change(
    old: ResolvedPolicy,
    new: ResolvedPolicy,
    facts: SubjectFacts,
    old_result: ScoreResult,
    new_result: ScoreResult,
) -> tuple[Cause, ...]:
    """Why a subject's score or grade differs: the items the two policies weigh differently,
    largest change first."""
    causes: list[Cause] = []
    if old.base_score != new.base_score:
        causes.append(Cause("base_score", old.base_score, new.base_score))
    before, after = _items(old_result), _items(new_result)
    for item in before.keys() | after.keys():
        old_n, old_points = before.get(item, (0, 0))
        new_n, new_points = after.get(item, (0, 0))
        old_cap = new_cap = None
        if not item.startswith("cap:"):
            old_cap = _counted_cap(old, old_result, item, facts.professions)
            new_cap = _counted_cap(new, new_result, item, facts.professions)
        if old_points != new_points or old_cap != new_cap:
            causes.append(Cause(item, old_points, new_points, max(old_n, new_n), old_cap, new_cap))
    score = new_result.score
    if old.grades != new.grades and old.grade_for(score) != new.grade_for(score):
        note = (
            f"a score of {score} is {old.grade_for(score)} under the old bands, "
            f"{new.grade_for(score)} under the new"
        )
        causes.append(Cause("grade_bands", 0, 0, note=note))
    causes.sort(key=lambda c: (-abs(c.change), c.item))
    return tuple(causes)


@dataclass(slots=True)
class _Candidate:
    facts: SubjectFacts
    code: str
    kind: str
    city_code: str
    old: ScoreResult
    new: ScoreResult


def simulate(
    engine: Engine,
    old: ResolvedPolicy,
    new: ResolvedPolicy,
    *,
    as_of: dt.date,
    top: int = DEFAULT_TOP,
    progress: ProgressFn | None = None,
    batch_size: int = BATCH,
) -> DiffReport:
    """Score every stored subject of the policies' region under OLD and under NEW.

    Both policies are applied as of ``as_of`` whatever their effective dates, with the
    store as it stood at the end of that day. ``progress`` is called with the number of
    subjects scored after each batch.
    """
    if old.region != new.region:
        raise PolicyError(
            f"{old.ref} is for region {old.region} and {new.ref} for region {new.region}; "
            "a diff compares two versions of one region's policy"
        )
    if top < 0:
        raise ValueError("top must not be negative")
    catalogue = catalogue_view()
    grades = grade_order(old, new)
    rank = {g: i for i, g in enumerate(grades)}
    transitions: dict[tuple[str, str], int] = defaultdict(int)
    total = _Tally()
    provinces: dict[str, _Tally] = defaultdict(_Tally)
    cities: dict[str, _Tally] = defaultdict(_Tally)
    professions: dict[str | None, _Tally] = defaultdict(_Tally)
    # A min-heap of the ``top`` biggest movers so far; the subject id in the key makes
    # ties resolve the same way on every run and keeps payloads out of comparisons.
    heap: list[tuple[tuple[int, int, int], _Candidate]] = []

    with engine.connect() as conn:
        for rows in _batches(conn, old.region, batch_size):
            info = {sid: (code, kind, city) for sid, code, kind, city in rows}
            for facts in load_facts(conn, list(info), as_of):
                before = evaluate(facts, old, as_of, catalogue)
                after = evaluate(facts, new, as_of, catalogue)
                # Positive when the grade improves: ranks grow towards the worst grade.
                move = rank[before.grade] - rank[after.grade]
                transitions[(before.grade, after.grade)] += 1
                code, kind, city = info[facts.subject_id]
                for tally in (total, provinces[facts.province_code], cities[city]):
                    tally.add(before.score, after.score, move)
                held: list[str | None] = [*sorted(facts.professions)] or [None]
                for prof in held:
                    professions[prof].add(before.score, after.score, move)
                delta = after.score - before.score
                if top and (delta or move):
                    key = (abs(delta), abs(move), -facts.subject_id)
                    item = (key, _Candidate(facts, code, kind, city, before, after))
                    if len(heap) < top:
                        heapq.heappush(heap, item)
                    elif key > heap[0][0]:
                        heapq.heapreplace(heap, item)
            if progress is not None:
                progress(len(rows))

    movers = tuple(
        _mover(old, new, cand) for _key, cand in sorted(heap, key=lambda h: h[0], reverse=True)
    )
    return DiffReport(
        old=old,
        new=new,
        as_of=as_of,
        region=old.region,
        region_name=region_name(old.region),
        top=top,
        grades=grades,
        transitions={o: {n: transitions.get((o, n), 0) for n in grades} for o in grades},
        summary=_stats(None, "all", total),
        by_province=tuple(
            _stats(code, region_name(code), t) for code, t in sorted(provinces.items())
        ),
        by_city=tuple(_stats(code, _city_name(code), t) for code, t in sorted(cities.items())),
        by_profession=tuple(
            _stats(prof, prof or "(none)", t)
            for prof, t in sorted(professions.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
        ),
        movers=movers,
        rule_changes=rule_changes(old, new),
    )


def _mover(old: ResolvedPolicy, new: ResolvedPolicy, cand: _Candidate) -> Mover:
    return Mover(
        subject_id=cand.facts.subject_id,
        masked_id=mask(cand.code),
        kind=cand.kind,
        province_code=cand.facts.province_code,
        city_code=cand.city_code,
        city=_city_name(cand.city_code),
        professions=tuple(sorted(cand.facts.professions)),
        old_score=cand.old.score,
        new_score=cand.new.score,
        old_grade=cand.old.grade,
        new_grade=cand.new.grade,
        causes=explain_change(old, new, cand.facts, cand.old, cand.new),
    )
