"""The catalogue facts the evaluator needs, by record type."""

from __future__ import annotations

from functools import lru_cache

from socialcredit.records.catalogue import default_catalogue

CatalogueView = dict[str, tuple[str, str, int]]


@lru_cache(maxsize=1)
def catalogue_view() -> CatalogueView:
    """record type → (category, polarity, maximum display window in months)."""
    return {
        rt.code: (rt.category, rt.polarity, rt.max_window_months)
        for rt in default_catalogue().record_types
    }
