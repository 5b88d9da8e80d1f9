"""Verification codes: 16 characters of Crockford base32, shown as ``XXXX-XXXX-XXXX-XXXX``.

80 random bits: nobody finds a valid code by trying, so the online check needs no
rate limit to protect the certificates it knows. Crockford's alphabet has no I, L, O or
U, and reading a code back forgives the usual slips (O for 0, I or L for 1, any case,
dashes and spaces anywhere).
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 16
_GROUP = 4
_SLIPS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    """A fresh code in its stored form (16 characters, no dashes)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def format_code(code: str) -> str:
    return "-".join(code[i : i + _GROUP] for i in range(0, len(code), _GROUP))


def normalise_code(text: str) -> str | None:
    """The stored form of a code as someone typed it, or None if it cannot be one."""
    if len(text) > 40:
        return None
    code = "".join(text.split()).replace("-", "").upper().translate(_SLIPS)
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code
