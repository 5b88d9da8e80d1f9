"""Lint one policy file as parsed YAML, before and regardless of schema validation.

Working on the raw mapping is deliberate: a file with a typo in one rule still gets
every other finding, each with its key path, instead of one schema traceback. Each
check reads only values of the type it expects and leaves anything else to the
schema. Checks that need the resolved policy (the grades a regional file inherits)
are in ``resolve.py``.

Finding codes are stable; tests and operators rely on them.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Collection, Mapping
from typing import Any

from socialcredit.policy.findings import Finding, Loc, error, warning
from socialcredit.policy.model import ADULT_AGE
from socialcredit.records.catalogue import SEVERITY_WINDOWS, Catalogue, RecordTypeSpec

RULE_WITHOUT_LEGAL_BASIS = "rule-without-legal-basis"
POLICY_WITHOUT_LEGAL_BASIS = "policy-without-legal-basis"
SANCTION_WITHOUT_LEGAL_BASIS = "sanction-without-legal-basis"
SANCTION_ON_SCORE_OR_GRADE = "sanction-on-score-or-grade"
UNKNOWN_RECORD_TYPE = "unknown-record-type"
UNKNOWN_CATEGORY = "unknown-category"
UNKNOWN_PROFESSION = "unknown-profession"
RULE_PROFESSION_MISMATCH = "rule-profession-mismatch"
DUPLICATE_RULE = "duplicate-rule"
DUPLICATE_SANCTION = "duplicate-sanction"
DUPLICATE_GRADE = "duplicate-grade"
GRADE_BANDS_OVERLAP = "grade-bands-overlap"
GRADE_BANDS_GAP = "grade-bands-gap"
GRADE_BAND_INVERTED = "grade-band-inverted"
AMOUNT_BANDS_OVERLAP = "amount-bands-overlap"
AMOUNT_BANDS_GAP = "amount-bands-gap"
AMOUNT_BAND_INVERTED = "amount-band-inverted"
AMOUNT_BANDS_WITHOUT_AMOUNT = "amount-bands-without-amount"
POINTS_SIGN_MISMATCH = "points-sign-mismatch"
RECORD_TYPE_WITHOUT_MAX_WINDOW = "record-type-without-max-window"
RECORD_TYPE_WITHOUT_RULE = "record-type-without-rule"
EMPTY_EFFECTIVE_PERIOD = "empty-effective-period"
LIST_CRITERION_WITHOUT_LEGAL_BASIS = "list-criterion-without-legal-basis"
BLACK_LIST_ON_SCORE_OR_GRADE = "black-list-on-score-or-grade"
BLACK_LIST_RECORD_NOT_SERIOUS = "black-list-record-not-serious"
BLACK_LIST_ADMITS_MINORS = "black-list-admits-minors"
DUPLICATE_LIST_CRITERION = "duplicate-list-criterion"
LIST_DURATION_BEYOND_WINDOW = "list-duration-beyond-window"
LIST_EXTRA_MONTHS_INVERTED = "list-extra-months-inverted"

# Keys that would make a black-list criterion (or a sanction) follow a number rather than
# an adjudicated record; the schema knows none of them, the lint says why they are wrong.
_SCORE_KEYS = ("grade", "score", "score_below", "min_score", "max_score")


def _blank(mapping: Mapping[str, Any], key: str) -> bool:
    """Missing, null or whitespace; a value of another type is the schema's to report."""
    value = mapping.get(key)
    return value is None or (isinstance(value, str) and not value.strip())


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _dicts(value: object) -> list[tuple[int, dict[str, Any]]]:
    """The mapping items of a list, with their index; other items are the schema's."""
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _suggest(value: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


class _Linter:
    def __init__(self, file: str, catalogue: Catalogue, professions: Collection[str]) -> None:
        self.file = file
        self.types = catalogue.by_code()
        self.categories = catalogue.categories
        self.professions = professions
        self.found: list[Finding] = []

    def error(self, code: str, loc: Loc, message: str) -> None:
        self.found.append(error(code, self.file, loc, message))

    def warn(self, code: str, loc: Loc, message: str) -> None:
        self.found.append(warning(code, self.file, loc, message))

    def document(self, raw: Mapping[str, Any]) -> None:
        if _blank(raw, "legal_basis"):
            self.error(
                POLICY_WITHOUT_LEGAL_BASIS,
                ["legal_basis"],
                "the policy must cite the law or regulation it implements",
            )
        start, until = _date(raw.get("effective_from")), _date(raw.get("effective_until"))
        if start and until and until <= start:
            self.error(
                EMPTY_EFFECTIVE_PERIOD,
                ["effective_until"],
                f"effective_until {until} must be after effective_from {start} (it is exclusive)",
            )
        self.grades(raw.get("grades"))
        self.rules(raw.get("rules"), baseline=raw.get("extends") is None)
        for key in ("rollout", "category_caps"):
            section = raw.get(key)
            if isinstance(section, dict):
                for category in section:
                    if isinstance(category, str) and category not in self.categories:
                        self.error(
                            UNKNOWN_CATEGORY,
                            [key, category],
                            f"{category!r} is not a catalogue category"
                            + _suggest(category, self.categories),
                        )
        self.sanctions(raw.get("sanctions"))
        lists = raw.get("lists")
        if isinstance(lists, dict):
            if isinstance(lists.get("black"), dict):
                self.black_list(lists["black"])
            if isinstance(lists.get("red"), dict):
                self.red_list(lists["red"])

    def grades(self, value: object) -> None:
        items = _dicts(value)
        if not items or not isinstance(value, list) or len(items) != len(value):
            return
        seen: dict[str, int] = {}
        for i, band in items:
            grade = band.get("grade")
            if isinstance(grade, str):
                if grade in seen:
                    self.error(
                        DUPLICATE_GRADE, ["grades", i, "grade"], f"grade {grade} is listed twice"
                    )
                seen.setdefault(grade, i)
        bounds: list[tuple[int | None, int | None]] = []
        for _i, band in items:
            lo, hi = band.get("min"), band.get("max")
            if (lo is not None and _int(lo) is None) or (hi is not None and _int(hi) is None):
                return  # a bound of the wrong type: the schema reports it; coverage is moot
            bounds.append((_int(lo), _int(hi)))
        last = len(bounds) - 1
        for i, (lo, hi) in enumerate(bounds):
            if lo is not None and hi is not None and lo > hi:
                self.error(GRADE_BAND_INVERTED, ["grades", i], f"min {lo} is above max {hi}")
            if i == 0 and hi is not None:
                self.error(
                    GRADE_BANDS_GAP,
                    ["grades", 0, "max"],
                    f"scores above {hi} have no grade; leave max open on the top band",
                )
            if i == last and lo is not None:
                self.error(
                    GRADE_BANDS_GAP,
                    ["grades", i, "min"],
                    f"scores below {lo} have no grade; leave min open on the bottom band",
                )
            if i > 0 and hi is None:
                self.error(
                    GRADE_BANDS_OVERLAP,
                    ["grades", i, "max"],
                    "only the top (first) band may leave max open",
                )
            if i < last and lo is None:
                self.error(
                    GRADE_BANDS_OVERLAP,
                    ["grades", i, "min"],
                    "only the bottom (last) band may leave min open",
                )
        # Bands are listed best first, so each band's max sits just below the min of the one
        # before it.
        for i in range(1, len(bounds)):
            above, below = bounds[i - 1][0], bounds[i][1]
            if above is None or below is None:
                continue
            if below + 1 < above:
                self.error(
                    GRADE_BANDS_GAP,
                    ["grades", i, "max"],
                    f"scores {below + 1}..{above - 1} have no grade",
                )
            elif below >= above:
                self.error(
                    GRADE_BANDS_OVERLAP,
                    ["grades", i, "max"],
                    f"scores {above}..{below} fall in two bands (bands are listed best first)",
                )

    def rules(self, value: object, *, baseline: bool) -> None:
        seen: dict[tuple[str, object], int] = {}
        covered: set[str] = set()
        for i, rule in _dicts(value):
            here: list[str | int] = ["rules", i]
            if _blank(rule, "legal_basis"):
                self.error(
                    RULE_WITHOUT_LEGAL_BASIS,
                    [*here, "legal_basis"],
                    "every rule must cite the law or regulation that allows it",
                )
            record_type = rule.get("record_type")
            if not isinstance(record_type, str):
                continue
            profession = rule.get("profession")
            key = (record_type, profession)
            if key in seen:
                self.error(
                    DUPLICATE_RULE,
                    here,
                    f"rules[{seen[key]}] already scores {record_type}"
                    + (f" for {profession}" if profession else ""),
                )
            seen.setdefault(key, i)
            spec = self.types.get(record_type)
            if spec is None:
                self.error(
                    UNKNOWN_RECORD_TYPE,
                    [*here, "record_type"],
                    f"{record_type!r} is not in the record catalogue"
                    + _suggest(record_type, self.types),
                )
                continue
            covered.add(record_type)
            self.profession(here, spec, profession)
            self.window(here, spec)
            points = _int(rule.get("points"))
            if points is not None:
                self.sign(spec, points, [*here, "points"])
            self.amount_bands(here, spec, rule.get("amount_bands"))
        if baseline and isinstance(value, list):
            missing = sorted(set(self.types) - covered)
            if missing:
                self.warn(
                    RECORD_TYPE_WITHOUT_RULE,
                    ["rules"],
                    "a baseline should score every catalogue record type; no rule for "
                    + ", ".join(missing),
                )

    def profession(self, here: Loc, spec: RecordTypeSpec, profession: object) -> None:
        if not isinstance(profession, str):
            return
        if profession not in self.professions:
            self.error(
                UNKNOWN_PROFESSION,
                [*here, "profession"],
                f"{profession!r} is not a registered profession"
                + _suggest(profession, self.professions),
            )
        elif spec.profession is not None and spec.profession != profession:
            self.warn(
                RULE_PROFESSION_MISMATCH,
                [*here, "profession"],
                f"{spec.code} records only land on {spec.profession} profiles, "
                f"so a rule for {profession} never applies",
            )

    def window(self, here: Loc, spec: RecordTypeSpec) -> None:
        # Display must stop by itself: a dishonesty record's maximum window is bounded by the
        # credit-repair measures for its severity. Positive records are not dishonesty
        # information and keep whatever the catalogue publishes.
        if spec.polarity != "negative":
            return
        limit = SEVERITY_WINDOWS[spec.severity][1]
        if spec.max_window_months > limit:
            self.error(
                RECORD_TYPE_WITHOUT_MAX_WINDOW,
                [*here, "record_type"],
                f"the catalogue gives {spec.code} a maximum window of {spec.max_window_months} "
                f"months, beyond the {limit} months allowed for {spec.severity} records",
            )

    def sign(self, spec: RecordTypeSpec, points: int, loc: Loc) -> None:
        if (spec.polarity == "negative" and points > 0) or (
            spec.polarity == "positive" and points < 0
        ):
            self.warn(
                POINTS_SIGN_MISMATCH,
                loc,
                f"{spec.code} is a {spec.polarity} record but scores {points:+d}",
            )

    def amount_bands(self, here: Loc, spec: RecordTypeSpec, value: object) -> None:
        if value is None:
            return
        at: list[str | int] = [*here, "amount_bands"]
        if not spec.amount_relevant:
            self.warn(
                AMOUNT_BANDS_WITHOUT_AMOUNT,
                at,
                f"{spec.code} records carry no amount, so these bands never apply",
            )
        items = _dicts(value)
        for k, band in items:
            points = _int(band.get("points"))
            if points is not None:
                self.sign(spec, points, [*at, k, "points"])
        bounds: list[tuple[int, int | None]] = []
        for _k, band in items:
            lo, hi = _int(band.get("min_cny")), band.get("max_cny")
            if lo is None or (hi is not None and _int(hi) is None):
                return  # the schema reports the bad bound; coverage is moot until it is fixed
            bounds.append((lo, _int(hi)))
        if not isinstance(value, list) or len(bounds) != len(value) or not bounds:
            return
        if bounds[0][0] != 0:
            self.error(
                AMOUNT_BANDS_GAP,
                [*at, 0, "min_cny"],
                f"amounts below {bounds[0][0]} CNY have no band; start the first band at 0",
            )
        last = len(bounds) - 1
        for k, (lo, hi) in enumerate(bounds):
            if hi is not None and hi <= lo:
                self.error(
                    AMOUNT_BAND_INVERTED,
                    [*at, k],
                    f"max_cny {hi} must be above min_cny {lo} (it is exclusive)",
                )
            if k == last and hi is not None:
                self.error(
                    AMOUNT_BANDS_GAP,
                    [*at, k, "max_cny"],
                    f"amounts from {hi} CNY up have no band; leave max_cny open on the last band",
                )
            if k < last and hi is None:
                self.error(
                    AMOUNT_BANDS_OVERLAP,
                    [*at, k, "max_cny"],
                    "only the last band may leave max_cny open",
                )
            if k > 0:
                prev_hi = bounds[k - 1][1]
                if prev_hi is None:
                    continue
                if lo > prev_hi:
                    self.error(
                        AMOUNT_BANDS_GAP,
                        [*at, k, "min_cny"],
                        f"amounts {prev_hi}..{lo} CNY have no band",
                    )
                elif lo < prev_hi:
                    self.error(
                        AMOUNT_BANDS_OVERLAP,
                        [*at, k, "min_cny"],
                        f"amounts {lo}..{prev_hi} CNY fall in two bands",
                    )

    def sanctions(self, value: object) -> None:
        seen: dict[str, int] = {}
        for i, sanction in _dicts(value):
            here: list[str | int] = ["sanctions", i]
            if _blank(sanction, "legal_basis"):
                self.error(
                    SANCTION_WITHOUT_LEGAL_BASIS,
                    [*here, "legal_basis"],
                    "a sanction must cite the law or regulation that imposes it",
                )
            ident = sanction.get("id")
            if isinstance(ident, str):
                if ident in seen:
                    self.error(
                        DUPLICATE_SANCTION, [*here, "id"], f"sanctions[{seen[ident]}] is {ident}"
                    )
                seen.setdefault(ident, i)
            trigger = sanction.get("trigger")
            if not isinstance(trigger, dict):
                continue
            for key in ("grade", "score_below"):
                if trigger.get(key) is not None:
                    self.error(
                        SANCTION_ON_SCORE_OR_GRADE,
                        [*here, "trigger", key],
                        "sanctions follow adjudicated records and list membership, never a "
                        "score or grade alone; trigger it by list",
                    )

    def criterion_basics(self, here: Loc, criterion: dict[str, Any], seen: dict[str, int]) -> None:
        if _blank(criterion, "legal_basis"):
            self.error(
                LIST_CRITERION_WITHOUT_LEGAL_BASIS,
                [*here, "legal_basis"],
                "a list criterion must cite the law or regulation that allows the listing",
            )
        ident = criterion.get("id")
        if isinstance(ident, str):
            if ident in seen:
                self.error(
                    DUPLICATE_LIST_CRITERION,
                    [*here, "id"],
                    f"entry[{seen[ident]}] is already {ident}",
                )
            seen.setdefault(ident, int(here[-1]))

    def black_list(self, black: Mapping[str, Any]) -> None:
        min_age = _int(black.get("min_age"))
        if min_age is not None and min_age < ADULT_AGE:
            self.error(
                BLACK_LIST_ADMITS_MINORS,
                ["lists", "black", "min_age"],
                f"minors are never black-listed; min_age must be at least {ADULT_AGE}",
            )
        seen: dict[str, int] = {}
        for i, criterion in _dicts(black.get("entry")):
            here: list[str | int] = ["lists", "black", "entry", i]
            self.criterion_basics(here, criterion, seen)
            for key in _SCORE_KEYS:
                if criterion.get(key) is not None:
                    self.error(
                        BLACK_LIST_ON_SCORE_OR_GRADE,
                        [*here, key],
                        "the black list follows adjudicated records, never a score or grade "
                        "alone; name the record types instead",
                    )
            windows = self.black_record_types(here, criterion.get("record_types"))
            duration = _int(criterion.get("duration_months"))
            if duration is not None and windows and duration > min(windows.values()):
                code, months = min(windows.items(), key=lambda kv: kv[1])
                self.error(
                    LIST_DURATION_BEYOND_WINDOW,
                    [*here, "duration_months"],
                    f"{duration} months outlasts the {months}-month display window of {code}; "
                    "nobody may stay listed for a record no longer shown",
                )
            extra = criterion.get("extra_months_with_reason")
            if isinstance(extra, list) and len(extra) == 2:
                lo, hi = _int(extra[0]), _int(extra[1])
                if lo is not None and hi is not None and not 0 < lo <= hi:
                    self.error(
                        LIST_EXTRA_MONTHS_INVERTED,
                        [*here, "extra_months_with_reason"],
                        f"[{lo}, {hi}] must be [min, max] with 0 < min <= max",
                    )

    def black_record_types(self, here: Loc, value: object) -> dict[str, int]:
        """Check the record types of a black-list criterion; returns their display windows."""
        windows: dict[str, int] = {}
        if not isinstance(value, list):
            return windows
        for j, code in enumerate(value):
            if not isinstance(code, str):
                continue
            loc: list[str | int] = [*here, "record_types", j]
            spec = self.types.get(code)
            if spec is None:
                self.error(
                    UNKNOWN_RECORD_TYPE,
                    loc,
                    f"{code!r} is not in the record catalogue" + _suggest(code, self.types),
                )
                continue
            if spec.polarity != "negative" or spec.severity != "serious":
                self.error(
                    BLACK_LIST_RECORD_NOT_SERIOUS,
                    loc,
                    f"{code} is a {spec.severity} {spec.polarity} record; only serious "
                    "dishonesty records can put anyone on the black list",
                )
            windows[code] = spec.max_window_months
        return windows

    def red_list(self, red: Mapping[str, Any]) -> None:
        seen: dict[str, int] = {}
        for i, criterion in _dicts(red.get("entry")):
            self.criterion_basics(["lists", "red", "entry", i], criterion, seen)


def lint_document(
    raw: Mapping[str, Any], file: str, catalogue: Catalogue, professions: Collection[str]
) -> list[Finding]:
    """Every file-local finding for one parsed policy file."""
    linter = _Linter(file, catalogue, professions)
    linter.document(raw)
    return linter.found
