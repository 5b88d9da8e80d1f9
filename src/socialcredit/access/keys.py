"""API keys: created once, stored only as a SHA-256 hash, bound to a role and a scope.

The key itself is shown once, when it is created; the store keeps its hash and a
short visible prefix (``sc_rp_AbCd1234``) that identifies it in logs and in
``keys list`` but is not enough to use it. A key has 192 random bits, so a plain
SHA-256 (not a slow password hash) is enough: there is nothing to brute-force.

Every function works inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from socialcredit.access.roles import ROLE_TAGS, Principal, Role, region_prefix
from socialcredit.db.models import (
    ApiKey,
    Provider,
    ProviderRecordType,
    RelyingParty,
    Subject,
    utcnow,
)
from socialcredit.identity.ids import compact, mask

KEY_PREFIX = "sc_"
_SECRET_BYTES = 24  # 32 URL-safe characters
_VISIBLE_SECRET_CHARS = 8
# Longer than any key we issue; anything longer is refused before it is hashed.
_MAX_KEY_LENGTH = 64

_api_keys = ApiKey.__table__
_providers = Provider.__table__
_parties = RelyingParty.__table__
_subjects = Subject.__table__


class AccessError(ValueError):
    """A key that cannot be created or revoked; the message is meant for the operator."""


@dataclass(frozen=True)
class KeyInfo:
    """What ``keys list`` shows: everything about a key except the key."""

    prefix: str
    role: str
    label: str
    bound_to: str | None
    scope: dict[str, Any]
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "role": self.role,
            "label": self.label,
            "bound_to": self.bound_to,
            "scope": self.scope,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "revoked_at": (
                self.revoked_at.isoformat(timespec="seconds") if self.revoked_at else None
            ),
        }


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise AccessError(
            f"unknown role {value!r}; one of: {', '.join(r.value for r in Role)}"
        ) from None


def _purposes(text: str | None) -> frozenset[str]:
    if not text:
        return frozenset()
    data = json.loads(text)
    return frozenset(str(p) for p in data) if isinstance(data, list) else frozenset()


def _provider_types(conn: Connection, provider_id: int) -> frozenset[str]:
    return frozenset(
        conn.scalars(
            select(ProviderRecordType.record_type).where(
                ProviderRecordType.provider_id == provider_id
            )
        )
    )


def _check_scope(
    role: Role,
    scope: Mapping[str, Any],
    *,
    provider_types: frozenset[str] = frozenset(),
    party_purposes: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The key's own scope, checked to narrow (never widen) what its binding allows."""
    allowed = {
        Role.PROVIDER: {"record_types", "region"},
        Role.RELYING_PARTY: {"purposes"},
    }.get(role, set())
    extra = set(scope) - allowed
    if extra:
        raise AccessError(
            f"a {role.value} key cannot carry scope {', '.join(sorted(extra))}"
            + (f" (allowed: {', '.join(sorted(allowed))})" if allowed else "")
        )
    out: dict[str, Any] = {}
    if "record_types" in scope:
        types = sorted({str(t) for t in scope["record_types"]})
        wider = [t for t in types if t not in provider_types]
        if wider:
            raise AccessError(
                f"record types outside the provider's scope: {', '.join(wider)}; "
                "a key narrows its provider's scope, never widens it"
            )
        out["record_types"] = types
    if "purposes" in scope:
        purposes = sorted({str(p) for p in scope["purposes"]})
        wider = [p for p in purposes if p not in party_purposes]
        if wider:
            raise AccessError(
                f"purposes outside the relying party's registration: {', '.join(wider)}; "
                "a key narrows its party's purposes, never widens them"
            )
        out["purposes"] = purposes
    if "region" in scope:
        region = str(scope["region"]).strip()
        if not (region.isdigit() and len(region) in (2, 4, 6)):
            raise AccessError(f"region must be a 2-, 4- or 6-digit division code, not {region!r}")
        out["region"] = region
    return out


def create_key(
    conn: Connection,
    *,
    role: Role | str,
    label: str,
    provider: str | None = None,
    relying_party: str | None = None,
    subject: str | None = None,
    scope: Mapping[str, Any] | None = None,
) -> str:
    """Create a key and return it; this is the only time the key is ever available."""
    role = role if isinstance(role, Role) else parse_role(role)
    bindings = {"provider": provider, "relying_party": relying_party, "subject": subject}
    needed = {
        Role.PROVIDER: "provider",
        Role.RELYING_PARTY: "relying_party",
        Role.SUBJECT: "subject",
    }.get(role)
    for name, value in bindings.items():
        if name == needed and not value:
            raise AccessError(f"a {role.value} key must be bound to a {name.replace('_', ' ')}")
        if name != needed and value:
            raise AccessError(
                f"a {role.value} key cannot be bound to a {name.replace('_', ' ')}"
                + ("" if needed else f"; {role.value} keys are global")
            )
    provider_id = party_id = subject_id = None
    provider_types: frozenset[str] = frozenset()
    party_purposes: frozenset[str] = frozenset()
    if provider:
        row = conn.execute(select(_providers.c.id).where(_providers.c.name == provider)).first()
        if row is None:
            raise AccessError(f"unknown provider {provider!r}")
        provider_id = row.id
        provider_types = _provider_types(conn, row.id)
    if relying_party:
        row = conn.execute(
            select(_parties.c.id, _parties.c.purposes).where(_parties.c.name == relying_party)
        ).first()
        if row is None:
            raise AccessError(f"unknown relying party {relying_party!r}")
        party_id = row.id
        party_purposes = _purposes(row.purposes)
    if subject:
        sid = conn.scalar(select(_subjects.c.id).where(_subjects.c.code == compact(subject)))
        if sid is None:
            raise AccessError(f"no subject registered with ID {mask(compact(subject))}")
        subject_id = sid
    own_scope = _check_scope(
        role, scope or {}, provider_types=provider_types, party_purposes=party_purposes
    )
    label = label.strip()
    if not label:
        raise AccessError("label must not be empty")
    key = f"{KEY_PREFIX}{ROLE_TAGS[role]}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    prefix = key[: len(KEY_PREFIX) + len(ROLE_TAGS[role]) + 1 + _VISIBLE_SECRET_CHARS]
    conn.execute(
        insert(ApiKey).values(
            key_hash=hash_key(key),
            prefix=prefix,
            role=role.value,
            label=label[:200],
            provider_id=provider_id,
            relying_party_id=party_id,
            subject_id=subject_id,
            scope=json.dumps(own_scope, ensure_ascii=False, sort_keys=True),
            created_at=utcnow(),
        )
    )
    return key


def authenticate(conn: Connection, key: str) -> Principal | None:
    """The principal a key stands for, or None for an unknown, malformed or revoked key.

    The lookup is by the key's hash, so the database never compares the secret itself
    and response time does not depend on how much of a guessed key is right.
    """
    if not key.startswith(KEY_PREFIX) or len(key) > _MAX_KEY_LENGTH:
        return None
    digest = hash_key(key)
    k = _api_keys
    row = conn.execute(
        select(
            k.c.id,
            k.c.key_hash,
            k.c.prefix,
            k.c.role,
            k.c.label,
            k.c.scope,
            k.c.revoked_at,
            k.c.provider_id,
            k.c.relying_party_id,
            k.c.subject_id,
            _providers.c.name.label("provider_name"),
            _providers.c.kind.label("provider_kind"),
            _parties.c.name.label("party_name"),
            _parties.c.purposes.label("party_purposes"),
            _parties.c.region_code.label("party_region"),
            _subjects.c.code.label("subject_code"),
        )
        .select_from(
            k.outerjoin(_providers, _providers.c.id == k.c.provider_id)
            .outerjoin(_parties, _parties.c.id == k.c.relying_party_id)
            .outerjoin(_subjects, _subjects.c.id == k.c.subject_id)
        )
        .where(k.c.key_hash == digest)
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, digest):  # pragma: no cover - defensive
        return None
    try:
        role = Role(row.role)
    except ValueError:  # a role this code no longer knows grants nothing
        return None
    scope: dict[str, Any] = json.loads(row.scope or "{}")
    record_types: frozenset[str] = frozenset()
    if row.provider_id is not None:
        record_types = _provider_types(conn, row.provider_id)
        if "record_types" in scope:
            record_types &= frozenset(scope["record_types"])
    purposes = _purposes(row.party_purposes)
    if "purposes" in scope:
        purposes &= frozenset(scope["purposes"])
    region = scope.get("region")
    return Principal(
        key_id=row.id,
        prefix=row.prefix,
        role=role,
        label=row.label,
        provider_id=row.provider_id,
        provider_name=row.provider_name,
        provider_kind=row.provider_kind,
        record_types=record_types,
        types_narrowed="record_types" in scope,
        region=region_prefix(region) if region else None,
        relying_party_id=row.relying_party_id,
        relying_party_name=row.party_name,
        relying_party_region=row.party_region,
        purposes=purposes,
        subject_id=row.subject_id,
        subject_code=row.subject_code,
    )


def _info_query() -> Any:
    k = _api_keys
    return select(
        k.c.id,
        k.c.prefix,
        k.c.role,
        k.c.label,
        k.c.scope,
        k.c.created_at,
        k.c.revoked_at,
        _providers.c.name.label("provider_name"),
        _parties.c.name.label("party_name"),
        _subjects.c.code.label("subject_code"),
    ).select_from(
        k.outerjoin(_providers, _providers.c.id == k.c.provider_id)
        .outerjoin(_parties, _parties.c.id == k.c.relying_party_id)
        .outerjoin(_subjects, _subjects.c.id == k.c.subject_id)
    )


def _info(row: Any) -> KeyInfo:
    if row.provider_name:
        bound: str | None = f"provider {row.provider_name}"
    elif row.party_name:
        bound = f"relying party {row.party_name}"
    elif row.subject_code:
        bound = f"subject {mask(row.subject_code)}"
    else:
        bound = None
    return KeyInfo(
        prefix=row.prefix,
        role=row.role,
        label=row.label,
        bound_to=bound,
        scope=json.loads(row.scope or "{}"),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def list_keys(conn: Connection, *, include_revoked: bool = True) -> list[KeyInfo]:
    query = _info_query().order_by(_api_keys.c.id)
    if not include_revoked:
        query = query.where(_api_keys.c.revoked_at.is_(None))
    return [_info(row) for row in conn.execute(query)]


def revoke_key(conn: Connection, prefix: str) -> KeyInfo:
    """Revoke the key with this visible prefix (or the whole key); repeating it is harmless.

    Revocation is a timestamp, not a deletion: the audit log names keys by prefix,
    and an auditor must still be able to find who held one.
    """
    prefix = prefix.strip()
    if prefix.startswith(KEY_PREFIX) and len(prefix) > 16:
        # Given the whole key: find it by hash rather than trusting its prefix part.
        matches: Sequence[Any] = conn.execute(
            _info_query().where(_api_keys.c.key_hash == hash_key(prefix))
        ).all()
    else:
        matches = conn.execute(_info_query().where(_api_keys.c.prefix == prefix)).all()
    if not matches:
        raise AccessError(f"no key with prefix {prefix!r}")
    if len(matches) > 1:
        raise AccessError(f"prefix {prefix!r} matches {len(matches)} keys; give the whole key")
    info = _info(matches[0])
    if info.revoked_at is not None:
        return info
    now = utcnow()
    conn.execute(
        update(ApiKey)
        .where(ApiKey.id == matches[0].id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return KeyInfo(**{**info.__dict__, "revoked_at": now})
