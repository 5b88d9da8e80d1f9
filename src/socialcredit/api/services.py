"""The API's one door to the modules it does not own: audit, lists and measures.

Every call the routers make into those modules goes through a name here, so a
change of those modules' interfaces is absorbed in one place, and tests can
replace one function without reaching into the routers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy import Connection

from socialcredit.audit import AuditEvent, GroupCommitter
from socialcredit.audit import append as audit_append
from socialcredit.audit import append_many as audit_append_many
from socialcredit.audit.chain import validate as audit_validate
from socialcredit.lists import PublicEntry, count_public_entries, public_entries
from socialcredit.measures import (
    MeasuresAnswer,
    MeasuresCatalogue,
    MeasuresError,
    Purpose,
    load_measures,
    measures_for,
    published_purposes,
    select_catalogue,
)
from socialcredit.measures.question import measures_for_code
from socialcredit.policy import load_policies

__all__ = [
    "AuditEvent",
    "GroupCommitter",
    "MeasuresAnswer",
    "MeasuresCatalogue",
    "MeasuresError",
    "PublicEntry",
    "Purpose",
    "audit_append",
    "audit_append_many",
    "audit_validate",
    "catalogue_for",
    "count_public_entries",
    "measure_catalogues",
    "measures_for",
    "measures_for_code",
    "public_entries",
    "public_page",
    "purpose_catalogue",
    "purpose_codes",
    "warm_up",
]


def purpose_catalogue() -> list[Purpose]:
    """The published purposes, in published order."""
    return list(published_purposes().values())


@lru_cache(maxsize=1)
def purpose_codes() -> frozenset[str]:
    return frozenset(published_purposes())


def measure_catalogues() -> Sequence[MeasuresCatalogue]:
    """Every published measures catalogue: national and regional, every version."""
    return load_measures()


def catalogue_for(region: str | None, as_of: dt.date) -> MeasuresCatalogue:
    """The catalogue a relying party of ``region`` applies on ``as_of``."""
    return select_catalogue(load_measures(), region[:2] if region else None, as_of)


def public_page(
    conn: Connection, list_name: str, *, limit: int, offset: int, search: str | None
) -> tuple[list[PublicEntry], int]:
    """One page of a list's published entries (masked IDs), and how many there are."""
    page = public_entries(conn, list_name, limit=limit, offset=offset, search=search)
    return page, count_public_entries(conn, list_name, search=search)


def warm_up() -> None:
    """Load the published catalogues and policies that requests read (all cached)."""
    load_measures()
    published_purposes()
    load_policies()
