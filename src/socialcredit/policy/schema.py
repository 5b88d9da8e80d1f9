"""The shape of a policy file, as written: types, keys and formats, nothing semantic.

Semantic rules (bands that cover the range, known record types, sanctions not
triggered by a score) live in ``lint.py``, which reads the raw mapping, so that
`policy check` reports them on a file that is broken in other ways too. Only a
document that passes both is resolved (``resolve.py``) into a ``ResolvedPolicy``.

Omitted settings are ``None`` here rather than defaulted, because a regional file
inherits whatever it leaves out from the policy it extends.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from socialcredit.identity.regions import region_of
from socialcredit.policy.findings import Finding, error

NATIONAL = "00"

_ID = r"[a-z0-9]+(?:-[a-z0-9]+)*"
# No leading zeros, so that two spellings of a version (2026.1, 2026.01) cannot coexist.
_VERSION = r"(?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*))*"


def _iso_date(value: object) -> object:
    # The YAML reader keeps dates as text, so a bad date is reported here with its key
    # path instead of failing inside the parser; numbers are refused rather than read
    # as Unix timestamps.
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date YYYY-MM-DD, not a date and time")
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid date YYYY-MM-DD ({exc})") from None


def _quoted(what: str, example: str) -> Callable[[object], object]:
    def check(value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(f"quote the {what}, e.g. {example} (unquoted, YAML reads a number)")
        return value

    return check


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


def _region(value: str) -> str:
    if value != NATIONAL and not region_of(value + "0000").province:
        raise ValueError(f"{value!r} is neither {NATIONAL!r} (national) nor a GB/T 2260 province")
    return value


def _matching(pattern: str, expected: str) -> Callable[[str], str]:
    # pydantic's own message would quote the regular expression; say what is expected instead.
    compiled = re.compile(rf"^(?:{pattern})$")

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"{value!r} is not {expected}")
        return value

    return check


def _non_zero(value: int) -> int:
    if value == 0:
        raise ValueError("a cap of 0 is ambiguous; omit the category to leave it uncapped")
    return value


Date = Annotated[dt.date, BeforeValidator(_iso_date)]
Text = Annotated[StrictStr, AfterValidator(_non_blank)]
Version = Annotated[
    StrictStr,
    BeforeValidator(_quoted("version", 'version: "2026.1"')),
    AfterValidator(
        _matching(
            _VERSION, 'a version: numbers without leading zeros joined by dots, e.g. "2026.1"'
        )
    ),
]
Region = Annotated[
    StrictStr,
    BeforeValidator(_quoted("region code", 'region: "31"')),
    AfterValidator(_matching(r"\d{2}", 'a region code: "00" or two province digits')),
    AfterValidator(_region),
]
Ref = Annotated[
    StrictStr, AfterValidator(_matching(f"{_ID}@{_VERSION}", "id@version, e.g. cn-national@2026.1"))
]
Slug = Annotated[
    StrictStr,
    AfterValidator(_matching(_ID, "lower-case letters and digits joined by hyphens")),
]

GradeName = Annotated[
    StrictStr, AfterValidator(_matching(r"[A-Z][A-Z+-]{0,3}", "a grade such as AAA or B"))
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GradeBandSpec(_Spec):
    grade: GradeName
    min: StrictInt | None = None
    max: StrictInt | None = None


class AmountBandSpec(_Spec):
    min_cny: Annotated[StrictInt, Field(ge=0)]
    max_cny: StrictInt | None = None  # exclusive; an inverted band is the lint's finding
    points: StrictInt


class RepeatSpec(_Spec):
    window_days: Annotated[StrictInt, Field(gt=0)]
    extra_points: StrictInt


class RuleSpec(_Spec):
    record_type: StrictStr
    points: StrictInt
    legal_basis: Text
    amount_bands: Annotated[list[AmountBandSpec], Field(min_length=1)] | None = None
    repeat: RepeatSpec | None = None
    profession: StrictStr | None = None
    grade_cap: StrictStr | None = None


class TriggerSpec(_Spec):
    on_list: Literal["black", "red"] | None = Field(default=None, alias="list")
    grade: StrictStr | None = None
    score_below: StrictInt | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TriggerSpec:
        given = [v for v in (self.on_list, self.grade, self.score_below) if v is not None]
        if len(given) != 1:
            raise ValueError("a trigger names exactly one of list, grade or score_below")
        return self


class SanctionSpec(_Spec):
    id: Slug
    title: StrictStr | None = None
    legal_basis: Text
    trigger: TriggerSpec


class BlackCriterionSpec(_Spec):
    """One way onto the black list: an adjudicated serious record of one of these types."""

    id: Slug
    record_types: Annotated[list[StrictStr], Field(min_length=1)]
    legal_basis: Text
    # How long the listing lasts from the decision; omitted: the record's display window.
    duration_months: Annotated[StrictInt, Field(gt=0)] | None = None
    # [min, max] months an aggravated case may add when the decision records a reason
    # (the court list's +1..3 years). Published now, applied once records carry the reason.
    extra_months_with_reason: tuple[StrictInt, StrictInt] | None = None


class RedCriterionSpec(_Spec):
    """One way onto the red list: a grade held with no negative record for some years."""

    id: Slug
    grade: GradeName
    clean_years: Annotated[StrictInt, Field(ge=1)]
    legal_basis: Text


class BlackListSpec(_Spec):
    notice_working_days: Annotated[StrictInt, Field(ge=1)] | None = None
    # Bounded below by the lint (never under 18), not here, so the finding says why.
    min_age: StrictInt | None = None
    entry: list[BlackCriterionSpec] = Field(default_factory=list)


class RedListSpec(_Spec):
    notice_working_days: Annotated[StrictInt, Field(ge=1)] | None = None
    entry: list[RedCriterionSpec] = Field(default_factory=list)


class ListsSpec(_Spec):
    black: BlackListSpec | None = None
    red: RedListSpec | None = None


class PolicyDoc(_Spec):
    id: Slug
    version: Version
    region: Region
    extends: Ref | None = None
    title: Text
    legal_basis: Text
    effective_from: Date
    effective_until: Date | None = None
    base_score: StrictInt | None = None
    bar_years: Annotated[StrictInt, Field(ge=1)] | None = None
    grades: Annotated[list[GradeBandSpec], Field(min_length=2)] | None = None
    rollout: dict[StrictStr, Date] = Field(default_factory=dict)
    category_caps: dict[StrictStr, Annotated[StrictInt, AfterValidator(_non_zero)]] = Field(
        default_factory=dict
    )
    rules: list[RuleSpec] = Field(default_factory=list)
    sanctions: list[SanctionSpec] = Field(default_factory=list)
    lists: ListsSpec | None = None

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The spec models a field annotation can hold (through list, Optional, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (list, Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def _allowed_keys(loc: tuple[str | int, ...], root: type[BaseModel]) -> list[str]:
    """The keys the schema allows at ``loc`` (for "did you mean" on an unknown key)."""
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = next(
            (f for name, f in model.model_fields.items() if (f.alias or name) == part), None
        )
        models = _models_in(field.annotation) if field else []
        model = models[0] if models else None
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _finding(file: str, err: ErrorDetails, root: type[BaseModel]) -> Finding:
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(loc[:-1], root)
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        if not close and allowed:
            hint = f"; allowed: {', '.join(allowed)}"
        return error("unknown-key", file, loc, f"unknown key {key!r}{hint}")
    if err["type"] == "missing":
        return error("missing-key", file, loc, "required key is missing")
    if loc and loc[-1] == "[key]":
        return error("invalid-key", file, loc[:-1], f"key: {err['msg']}")
    message = err["msg"].removeprefix("Value error, ")
    return error("invalid-value", file, loc, message)


def schema_findings(exc: ValidationError, file: str, root: type[BaseModel]) -> list[Finding]:
    """Each problem of a failed validation against ``root`` as a finding with its key path
    (shared with the other published catalogues, e.g. the measures)."""
    return [_finding(file, err, root) for err in exc.errors()]


def validate_document(raw: object, file: str) -> tuple[PolicyDoc | None, list[Finding]]:
    """Validate the shape of one parsed file; each problem becomes a finding with its key path."""
    try:
        return PolicyDoc.model_validate(raw), []
    except ValidationError as exc:
        return None, schema_findings(exc, file, PolicyDoc)
