"""Relying parties: who may ask which measures apply to a subject, and for which purposes.

A party is registered once with its kind, its region and the published purposes it may
query for; every purpose must be open to its kind (a bank asks about credit, not about
school fees). Functions work inside the caller's session, like the real-name registry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcredit.db.models import RelyingParty
from socialcredit.identity.regions import region_of
from socialcredit.measures.errors import PartyError, PurposeOutOfScopeError
from socialcredit.measures.purposes import PARTY_KINDS, published_purposes, require_purpose


def party_purposes(party: RelyingParty) -> tuple[str, ...]:
    return tuple(json.loads(party.purposes))


def register_party(
    session: Session, *, name: str, kind: str, region: str, purposes: Sequence[str]
) -> RelyingParty:
    """Register a relying party; ``region`` is a 2-, 4- or 6-digit division code."""
    name = name.strip()
    if not name:
        raise PartyError("a relying party needs a name")
    if kind not in PARTY_KINDS:
        raise PartyError(f"unknown kind {kind!r}; one of: {', '.join(PARTY_KINDS)}")
    if not (region.isdigit() and len(region) in (2, 4, 6)):
        raise PartyError(f"region must be a 2-, 4- or 6-digit division code, not {region!r}")
    if not region_of(region.ljust(6, "0")).province:
        raise PartyError(f"region {region} is not a GB/T 2260 division")
    codes = list(dict.fromkeys(p.strip() for p in purposes if p.strip()))
    if not codes:
        raise PartyError(f"give at least one purpose; published: {', '.join(published_purposes())}")
    for code in codes:
        purpose = require_purpose(code)
        if not purpose.open_to(kind):
            allowed = ", ".join(purpose.kinds or ())
            raise PartyError(f"purpose {code} is open only to {allowed}, not to a {kind}")
    if session.scalar(select(RelyingParty).where(RelyingParty.name == name)) is not None:
        raise PartyError(f"relying party {name!r} is already registered")
    party = RelyingParty(name=name, kind=kind, region_code=region, purposes=json.dumps(codes))
    session.add(party)
    session.flush()
    return party


def get_party(session: Session, name: str) -> RelyingParty:
    party = session.scalar(select(RelyingParty).where(RelyingParty.name == name))
    if party is None:
        raise PartyError(f"no relying party {name!r} (register it with `socialcredit party add`)")
    return party


def list_parties(session: Session) -> list[RelyingParty]:
    return list(session.scalars(select(RelyingParty).order_by(RelyingParty.name)))


def require_party_purpose(party: RelyingParty, purpose: str) -> None:
    """Refuse a question for a purpose the party is not registered for."""
    require_purpose(purpose)
    if purpose not in party_purposes(party):
        raise PurposeOutOfScopeError(
            f"{party.name} is registered for {', '.join(party_purposes(party))}, not {purpose}"
        )
