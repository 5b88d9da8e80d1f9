"""The published record catalogue: loaded from package data, validated, stored."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcredit.db.models import RecordType

Severity = Literal["minor", "general", "serious"]
Polarity = Literal["negative", "positive"]

# NDRC credit-repair measures: the display window each severity allows (months).
SEVERITY_WINDOWS: dict[str, tuple[int, int]] = {
    "minor": (0, 3),
    "general": (3, 12),
    "serious": (12, 36),
}


class RecordTypeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")
    title: str
    category: str
    issuing_body_kind: str
    legal_basis: str = Field(min_length=4)
    severity: Severity
    polarity: Polarity
    window_months: tuple[int, int]
    repairable: bool = True
    profession: str | None = None
    amount_relevant: bool = False

    @field_validator("window_months")
    @classmethod
    def _window_order(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not 0 <= v[0] <= v[1]:
            raise ValueError("window_months must be [min, max] with 0 <= min <= max")
        return v

    @property
    def min_window_months(self) -> int:
        return self.window_months[0]

    @property
    def max_window_months(self) -> int:
        return self.window_months[1]


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    published_on: dt.date
    categories: dict[str, str]
    record_types: list[RecordTypeSpec]

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        seen: set[str] = set()
        for rt in self.record_types:
            if rt.code in seen:
                raise ValueError(f"record type {rt.code} is listed twice")
            seen.add(rt.code)
            if rt.category not in self.categories:
                raise ValueError(f"record type {rt.code}: unknown category {rt.category}")
        return self

    def by_code(self) -> dict[str, RecordTypeSpec]:
        return {rt.code: rt for rt in self.record_types}


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    text = resources.files("socialcredit.data").joinpath("catalogue.yaml").read_text("utf-8")
    return Catalogue.model_validate(yaml.safe_load(text))


def load_into(session: Session, catalogue: Catalogue | None = None) -> int:
    """Insert or refresh every catalogue entry; returns how many were new."""
    catalogue = catalogue or default_catalogue()
    existing = {rt.code: rt for rt in session.scalars(select(RecordType))}
    added = 0
    for spec in catalogue.record_types:
        row = existing.get(spec.code)
        if row is None:
            row = RecordType(code=spec.code)
            session.add(row)
            added += 1
        row.title = spec.title
        row.category = spec.category
        row.issuing_body_kind = spec.issuing_body_kind
        row.legal_basis = spec.legal_basis
        row.severity = spec.severity
        row.polarity = spec.polarity
        row.min_window_months = spec.min_window_months
        row.max_window_months = spec.max_window_months
        row.repairable = spec.repairable
        row.profession = spec.profession
        row.amount_relevant = spec.amount_relevant
    return added
