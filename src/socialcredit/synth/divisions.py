"""Real YRD county-level division codes, with the years each was in use.

python-stdnum's ``ric.validate`` checks that a birthplace code existed in the
birth year (330106 only from 1983), so generated IDs must pick codes that were
valid then. The table is read from the same file stdnum validates against.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from socialcredit.identity.regions import YRD_PROVINCES

# Residents, millions (2023 statistical yearbooks); IDs are drawn in proportion.
PROVINCE_POPULATION_M: dict[str, float] = {"31": 24.9, "32": 85.3, "33": 66.3, "34": 61.2}


@dataclass(frozen=True)
class Division:
    code: str
    first_year: int
    last_year: int

    def valid_in(self, year: int) -> bool:
        return self.first_year <= year <= self.last_year


def _parse_span(value: str) -> list[tuple[int, int]]:
    spans = []
    for part in value.split(","):
        if part.startswith("["):
            years = part[1:].split("]", 1)[0]
            start, end = years.split("-")
            spans.append((int(start) if start else 1900, int(end) if end else 9999))
        else:
            spans.append((1900, 9999))
    return spans


@lru_cache(maxsize=1)
def yrd_divisions() -> dict[str, list[Division]]:
    """County-level codes per YRD province (city-level ``..00`` codes are left out)."""
    text = resources.files("stdnum.cn").joinpath("loc.dat").read_text("utf-8")
    out: dict[str, list[Division]] = {p: [] for p in YRD_PROVINCES}
    province = ""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if not line.startswith(" "):
            province = line.split()[0]
            continue
        if province not in out:
            continue
        suffix, _, rest = line.strip().partition(" ")
        if suffix.endswith("00"):
            continue
        value = rest.split("=", 1)[1].strip('"')
        for start, end in _parse_span(value):
            out[province].append(Division(province + suffix, start, end))
    return out


def pick_province(rng: random.Random) -> str:
    provinces = list(PROVINCE_POPULATION_M)
    return rng.choices(provinces, weights=[PROVINCE_POPULATION_M[p] for p in provinces])[0]


def pick_division(rng: random.Random, province: str, year: int) -> str:
    """A county code of ``province`` that existed in ``year``."""
    candidates = [d for d in _by_year(province, year)]
    return rng.choice(candidates).code


@lru_cache(maxsize=1024)
def _by_year(province: str, year: int) -> tuple[Division, ...]:
    return tuple(d for d in yrd_divisions()[province] if d.valid_in(year))
