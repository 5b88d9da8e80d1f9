"""The published purposes relying parties may ask for, and the kinds of relying party.

A relying party is registered with purposes from this list only, and an answer holds only
the measures relevant to the purpose asked for: the school learns about school fees, not
about flights.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from socialcredit.measures.errors import UnknownPurposeError

PARTY_KINDS: dict[str, str] = {
    "employer": "用人单位 / Employer",
    "school": "学校 / School",
    "licensing_office": "行政许可机关 / Licensing office",
    "procurement_agency": "政府采购机构 / Procurement agency",
    "bank": "银行 / Bank",
    "transport_operator": "交通运输企业 / Transport operator",
    "hotel": "星级宾馆 / Star-rated hotel",
}


class _Title(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class _PurposeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z][a-z_]*$")
    title: _Title
    legal_basis: str = Field(min_length=4)
    kinds: list[str] | None = None

    @model_validator(mode="after")
    def _known_kinds(self) -> _PurposeSpec:
        unknown = [k for k in self.kinds or () if k not in PARTY_KINDS]
        if unknown:
            raise ValueError(f"purpose {self.code}: unknown relying-party kinds {unknown}")
        return self


class _PurposesDoc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    published_on: dt.date
    purposes: list[_PurposeSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> _PurposesDoc:
        codes = [p.code for p in self.purposes]
        if len(set(codes)) != len(codes):
            raise ValueError("a purpose is listed twice")
        return self


@dataclass(frozen=True, slots=True)
class Purpose:
    code: str
    title_zh: str
    title_en: str
    legal_basis: str
    kinds: tuple[str, ...] | None  # the party kinds that may hold it; None: any

    def open_to(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": {"zh": self.title_zh, "en": self.title_en},
            "legal_basis": self.legal_basis,
            "kinds": list(self.kinds) if self.kinds is not None else None,
        }


@lru_cache(maxsize=1)
def _document() -> _PurposesDoc:
    text = resources.files("socialcredit.data").joinpath("purposes.yaml").read_text("utf-8")
    return _PurposesDoc.model_validate(yaml.safe_load(text))


def purposes_version() -> str:
    return _document().version


@lru_cache(maxsize=1)
def published_purposes() -> dict[str, Purpose]:
    """Every published purpose by code, in published order."""
    return {
        p.code: Purpose(
            p.code,
            p.title.zh,
            p.title.en,
            p.legal_basis,
            tuple(p.kinds) if p.kinds is not None else None,
        )
        for p in _document().purposes
    }


def require_purpose(code: str) -> Purpose:
    found = published_purposes().get(code)
    if found is None:
        raise UnknownPurposeError(code, list(published_purposes()))
    return found
