"""Roles, and the principal an API key stands for.

A key is bound to one role and one scope. The scope is not copied into the key
when it is created: it is read from the provider or relying party the key is
bound to each time the key is used, so narrowing a relying party's purposes
takes effect for every one of its keys at once. A key may narrow that scope
further (its own ``scope`` JSON), never widen it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from socialcredit.records.providers import ACCOUNT_PROVIDER_KINDS


class Role(StrEnum):
    PROVIDER = "provider"
    RELYING_PARTY = "relying_party"
    CASEWORKER = "caseworker"
    REGULATOR = "regulator"
    SUBJECT = "subject"
    ADMIN = "admin"


ROLES: tuple[Role, ...] = tuple(Role)

# Roles that may see a full ID number where they may read a subject at all. Everyone
# else sees ``3101**********123X``: the hidden digits are the birth date and sequence.
FULL_ID_ROLES = frozenset({Role.CASEWORKER, Role.REGULATOR, Role.ADMIN})

# The short tag in a key's visible prefix (``sc_rp_AbCd1234``); it tells an operator
# reading a log which kind of key was used without a table lookup.
ROLE_TAGS: dict[Role, str] = {
    Role.PROVIDER: "prv",
    Role.RELYING_PARTY: "rp",
    Role.CASEWORKER: "cw",
    Role.REGULATOR: "reg",
    Role.SUBJECT: "sub",
    Role.ADMIN: "adm",
}


def region_prefix(code: str) -> str:
    """The significant part of a division code: ``310000`` → ``31``, ``320500`` → ``3205``.

    Division codes pad the levels they do not name with zeros, so a region contains
    every code that starts with its significant part.
    """
    code = code.strip()
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a key's role and effective scope, resolved at authentication."""

    key_id: int
    prefix: str  # what the audit log and operators see; not enough to use the key
    role: Role
    label: str
    provider_id: int | None = None
    provider_name: str | None = None
    provider_kind: str | None = None
    # The record types the provider may furnish, narrowed by the key's scope.
    record_types: frozenset[str] = frozenset()
    # Whether the key narrows its provider's types (the importer checks the provider's).
    types_narrowed: bool = False
    # Set only when the key narrows submissions to subjects registered in a region.
    region: str | None = None
    relying_party_id: int | None = None
    relying_party_name: str | None = None
    # The party's division code: its province's measures catalogue is the one it applies.
    relying_party_region: str | None = None
    purposes: frozenset[str] = frozenset()
    subject_id: int | None = None
    subject_code: str | None = None

    @property
    def may_see_full_ids(self) -> bool:
        return self.role in FULL_ID_ROLES

    @property
    def is_account_provider(self) -> bool:
        """Only account providers (telecom, bank, postal, online service) verify real names."""
        return self.role is Role.PROVIDER and self.provider_kind in ACCOUNT_PROVIDER_KINDS
