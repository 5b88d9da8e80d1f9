"""The measures catalogue as data: versioned files, national and regional, checked like policy.

Each measure has a legal basis, a category (reward or sanction), one trigger (list
membership, optionally narrowed to some black-list criteria, or a grade for rewards
only), its targets (person, organisation, the legal representative of a listed
organisation) and the published purposes it is relevant to.

A regional file ``extends`` the national one and adds or replaces measures by id; the
catalogue that applies is the relying party's province's in force on the date, else
the national one (measures are implemented where the party is; list entries hold in
every province). ``check_measures`` reports every problem with its file and key path,
with the same finding codes as ``policy check`` where the rule is the same: a sanction
triggered by a score or a grade alone is ``sanction-on-score-or-grade``.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    model_validator,
)

from socialcredit.measures.errors import CatalogueError, NoCatalogueInForceError
from socialcredit.measures.purposes import published_purposes
from socialcredit.policy import ResolvedPolicy, load_policies, version_key
from socialcredit.policy.findings import Finding, Loc, error, has_errors
from socialcredit.policy.lint import SANCTION_ON_SCORE_OR_GRADE
from socialcredit.policy.loader import policy_files, read_yaml
from socialcredit.policy.schema import (
    NATIONAL,
    Date,
    GradeName,
    Ref,
    Region,
    Slug,
    Text,
    Version,
    schema_findings,
)

TARGETS = ("person", "organisation", "legal_representative")
CATEGORIES = ("reward", "sanction")

CATALOGUE_WITHOUT_LEGAL_BASIS = "catalogue-without-legal-basis"
MEASURE_WITHOUT_LEGAL_BASIS = "measure-without-legal-basis"
MEASURE_ON_SCORE = "measure-on-score"
REWARD_ON_BLACK_LIST = "reward-on-black-list"
SANCTION_ON_RED_LIST = "sanction-on-red-list"
LEGAL_REPRESENTATIVE_WITHOUT_LIST = "legal-representative-without-list"
UNKNOWN_PURPOSE = "unknown-purpose"
UNKNOWN_LIST_CRITERION = "unknown-list-criterion"
UNKNOWN_GRADE = "unknown-grade"
DUPLICATE_MEASURE = "duplicate-measure"
DUPLICATE_CATALOGUE = "duplicate-catalogue"
UNKNOWN_BASE = "unknown-base"
EXTENDS_OTHER_REGION = "extends-other-region"
EMPTY_EFFECTIVE_PERIOD = "empty-effective-period"

_SCORE_KEYS = ("score", "score_below", "min_score", "max_score")


# --- the shape of a file --------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TitleSpec(_Spec):
    zh: Text
    en: Text


class MeasureTriggerSpec(_Spec):
    on_list: Literal["black", "red"] | None = Field(default=None, alias="list")
    criteria: Annotated[list[Slug], Field(min_length=1)] | None = None
    grade: Annotated[list[GradeName], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _one_trigger(self) -> MeasureTriggerSpec:
        if (self.on_list is None) == (self.grade is None):
            raise ValueError("a trigger names exactly one of list or grade")
        if self.criteria is not None and self.on_list is None:
            raise ValueError("criteria narrow a list trigger; give list as well")
        return self


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


class MeasureSpec(_Spec):
    id: Slug
    title: TitleSpec
    category: Literal["reward", "sanction"]
    legal_basis: Text
    trigger: MeasureTriggerSpec
    target: Annotated[
        list[Literal["person", "organisation", "legal_representative"]],
        BeforeValidator(_as_list),
        Field(min_length=1),
    ]
    # Which codes are published is the lint's finding, with a suggestion.
    purposes: Annotated[list[StrictStr], Field(min_length=1)]


class MeasuresDoc(_Spec):
    id: Slug
    version: Version
    region: Region
    extends: Ref | None = None
    title: Text
    legal_basis: Text
    effective_from: Date
    effective_until: Date | None = None
    measures: list[MeasureSpec] = Field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"


# --- the resolved catalogue -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeasureTrigger:
    on_list: str | None  # black | red
    criteria: tuple[str, ...] | None  # list criteria it is narrowed to; None: any
    grades: tuple[str, ...] | None

    def as_dict(self) -> dict[str, Any]:
        if self.on_list is not None:
            out: dict[str, Any] = {"list": self.on_list}
            if self.criteria is not None:
                out["criteria"] = list(self.criteria)
            return out
        return {"grade": list(self.grades or ())}


@dataclass(frozen=True, slots=True)
class Measure:
    id: str
    title_zh: str
    title_en: str
    category: str  # reward | sanction
    legal_basis: str
    trigger: MeasureTrigger
    targets: tuple[str, ...]
    purposes: tuple[str, ...]
    defined_in: str  # id@version of the catalogue file that wrote it

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": {"zh": self.title_zh, "en": self.title_en},
            "category": self.category,
            "legal_basis": self.legal_basis,
            "trigger": self.trigger.as_dict(),
            "target": list(self.targets),
            "purposes": list(self.purposes),
            "defined_in": self.defined_in,
        }


@dataclass(frozen=True, slots=True)
class MeasuresCatalogue:
    id: str
    version: str
    region: str
    title: str
    legal_basis: str
    effective_from: dt.date
    effective_until: dt.date | None  # exclusive
    lineage: tuple[str, ...]  # this catalogue, then each one it extends
    measures: tuple[Measure, ...]  # by id
    source: str

    _by_purpose: dict[str, tuple[Measure, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        index: dict[str, list[Measure]] = {}
        for m in self.measures:
            for p in m.purposes:
                index.setdefault(p, []).append(m)
        object.__setattr__(self, "_by_purpose", {p: tuple(ms) for p, ms in index.items()})

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    def in_force(self, as_of: dt.date) -> bool:
        return self.effective_from <= as_of and (
            self.effective_until is None or as_of < self.effective_until
        )

    def for_purpose(self, purpose: str) -> tuple[Measure, ...]:
        return self._by_purpose.get(purpose, ())

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "region": self.region,
            "title": self.title,
            "legal_basis": self.legal_basis,
            "effective_from": self.effective_from.isoformat(),
            "effective_until": self.effective_until.isoformat() if self.effective_until else None,
            "lineage": list(self.lineage),
            "measures": [m.as_dict() for m in self.measures],
        }


# --- lint: the raw mapping, so that one broken measure does not hide the others -------------


def _blank(mapping: Mapping[str, Any], key: str) -> bool:
    value = mapping.get(key)
    return value is None or (isinstance(value, str) and not value.strip())


def _suggest(value: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass(frozen=True, slots=True)
class _Known:
    """What measures may refer to: published purposes, list criteria and grades of policy."""

    purposes: frozenset[str]
    criteria: dict[str, frozenset[str]]  # list name → criterion ids in any policy
    grades: frozenset[str]

    @classmethod
    def of(cls, policies: Iterable[ResolvedPolicy], purposes: Iterable[str]) -> _Known:
        black: set[str] = set()
        red: set[str] = set()
        grades: set[str] = set()
        for p in policies:
            black.update(c.id for c in p.lists.black.criteria)
            red.update(c.id for c in p.lists.red.criteria)
            grades.update(g.grade for g in p.grades)
        return cls(
            frozenset(purposes),
            {"black": frozenset(black), "red": frozenset(red)},
            frozenset(grades),
        )


class _Linter:
    def __init__(self, file: str, known: _Known) -> None:
        self.file = file
        self.known = known
        self.found: list[Finding] = []

    def error(self, code: str, loc: Loc, message: str) -> None:
        self.found.append(error(code, self.file, loc, message))

    def document(self, raw: Mapping[str, Any]) -> None:
        if _blank(raw, "legal_basis"):
            self.error(
                CATALOGUE_WITHOUT_LEGAL_BASIS,
                ["legal_basis"],
                "the catalogue must cite the law or regulation it implements",
            )
        start, until = raw.get("effective_from"), raw.get("effective_until")
        if isinstance(start, str) and isinstance(until, str) and until.strip() <= start.strip():
            self.error(
                EMPTY_EFFECTIVE_PERIOD,
                ["effective_until"],
                f"effective_until {until} must be after effective_from {start} (it is exclusive)",
            )
        measures = raw.get("measures")
        if not isinstance(measures, list):
            return
        seen: dict[str, int] = {}
        for i, m in enumerate(measures):
            if isinstance(m, dict):
                self.measure(["measures", i], m, seen)

    def measure(self, here: list[str | int], m: Mapping[str, Any], seen: dict[str, int]) -> None:
        if _blank(m, "legal_basis"):
            self.error(
                MEASURE_WITHOUT_LEGAL_BASIS,
                [*here, "legal_basis"],
                "every measure must cite the law or regulation that allows it",
            )
        ident = m.get("id")
        if isinstance(ident, str):
            if ident in seen:
                self.error(DUPLICATE_MEASURE, [*here, "id"], f"measures[{seen[ident]}] is {ident}")
            seen.setdefault(ident, int(here[-1]))
        purposes = m.get("purposes")
        for j, p in enumerate(purposes if isinstance(purposes, list) else []):
            if isinstance(p, str) and p not in self.known.purposes:
                self.error(
                    UNKNOWN_PURPOSE,
                    [*here, "purposes", j],
                    f"{p!r} is not a published purpose" + _suggest(p, self.known.purposes),
                )
        trigger = m.get("trigger")
        if isinstance(trigger, dict):
            self.trigger([*here, "trigger"], m.get("category"), trigger, m.get("target"))

    def trigger(
        self, at: list[str | int], category: object, trigger: Mapping[str, Any], target: object
    ) -> None:
        for key in _SCORE_KEYS:
            if trigger.get(key) is not None:
                code = SANCTION_ON_SCORE_OR_GRADE if category == "sanction" else MEASURE_ON_SCORE
                self.error(
                    code,
                    [*at, key],
                    "measures follow list membership or, for rewards, a grade; never a score",
                )
        grades = trigger.get("grade")
        if grades is not None:
            if category == "sanction":
                self.error(
                    SANCTION_ON_SCORE_OR_GRADE,
                    [*at, "grade"],
                    "sanctions follow adjudicated records and list membership, never a score "
                    "or grade alone; trigger it by list",
                )
            targets = target if isinstance(target, list) else [target]
            if "legal_representative" in targets:
                self.error(
                    LEGAL_REPRESENTATIVE_WITHOUT_LIST,
                    [*at, "grade"],
                    "a legal representative is reached only through a listed organisation; "
                    "trigger the measure by list",
                )
            for k, g in enumerate(grades if isinstance(grades, list) else [grades]):
                if isinstance(g, str) and g not in self.known.grades:
                    self.error(
                        UNKNOWN_GRADE,
                        [*at, "grade", k],
                        f"no policy has grade {g!r}" + _suggest(g, self.known.grades),
                    )
        on_list = trigger.get("list")
        if on_list == "black" and category == "reward":
            self.error(REWARD_ON_BLACK_LIST, [*at, "list"], "a reward cannot follow the black list")
        if on_list == "red" and category == "sanction":
            self.error(SANCTION_ON_RED_LIST, [*at, "list"], "a sanction cannot follow the red list")
        criteria = trigger.get("criteria")
        if isinstance(on_list, str) and isinstance(criteria, list):
            known = self.known.criteria.get(on_list, frozenset())
            for k, c in enumerate(criteria):
                if isinstance(c, str) and c not in known:
                    self.error(
                        UNKNOWN_LIST_CRITERION,
                        [*at, "criteria", k],
                        f"no policy has a {on_list}-list criterion {c!r}" + _suggest(c, known),
                    )


# --- checking and resolving a set of files --------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeasuresReport:
    files: tuple[str, ...]
    findings: tuple[Finding, ...]
    catalogues: tuple[MeasuresCatalogue, ...]  # the checked files that resolved cleanly

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    def as_dict(self) -> dict[str, Any]:
        return {"files": list(self.files), "findings": [f.as_dict() for f in self.findings]}


@dataclass(frozen=True, slots=True)
class _Doc:
    file: str
    spec: MeasuresDoc
    clean: bool


def _examine(path: Path, known: _Known) -> tuple[list[Finding], _Doc | None]:
    file = str(path)
    raw, findings = read_yaml(path, file)
    if not isinstance(raw, dict):
        return findings, None
    linter = _Linter(file, known)
    linter.document(raw)
    try:
        doc: MeasuresDoc | None = MeasuresDoc.model_validate(raw)
        schema: list[Finding] = []
    except ValidationError as exc:
        doc, schema = None, schema_findings(exc, file, MeasuresDoc)
    # A value both passes report is reported once, by the lint, whose code says what is wrong.
    linted = {f.path for f in linter.found}
    findings += [f for f in schema if f.path not in linted] + linter.found
    return findings, _Doc(file, doc, not has_errors(findings)) if doc else None


def _measure(spec: MeasureSpec, defined_in: str) -> Measure:
    t = spec.trigger
    return Measure(
        id=spec.id,
        title_zh=spec.title.zh,
        title_en=spec.title.en,
        category=spec.category,
        legal_basis=spec.legal_basis,
        trigger=MeasureTrigger(
            on_list=t.on_list,
            criteria=tuple(t.criteria) if t.criteria is not None else None,
            grades=tuple(t.grade) if t.grade is not None else None,
        ),
        targets=tuple(dict.fromkeys(spec.target)),
        purposes=tuple(dict.fromkeys(spec.purposes)),
        defined_in=defined_in,
    )


def _resolve(
    checked: Sequence[_Doc], fallback: Sequence[_Doc]
) -> tuple[dict[str, MeasuresCatalogue], list[Finding]]:
    pool = {d.spec.ref: d for d in fallback}
    pool.update({d.spec.ref: d for d in checked})
    found: list[Finding] = []
    first: dict[str, str] = {}
    failed: set[str] = set()
    for d in checked:
        if d.spec.ref in first:
            found.append(
                error(
                    DUPLICATE_CATALOGUE,
                    d.file,
                    ["version"],
                    f"{d.spec.ref} is also defined in {first[d.spec.ref]}",
                )
            )
            failed.add(d.file)
        first.setdefault(d.spec.ref, d.file)
    resolved: dict[str, MeasuresCatalogue] = {}
    for d in checked:
        if not d.clean or d.file in failed:
            continue
        chain = [d]
        problem: Finding | None = None
        while chain[-1].spec.extends is not None and problem is None:
            ref = chain[-1].spec.extends
            base = pool.get(ref)
            if base is None or not base.clean or base in chain:
                problem = error(UNKNOWN_BASE, d.file, ["extends"], f"no usable catalogue {ref}")
            elif base.spec.region not in (NATIONAL, d.spec.region):
                problem = error(
                    EXTENDS_OTHER_REGION,
                    d.file,
                    ["extends"],
                    f"{ref} is for region {base.spec.region}; a catalogue may extend only the "
                    "national one or its own region's",
                )
            else:
                chain.append(base)
        if problem is not None:
            found.append(problem)
            continue
        measures: dict[str, Measure] = {}
        for doc in reversed(chain):
            for m in doc.spec.measures:
                measures[m.id] = _measure(m, doc.spec.ref)
        spec = d.spec
        resolved[d.file] = MeasuresCatalogue(
            id=spec.id,
            version=spec.version,
            region=spec.region,
            title=spec.title,
            legal_basis=spec.legal_basis,
            effective_from=spec.effective_from,
            effective_until=spec.effective_until,
            lineage=tuple(c.spec.ref for c in chain),
            measures=tuple(measures[k] for k in sorted(measures)),
            source=d.file,
        )
    return resolved, found


def shipped_measures_dir() -> Path:
    return Path(str(resources.files("socialcredit.data").joinpath("measures")))


def _run(
    paths: Sequence[Path],
    policies: Iterable[ResolvedPolicy] | None,
    fallback_dir: Path | None,
) -> MeasuresReport:
    known = _Known.of(
        load_policies() if policies is None else policies, published_purposes().keys()
    )
    examined = [_examine(p, known) for p in paths]
    docs = [d for _f, d in examined if d is not None]
    fallback: list[_Doc] = []
    if fallback_dir is not None:
        own = {p.resolve() for p in paths}
        for p in policy_files(fallback_dir):
            if p.resolve() not in own:
                _findings, doc = _examine(p, known)
                if doc is not None:
                    fallback.append(doc)
    resolved, merged = _resolve(docs, fallback)
    files = tuple(str(p) for p in paths)
    order = {f: i for i, f in enumerate(files)}
    findings = [f for fs, _d in examined for f in fs] + merged
    findings.sort(key=lambda f: order.get(f.file, len(order)))
    return MeasuresReport(
        files=files,
        findings=tuple(findings),
        catalogues=tuple(resolved[f] for f in files if f in resolved),
    )


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for given in paths:
        for p in policy_files(Path(given)):
            if p not in out:
                out.append(p)
    return out


def check_measures(
    paths: Iterable[str | Path] | None = None,
    *,
    policies: Iterable[ResolvedPolicy] | None = None,
) -> MeasuresReport:
    """Check measure catalogue files (default: the shipped ones).

    List criteria and grades a measure names must exist in ``policies`` (default: the
    shipped policies); purposes must be published. A file's ``extends`` is looked up
    among the given files first, then the shipped catalogues.
    """
    given = _expand([shipped_measures_dir()] if paths is None else paths)
    return _run(given, policies, shipped_measures_dir())


def load_measures(directory: str | Path | None = None) -> tuple[MeasuresCatalogue, ...]:
    """Every catalogue in ``directory`` (default: the shipped ones), resolved; any error
    raises ``CatalogueError`` with every finding."""
    if directory is None:
        return _load_shipped()
    files = policy_files(Path(directory))
    if not files:
        raise CatalogueError(f"{directory}: no measure catalogue files (*.yaml) found")
    report = _run(files, None, None)
    if report.errors:
        raise CatalogueError("\n".join(str(f) for f in report.errors), report.errors)
    return tuple(sorted(report.catalogues, key=lambda c: (c.region, c.id, version_key(c.version))))


@lru_cache(maxsize=1)
def _load_shipped() -> tuple[MeasuresCatalogue, ...]:
    return load_measures(shipped_measures_dir())


def select_catalogue(
    catalogues: Iterable[MeasuresCatalogue], region: str | None, as_of: dt.date
) -> MeasuresCatalogue:
    """The catalogue relying parties of ``region`` (two province digits; None: national
    only) apply on ``as_of``: the region's own in force, else the national one."""
    in_force = [c for c in catalogues if c.in_force(as_of)]

    def latest(region_code: str) -> MeasuresCatalogue | None:
        found = [c for c in in_force if c.region == region_code]
        return max(found, key=lambda c: (version_key(c.version), c.id), default=None)

    chosen = (latest(region) if region else None) or latest(NATIONAL)
    if chosen is None:
        raise NoCatalogueInForceError(f"no measures catalogue is in force on {as_of}")
    return chosen
