"""Resident ID numbers (GB 11643-1999) and Unified Social Credit Codes (GB 32100-2015).

Validation is delegated to python-stdnum; this module turns its exceptions into
messages an operator can act on, derives what the number encodes, and masks
numbers for display.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from stdnum.cn import ric, uscc
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)


class InvalidIdError(ValueError):
    """An ID number or credit code that fails validation; the message says why."""

    def __init__(self, number: str, reason: str) -> None:
        super().__init__(f"{reason}: {mask(number)}")
        self.number = number
        self.reason = reason


@dataclass(frozen=True)
class PersonId:
    number: str
    birth_date: dt.date
    sex: str  # "M" or "F": an odd sequence number is male
    division_code: str


def compact(number: str) -> str:
    return "".join(number.split()).upper()


def parse_ric(number: str) -> PersonId:
    """Validate a resident ID number and derive birth date, sex and birthplace."""
    number = compact(number)
    try:
        ric.validate(number)
    except InvalidLength:
        raise InvalidIdError(number, "resident ID number must have 18 characters") from None
    except InvalidFormat:
        raise InvalidIdError(
            number, "resident ID number must be 17 digits and a check character"
        ) from None
    except InvalidChecksum:
        raise InvalidIdError(number, "resident ID number has a wrong check character") from None
    except InvalidComponent:
        raise InvalidIdError(
            number, "resident ID number has an impossible birth date or an unknown birthplace code"
        ) from None
    except ValidationError as exc:  # pragma: no cover - stdnum may add new kinds
        raise InvalidIdError(number, f"invalid resident ID number ({exc})") from None
    birth = ric.get_birth_date(number)
    if birth > dt.date.today():
        raise InvalidIdError(number, "resident ID number has a birth date in the future")
    return PersonId(
        number=number,
        birth_date=birth,
        sex="M" if int(number[16]) % 2 == 1 else "F",
        division_code=number[:6],
    )


def validate_uscc(number: str) -> str:
    """Validate a Unified Social Credit Code; returns the compact form."""
    number = compact(number)
    try:
        return str(uscc.validate(number))
    except InvalidLength:
        raise InvalidIdError(number, "credit code must have 18 characters") from None
    except InvalidFormat:
        raise InvalidIdError(
            number, "credit code has characters outside 0-9A-HJ-NPQRTUWXY"
        ) from None
    except InvalidChecksum:
        raise InvalidIdError(number, "credit code has a wrong check character") from None
    except InvalidComponent:
        raise InvalidIdError(
            number, "credit code has an invalid registration department or division"
        ) from None
    except ValidationError as exc:  # pragma: no cover
        raise InvalidIdError(number, f"invalid credit code ({exc})") from None


def uscc_division(number: str) -> str:
    """The six-digit division code embedded in a credit code (characters 3-8)."""
    return compact(number)[2:8]


def looks_like_uscc(number: str) -> bool:
    """Tell the two ID kinds apart: a resident ID is 17 digits and a digit or X."""
    n = compact(number)
    return len(n) == 18 and not (n[:17].isdigit() and (n[17].isdigit() or n[17] == "X"))


def ric_check_char(first17: str) -> str:
    """The check character for 17 digits (stdnum wants all 18 characters)."""
    return str(ric.calc_check_digit(first17 + "0"))


def uscc_check_char(first17: str) -> str:
    return str(uscc.calc_check_digit(first17))


def mask(number: str) -> str:
    """Mask the middle of an ID for display: ``3101**********123X``.

    The first four characters (province and city) and the last four stay; the
    birth date and sequence, which identify the person, are hidden.
    """
    n = compact(number)
    if len(n) <= 8:
        return "*" * len(n)
    return n[:4] + "*" * (len(n) - 8) + n[-4:]


def display(number: str, *, full: bool = False) -> str:
    return compact(number) if full else mask(number)
