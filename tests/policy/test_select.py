"""Which policy applies: province first, then the national baseline; by date and version."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from socialcredit.policy import NoPolicyInForceError, load_policies, select_policy
from socialcredit.policy.select import find_policy

D = dt.date


@pytest.mark.parametrize(
    ("province", "as_of", "expected"),
    [
        ("31", D(2026, 4, 1), "cn-31-shanghai@2026.1"),
        ("31", D(2026, 12, 31), "cn-31-shanghai@2026.1"),
        ("31", D(2027, 1, 1), "cn-31-shanghai@2027.1"),  # effective_until is exclusive
        ("31", D(2030, 6, 1), "cn-31-shanghai@2027.1"),
        ("32", D(2026, 5, 1), "cn-32-jiangsu@2026.1"),
        ("33", D(2027, 5, 1), "cn-33-zhejiang@2026.1"),
        ("34", D(2026, 4, 1), "cn-34-anhui@2026.1"),
        ("11", D(2026, 4, 1), "cn-national@2026.1"),  # Beijing: outside the pilot zone
        ("44", D(2028, 1, 1), "cn-national@2026.1"),
    ],
)
def test_select_by_province_and_date(province: str, as_of: dt.date, expected: str) -> None:
    assert select_policy(load_policies(), province, as_of).ref == expected


@pytest.mark.parametrize("province", ["31", "32", "11"])
def test_no_policy_before_the_measures_take_effect(province: str) -> None:
    with pytest.raises(NoPolicyInForceError, match="2026-03-31") as info:
        select_policy(load_policies(), province, D(2026, 3, 31))
    assert info.value.as_of == D(2026, 3, 31)
    assert "the earliest takes effect on 2026-04-01" in str(info.value)


def test_highest_version_in_force_wins() -> None:
    national = find_policy(load_policies(), "cn-national@2026.1")
    newer = dataclasses.replace(national, version="2026.10", effective_from=D(2026, 9, 1))
    older_but_listed_last = dataclasses.replace(national, version="2026.9")
    pool = [newer, national, older_but_listed_last]
    assert select_policy(pool, "11", D(2026, 8, 31)).version == "2026.9"
    # Versions compare numerically: 2026.10 is newer than 2026.9.
    assert select_policy(pool, "11", D(2026, 9, 1)).version == "2026.10"


def test_regional_policy_out_of_force_falls_back_to_national() -> None:
    policies = [p for p in load_policies() if p.ref != "cn-31-shanghai@2027.1"]
    assert select_policy(policies, "31", D(2027, 1, 1)).ref == "cn-national@2026.1"


def test_no_policy_at_all_for_an_empty_set() -> None:
    with pytest.raises(NoPolicyInForceError, match="no policy in force on 2026-04-01"):
        select_policy([], "31", D(2026, 4, 1))


def test_find_policy_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"known: cn-31-shanghai@2026\.1"):
        find_policy(load_policies(), "cn-31-shanghai@2099.1")
