"""Access control: API keys stored as hashes, each bound to a role and a scope."""

from socialcredit.access.keys import (
    AccessError,
    KeyInfo,
    authenticate,
    create_key,
    hash_key,
    list_keys,
    parse_role,
    revoke_key,
)
from socialcredit.access.roles import FULL_ID_ROLES, ROLES, Principal, Role, region_prefix

__all__ = [
    "FULL_ID_ROLES",
    "ROLES",
    "AccessError",
    "KeyInfo",
    "Principal",
    "Role",
    "authenticate",
    "create_key",
    "hash_key",
    "list_keys",
    "parse_role",
    "region_prefix",
    "revoke_key",
]
