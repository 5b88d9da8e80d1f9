"""Which policy applies to a subject on a date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from socialcredit.policy.errors import NoPolicyInForceError, PolicyError
from socialcredit.policy.model import ResolvedPolicy
from socialcredit.policy.schema import NATIONAL


def _latest(candidates: Iterable[ResolvedPolicy]) -> ResolvedPolicy | None:
    # Highest version wins; the id only breaks a tie that `policy check` already forbids
    # (same region and version, overlapping dates), so the choice never depends on order.
    return max(candidates, key=lambda p: (p.version_key, p.id), default=None)


def select_policy(
    policies: Iterable[ResolvedPolicy], province_code: str, as_of: dt.date
) -> ResolvedPolicy:
    """The policy for a subject of ``province_code`` (two digits) on ``as_of``.

    The province's own policy in force on that date (highest version if several), else
    the national baseline in force; ``NoPolicyInForceError`` when neither is.
    """
    pool = list(policies)
    in_force = [p for p in pool if p.in_force(as_of)]
    regional = _latest(p for p in in_force if p.region == province_code)
    if regional is not None:
        return regional
    national = _latest(p for p in in_force if p.region == NATIONAL)
    if national is not None:
        return national
    relevant = [p.effective_from for p in pool if p.region in (NATIONAL, province_code)]
    later = [d for d in relevant if d > as_of]
    raise NoPolicyInForceError(province_code, as_of, min(later) if later else None)


def find_policy(policies: Iterable[ResolvedPolicy], ref: str) -> ResolvedPolicy:
    """The policy ``id@version``, e.g. ``cn-31-shanghai@2026.1``."""
    pool = list(policies)
    for p in pool:
        if p.ref == ref:
            return p
    known = ", ".join(sorted(p.ref for p in pool))
    raise PolicyError(f"no policy {ref}; known: {known}")
