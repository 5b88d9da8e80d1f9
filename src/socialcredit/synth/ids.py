"""Valid synthetic resident ID numbers and credit codes."""

from __future__ import annotations

import datetime as dt
import random

from socialcredit.identity.ids import ric_check_char, uscc_check_char
from socialcredit.synth.divisions import pick_division, pick_province

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def make_ric(
    rng: random.Random,
    *,
    birth: dt.date,
    sex: str | None = None,
    province: str | None = None,
    division: str | None = None,
) -> str:
    """An 18-character resident ID number that passes ``stdnum.cn.ric.validate``."""
    division = division or pick_division(rng, province or pick_province(rng), birth.year)
    seq = rng.randrange(0, 1000)
    if sex is not None and (seq % 2 == 1) != (sex == "M"):
        seq = (seq + 1) % 1000
    first17 = f"{division}{birth:%Y%m%d}{seq:03d}"
    return first17 + ric_check_char(first17)


def make_uscc(
    rng: random.Random, *, province: str | None = None, division: str | None = None
) -> str:
    """A Unified Social Credit Code for an enterprise (registration dept 9, type 1)."""
    division = division or pick_division(rng, province or pick_province(rng), 2015)
    org = "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    first17 = f"91{division}{org}"
    return first17 + uscc_check_char(first17)


def random_birth(
    rng: random.Random, *, today: dt.date, min_age: int = 0, max_age: int = 90
) -> dt.date:
    start = today.replace(year=today.year - max_age)
    end = today.replace(year=today.year - min_age)
    return start + dt.timedelta(days=rng.randrange((end - start).days))
