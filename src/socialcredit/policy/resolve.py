"""Resolve ``extends``: merge a regional extension onto its baseline into one flat policy.

Merging is by key, never field by field, so that every resolved rule carries the
legal basis written next to its points:

- scalar settings (base score, bar years) and the grade bands as a whole: the
  extension's value when it gives one, else the baseline's;
- rollout dates and category caps: per category;
- rules: per (record type, profession); sanctions: per id;
- lists: notice period and minimum age per list, entry criteria per id.

Also the checks that need more than one file or the merged result: duplicate or
ambiguous versions, unknown or broken bases, cycles, grade caps naming a grade the
resolved bands lack, and rules that can never count.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from socialcredit.policy.findings import Finding, Loc, error, warning
from socialcredit.policy.model import (
    AmountBand,
    BlackCriterion,
    BlackListRules,
    CategoryPolicy,
    GradeBand,
    ListRules,
    RedCriterion,
    RedListRules,
    Repeat,
    ResolvedPolicy,
    Rule,
    Sanction,
    Trigger,
    version_key,
)
from socialcredit.policy.schema import NATIONAL, ListsSpec, PolicyDoc, RuleSpec
from socialcredit.records.catalogue import Catalogue, RecordTypeSpec

DEFAULT_BASE_SCORE = 1000
DEFAULT_BAR_YEARS = 5  # Shanghai Social Credit Regulations art. 35
DEFAULT_GRADES: tuple[GradeBand, ...] = (
    GradeBand("AAA", 1050, None),
    GradeBand("AA", 1030, 1049),
    GradeBand("A", 960, 1029),
    GradeBand("B", 850, 959),
    GradeBand("C", 600, 849),
    GradeBand("D", None, 599),
)

DUPLICATE_POLICY = "duplicate-policy"
AMBIGUOUS_POLICY = "ambiguous-policy"
UNKNOWN_BASE = "unknown-base"
BASE_HAS_ERRORS = "base-has-errors"
EXTENDS_CYCLE = "extends-cycle"
EXTENDS_OTHER_REGION = "extends-other-region"
EXTENDS_OUTDATED_BASELINE = "extends-outdated-baseline"
UNKNOWN_GRADE = "unknown-grade"
RULE_NEVER_COUNTS = "rule-never-counts"
LIST_RECORD_TYPE_TWICE = "list-record-type-twice"


@dataclass(frozen=True, slots=True)
class Document:
    """A schema-valid policy file; ``clean`` when no error has been found in it so far."""

    file: str
    spec: PolicyDoc
    clean: bool

    @property
    def ref(self) -> str:
        return self.spec.ref


def _rule(spec: RuleSpec, defined_in: str, rt: RecordTypeSpec) -> Rule:
    return Rule(
        record_type=spec.record_type,
        profession=spec.profession,
        points=spec.points,
        # Records hold amounts in fen; converting here keeps every executor on integers.
        amount_bands=tuple(
            AmountBand(
                min_fen=b.min_cny * 100,
                max_fen=None if b.max_cny is None else b.max_cny * 100,
                points=b.points,
            )
            for b in spec.amount_bands or ()
        ),
        repeat=Repeat(spec.repeat.window_days, spec.repeat.extra_points) if spec.repeat else None,
        grade_cap=spec.grade_cap,
        legal_basis=spec.legal_basis,
        defined_in=defined_in,
        category=rt.category,
        severity=rt.severity,
        polarity=rt.polarity,
        min_window_months=rt.min_window_months,
        max_window_months=rt.max_window_months,
    )


def _lists(base: ListRules, spec: ListsSpec | None, defined_in: str) -> ListRules:
    """``spec`` on top of the inherited list rules: settings by key, criteria by id."""
    if spec is None:
        return base
    black, red = base.black, base.red
    if spec.black is not None:
        given = spec.black
        blacks = {c.id: c for c in black.criteria}
        for c in given.entry:
            blacks[c.id] = BlackCriterion(
                id=c.id,
                record_types=tuple(dict.fromkeys(c.record_types)),
                legal_basis=c.legal_basis,
                duration_months=c.duration_months,
                extra_months_with_reason=c.extra_months_with_reason,
                defined_in=defined_in,
            )
        black = BlackListRules(
            notice_working_days=(
                given.notice_working_days
                if given.notice_working_days is not None
                else black.notice_working_days
            ),
            min_age=given.min_age if given.min_age is not None else black.min_age,
            criteria=tuple(blacks[k] for k in sorted(blacks)),
        )
    if spec.red is not None:
        reds = {c.id: c for c in red.criteria}
        for r in spec.red.entry:
            reds[r.id] = RedCriterion(r.id, r.grade, r.clean_years, r.legal_basis, defined_in)
        red = RedListRules(
            notice_working_days=(
                spec.red.notice_working_days
                if spec.red.notice_working_days is not None
                else red.notice_working_days
            ),
            criteria=tuple(reds[k] for k in sorted(reds)),
        )
    return ListRules(black=black, red=red)


def _rule_order(rule: Rule) -> tuple[str, bool, str]:
    return (rule.record_type, rule.profession is not None, rule.profession or "")


def apply(base: ResolvedPolicy | None, doc: Document, catalogue: Catalogue) -> ResolvedPolicy:
    """``doc`` on top of ``base`` (None for a baseline): one flat policy."""
    spec = doc.spec
    types = catalogue.by_code()
    rules = {(r.record_type, r.profession): r for r in base.rules} if base else {}
    for r in spec.rules:
        rules[(r.record_type, r.profession)] = _rule(r, spec.ref, types[r.record_type])
    counts_from = {c.category: c.counts_from for c in base.categories} if base else {}
    counts_from.update(spec.rollout)
    floors = {c.category: c.min_points for c in base.categories} if base else {}
    ceilings = {c.category: c.max_points for c in base.categories} if base else {}
    for category, cap in spec.category_caps.items():
        # A negative cap bounds how far the category can pull a score down, a positive one
        # how far it can lift it; overriding one leaves the other as inherited.
        (floors if cap < 0 else ceilings)[category] = cap
    sanctions = {s.id: s for s in base.sanctions} if base else {}
    for s in spec.sanctions:
        trigger = Trigger(s.trigger.on_list, s.trigger.grade, s.trigger.score_below)
        sanctions[s.id] = Sanction(s.id, s.title, s.legal_basis, trigger, spec.ref)
    if spec.grades is not None:
        grades = tuple(GradeBand(g.grade, g.min, g.max) for g in spec.grades)
    else:
        grades = base.grades if base else DEFAULT_GRADES

    def inherit(own: int | None, inherited: int | None, default: int) -> int:
        if own is not None:
            return own
        return inherited if inherited is not None else default

    return ResolvedPolicy(
        id=spec.id,
        version=spec.version,
        region=spec.region,
        title=spec.title,
        legal_basis=spec.legal_basis,
        effective_from=spec.effective_from,
        effective_until=spec.effective_until,
        base_score=inherit(spec.base_score, base.base_score if base else None, DEFAULT_BASE_SCORE),
        bar_years=inherit(spec.bar_years, base.bar_years if base else None, DEFAULT_BAR_YEARS),
        grades=grades,
        categories=tuple(
            CategoryPolicy(c, counts_from.get(c), floors.get(c), ceilings.get(c))
            for c in sorted(catalogue.categories)
        ),
        rules=tuple(sorted(rules.values(), key=_rule_order)),
        sanctions=tuple(sanctions[k] for k in sorted(sanctions)),
        lineage=(spec.ref, *(base.lineage if base else ())),
        catalogue_version=catalogue.version,
        source=doc.file,
        lists=_lists(base.lists if base else ListRules(), spec.lists, spec.ref),
    )


class _Resolver:
    def __init__(
        self,
        checked: Sequence[Document],
        broken_refs: Collection[str],
        fallback: Sequence[Document],
        catalogue: Catalogue,
    ) -> None:
        self.checked = checked
        self.catalogue = catalogue
        self.found: list[Finding] = []
        # Bases are looked up among the checked files first, then among the fallback
        # (shipped) ones, so a new regional file can be checked against the shipped baseline.
        self.pool: dict[str, Document] = {d.ref: d for d in fallback}
        for ref in broken_refs:
            self.pool.pop(ref, None)
        self.broken = set(broken_refs)
        for d in reversed(checked):
            self.pool[d.ref] = d
        self.failed: set[str] = set()  # files with a set-level error
        self.resolved: dict[str, ResolvedPolicy] = {}

    def error(self, d: Document, code: str, loc: Loc, message: str) -> None:
        self.found.append(error(code, d.file, loc, message))
        self.failed.add(d.file)

    def warn(self, d: Document, code: str, loc: Loc, message: str) -> None:
        self.found.append(warning(code, d.file, loc, message))

    def run(self) -> None:
        self.duplicates()
        self.ambiguous()
        for d in self.checked:
            self.bases(d)
        for d in self.checked:
            if d.clean and d.file not in self.failed:
                policy = self.build(d)
                if policy is not None:
                    self.merged_checks(d, policy)
                    if d.file not in self.failed:
                        self.resolved[d.file] = policy

    def duplicates(self) -> None:
        first: dict[str, Document] = {}
        for d in self.checked:
            if d.ref in first:
                self.error(
                    d,
                    DUPLICATE_POLICY,
                    ["version"],
                    f"{d.ref} is also defined in {first[d.ref].file}",
                )
            first.setdefault(d.ref, d)

    def ambiguous(self) -> None:
        # Which version applies on a date is decided by the highest version in force in a
        # region, so two different policies with the same region and version must not overlap.
        for i, a in enumerate(self.checked):
            for b in self.checked[:i]:
                sa, sb = a.spec, b.spec
                if (
                    sa.id != sb.id
                    and sa.region == sb.region
                    and version_key(sa.version) == version_key(sb.version)
                    and sa.effective_from < (sb.effective_until or dt.date.max)
                    and sb.effective_from < (sa.effective_until or dt.date.max)
                ):
                    self.error(
                        a,
                        AMBIGUOUS_POLICY,
                        ["version"],
                        f"{sb.ref} ({b.file}) has the same region and version and overlapping "
                        "dates; which one applies would be undefined",
                    )
                    break

    def bases(self, d: Document) -> None:
        ref = d.spec.extends
        if ref is None:
            return
        base = self.pool.get(ref)
        if base is None:
            if ref in self.broken:
                self.error(d, BASE_HAS_ERRORS, ["extends"], f"{ref} has errors; fix it first")
                return
            same_id = sorted(r for r in self.pool if r.split("@")[0] == ref.split("@")[0])
            hint = f"; available: {', '.join(same_id)}" if same_id else ""
            self.error(d, UNKNOWN_BASE, ["extends"], f"no policy {ref} to extend{hint}")
            return
        if not base.clean:
            self.error(d, BASE_HAS_ERRORS, ["extends"], f"{ref} ({base.file}) has errors")
        if base.spec.region not in (NATIONAL, d.spec.region):
            self.error(
                d,
                EXTENDS_OTHER_REGION,
                ["extends"],
                f"{ref} is the policy of region {base.spec.region}; a policy for region "
                f"{d.spec.region} may extend only the national baseline or its own region",
            )
        seen = {d.ref}
        current: Document | None = base
        while current is not None:
            if current.ref in seen:
                if current.ref == d.ref:
                    self.error(d, EXTENDS_CYCLE, ["extends"], f"{d.ref} ends up extending itself")
                return
            seen.add(current.ref)
            nxt = current.spec.extends
            current = self.pool.get(nxt) if nxt else None

    def chain(self, d: Document) -> list[Document] | None:
        """``d`` and its bases, baseline first; None when a base is missing or broken."""
        out = [d]
        while out[-1].spec.extends is not None:
            base = self.pool.get(out[-1].spec.extends or "")
            if base is None or not base.clean or any(base.ref == o.ref for o in out):
                return None
            out.append(base)
        return out[::-1]

    def build(self, d: Document) -> ResolvedPolicy | None:
        docs = self.chain(d)
        if docs is None:
            return None
        policy: ResolvedPolicy | None = None
        for doc in docs:
            policy = apply(policy, doc, self.catalogue)
        return policy

    def merged_checks(self, d: Document, policy: ResolvedPolicy) -> None:
        grades = [g.grade for g in policy.grades]
        for i, r in enumerate(d.spec.rules):
            if r.grade_cap is not None and r.grade_cap not in grades:
                close = difflib.get_close_matches(r.grade_cap, grades, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.error(
                    d,
                    UNKNOWN_GRADE,
                    ["rules", i, "grade_cap"],
                    f"grade {r.grade_cap!r} is not one of {', '.join(grades)}{hint}",
                )
            category = self.catalogue.by_code()[r.record_type].category
            if policy.category(category).counts_from is None:
                self.warn(
                    d,
                    RULE_NEVER_COUNTS,
                    ["rules", i, "record_type"],
                    f"category {category} has no rollout date, so this rule never applies",
                )
        if d.spec.grades is not None:
            for rule in policy.rules:
                if rule.defined_in != d.ref and rule.grade_cap and rule.grade_cap not in grades:
                    self.error(
                        d,
                        UNKNOWN_GRADE,
                        ["grades"],
                        f"the rule for {rule.record_type} inherited from {rule.defined_in} caps "
                        f"at grade {rule.grade_cap}, which these bands do not define",
                    )
        self.list_checks(d, policy, grades)
        base = self.pool.get(d.spec.extends) if d.spec.extends else None
        # Only a regional policy pinned to a national version can fall behind: a version
        # that extends an earlier version of its own policy replaces it by design.
        if base is not None and base.spec.region == NATIONAL != d.spec.region:
            self.outdated(d, base.spec)

    def list_checks(self, d: Document, policy: ResolvedPolicy, grades: list[str]) -> None:
        own = d.spec.lists
        own_red = own.red.entry if own and own.red else []
        for i, r in enumerate(own_red):
            if r.grade not in grades:
                close = difflib.get_close_matches(r.grade, grades, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.error(
                    d,
                    UNKNOWN_GRADE,
                    ["lists", "red", "entry", i, "grade"],
                    f"grade {r.grade!r} is not one of {', '.join(grades)}{hint}",
                )
        # A record type under two black-list criteria would make its entry's legal basis
        # and exit date depend on which one is looked at first.
        owner: dict[str, str] = {}
        for c in policy.lists.black.criteria:
            for record_type in c.record_types:
                first = owner.setdefault(record_type, c.id)
                if first == c.id:
                    continue
                own_black = own.black.entry if own and own.black else []
                at = next((i for i, e in enumerate(own_black) if e.id in (c.id, first)), None)
                loc: list[str | int] = (
                    ["lists", "black", "entry", at, "record_types"] if at is not None else ["lists"]
                )
                self.error(
                    d,
                    LIST_RECORD_TYPE_TWICE,
                    loc,
                    f"{record_type} is named by the black-list criteria {first} and {c.id}; "
                    "a record type may open only one kind of entry",
                )

    def outdated(self, d: Document, base: PolicyDoc) -> None:
        own = d.spec
        starts_late = base.effective_from > own.effective_from
        ends_early = base.effective_until is not None and (
            own.effective_until is None or own.effective_until > base.effective_until
        )
        if starts_late or ends_early:
            until = base.effective_until.isoformat() if base.effective_until else "open"
            self.warn(
                d,
                EXTENDS_OUTDATED_BASELINE,
                ["extends"],
                f"{base.ref} is in force {base.effective_from}..{until}, not throughout this "
                "policy's period; its subjects would be scored on a baseline no longer (or not "
                "yet) in force",
            )


def resolve(
    checked: Sequence[Document],
    *,
    broken_refs: Collection[str] = (),
    fallback: Iterable[Document] = (),
    catalogue: Catalogue,
) -> tuple[dict[str, ResolvedPolicy], list[Finding]]:
    """Resolve the checked documents; returns the error-free ones by file, and the findings.

    ``broken_refs`` are ``id@version`` of checked files that failed validation, so that an
    extension of one says so rather than "unknown base". ``fallback`` documents serve only
    as bases and are not reported on.
    """
    resolver = _Resolver(checked, broken_refs, list(fallback), catalogue)
    resolver.run()
    return resolver.resolved, resolver.found
