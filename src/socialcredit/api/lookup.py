"""Finding the subject a request names, and the checks that come before finding it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, bindparam, select

from socialcredit.access import Principal, Role
from socialcredit.api.errors import ApiError
from socialcredit.db.models import Subject
from socialcredit.identity.ids import InvalidIdError, compact, looks_like_uscc, parse_ric
from socialcredit.identity.ids import validate_uscc as _validate_uscc

_subjects = Subject.__table__
# Built once: constructing a select costs more than running it as an indexed lookup.
_BY_CODE = select(
    _subjects.c.id,
    _subjects.c.kind,
    _subjects.c.code,
    _subjects.c.name,
    _subjects.c.division_code,
    _subjects.c.province_code,
    _subjects.c.birth_date,
    _subjects.c.sex,
    _subjects.c.registered_at,
).where(_subjects.c.code == bindparam("code"))


# Far outside any policy, but inside what date arithmetic (as-of cut-offs, windows of
# years) can do without overflowing.
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2999, 12, 31)


def as_of_or_today(day: dt.date | None) -> dt.date:
    if day is None:
        return dt.date.today()
    if not EARLIEST <= day <= LATEST:
        raise ApiError(
            422, "invalid_date", f"as_of must be between {EARLIEST} and {LATEST}, not {day}"
        )
    return day


def check_full_id(principal: Principal, full_id: bool) -> None:
    if full_id and not principal.may_see_full_ids:
        raise ApiError(
            403,
            "full_id_not_allowed",
            f"a {principal.role.value} key sees masked ID numbers only",
        )


def check_own_file(principal: Principal, raw_id: str) -> None:
    """A subject reads only its own file; refused before any lookup, so the answer is the
    same whether or not the other ID is registered."""
    if principal.role is Role.SUBJECT and compact(raw_id) != principal.subject_code:
        raise ApiError(403, "out_of_scope", "a subject key reads its own file only")


def malformed(raw_id: str) -> str | None:
    """Why an ID is malformed, or None if it is a valid resident ID or credit code.

    Costs ~50 µs (stdnum) and touches no data, so it tells nobody whether the ID exists.
    """
    try:
        if looks_like_uscc(raw_id):
            _validate_uscc(raw_id)
        else:
            parse_ric(raw_id)
    except InvalidIdError as exc:
        return str(exc)
    return None


def storable_code(raw_id: str) -> str:
    """The compact form of an ID that can be looked up; 422 if it cannot be one at all.

    Only the shape is checked (the checksum comes after the lookup, see
    ``resolve_subject``), so this reveals nothing about who is registered.
    """
    code = compact(raw_id)
    if len(code) != 18:
        raise ApiError(422, "malformed_id", "an ID number or credit code has 18 characters")
    if not (code.isascii() and code.isalnum()):
        # Checked before the store sees it (PostgreSQL refuses NUL in text outright).
        raise ApiError(422, "malformed_id", "an ID number or credit code has only 0-9 and A-Z")
    return code


def check_unregistered(code: str) -> None:
    """For a code no subject has: 422 if it is malformed, else nothing (valid, unregistered)."""
    why = malformed(code)
    if why is not None:
        raise ApiError(422, "malformed_id", why)


def resolve_subject(conn: Connection, raw_id: str) -> Any | None:
    """The registered subject, None if the ID is valid but not registered; 422 if malformed.

    Looked up before it is validated: legacy credit codes that fail the GB 32100 check
    are registered through an explicit override and must still be found.
    """
    code = storable_code(raw_id)
    row = conn.execute(_BY_CODE, {"code": code}).first()
    if row is not None:
        return row
    check_unregistered(code)
    return None
