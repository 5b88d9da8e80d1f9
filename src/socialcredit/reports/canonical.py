"""Canonical JSON and content digests: the bytes that are signed and hashed.

Canonical JSON is ``json.dumps(value, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` encoded as UTF-8 — the same convention as the audit chain, so a
verifier in any language reproduces it with its standard JSON library. Values are
already plain JSON (dates as ISO strings): nothing is left to a ``default=`` hook.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

DIGEST_PREFIX = "sha256:"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(value: Any) -> bytes:
    return canonical_json(value).encode("utf-8")


def digest(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``."""
    return DIGEST_PREFIX + hashlib.sha256(canonical_bytes(value)).hexdigest()
