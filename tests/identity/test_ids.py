from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.identity.ids import (
    InvalidIdError,
    looks_like_uscc,
    mask,
    parse_ric,
    ric_check_char,
    validate_uscc,
)
from socialcredit.synth.ids import make_ric, make_uscc


def test_parse_ric_derives_birth_sex_and_birthplace() -> None:
    first17 = "33010619850317042"  # Hangzhou Xihe district, 1985-03-17, sequence 042 (even)
    number = first17 + ric_check_char(first17)
    pid = parse_ric(number)
    assert pid.birth_date == dt.date(1985, 3, 17)
    assert pid.sex == "F"
    assert pid.division_code == "330106"


def test_wrong_check_character_is_named() -> None:
    first17 = "31011519900101123"
    good = first17 + ric_check_char(first17)
    bad = first17 + ("0" if good[-1] != "0" else "1")
    with pytest.raises(InvalidIdError, match="wrong check character"):
        parse_ric(bad)


def test_birthplace_must_have_existed_in_birth_year() -> None:
    # 330106 (西湖区) exists only from 1983 in the division table.
    first17 = "33010619700101001"
    with pytest.raises(InvalidIdError, match="birthplace"):
        parse_ric(first17 + ric_check_char(first17))


def test_impossible_birth_date() -> None:
    first17 = "31010119900230001"
    with pytest.raises(InvalidIdError, match="birth date"):
        parse_ric(first17 + ric_check_char(first17))


def test_mask_keeps_province_city_and_tail() -> None:
    assert mask("31010119900101123X") == "3101**********123X"
    assert mask("91310115MA1K4A2B3C") == "9131**********2B3C"


def test_uscc_validation_and_kind_detection() -> None:
    rng = random.Random(7)
    code = make_uscc(rng, province="32")
    assert validate_uscc(code) == code
    assert looks_like_uscc(code)
    assert not looks_like_uscc(make_ric(rng, birth=dt.date(1990, 1, 1)))
    broken = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(InvalidIdError, match="wrong check character"):
        validate_uscc(broken)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), days=st.integers(0, 36500))
def test_generated_ids_always_validate(seed: int, days: int) -> None:
    rng = random.Random(seed)
    birth = dt.date(1926, 1, 1) + dt.timedelta(days=days)
    number = make_ric(rng, birth=birth, sex="M")
    pid = parse_ric(number)
    assert pid.birth_date == birth
    assert pid.sex == "M"
    assert pid.division_code[:2] in {"31", "32", "33", "34"}
