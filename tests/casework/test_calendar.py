"""Working days on the mainland calendar: 2026 Spring Festival, National Day, make-up days."""

from __future__ import annotations

import datetime as dt

import pytest

from socialcredit.casework.calendar import (
    add_working_days,
    is_holiday,
    is_working_day,
    working_days_between,
)

D = dt.date


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def test_spring_festival_2026() -> None:
    # Off from Sunday 15 to Monday 23 February; Saturdays 14 and 28 February are worked.
    assert is_working_day(D(2026, 2, 13))
    assert is_working_day(D(2026, 2, 14))
    assert all(not is_working_day(d) for d in _days(D(2026, 2, 15), D(2026, 2, 23)))
    assert is_working_day(D(2026, 2, 24))
    assert is_working_day(D(2026, 2, 28))
    assert not is_working_day(D(2026, 3, 1))  # an ordinary Sunday
    assert is_holiday(D(2026, 2, 17)) and not is_holiday(D(2026, 2, 15))


def test_national_day_2026() -> None:
    # Off 1-7 October; Sunday 20 September and Saturday 10 October are worked.
    assert is_working_day(D(2026, 9, 20))
    assert all(not is_working_day(d) for d in _days(D(2026, 10, 1), D(2026, 10, 7)))
    assert is_working_day(D(2026, 10, 8))
    assert is_working_day(D(2026, 10, 10))
    assert not is_working_day(D(2026, 10, 11))
    assert not is_working_day(D(2026, 1, 1)) and not is_working_day(D(2026, 1, 2))
    assert is_working_day(D(2026, 1, 4))  # a make-up Sunday for New Year


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (D(2026, 9, 28), 5, D(2026, 10, 10)),  # over National Day, ending on a make-up Saturday
        (D(2026, 9, 30), 1, D(2026, 10, 8)),
        (D(2026, 2, 13), 1, D(2026, 2, 14)),  # Friday to the make-up Saturday
        (D(2026, 2, 14), 1, D(2026, 2, 24)),  # over the Spring Festival
        (D(2026, 2, 14), 5, D(2026, 2, 28)),
        (D(2026, 11, 27), 1, D(2026, 11, 30)),  # an ordinary weekend
        (D(2026, 11, 28), 1, D(2026, 11, 30)),  # counting starts after the day itself
        (D(2026, 12, 30), 3, D(2027, 1, 5)),  # across the year and New Year's Day
        (D(2026, 10, 12), 0, D(2026, 10, 12)),
        (D(2026, 10, 12), -5, D(2026, 9, 29)),
    ],
)
def test_add_working_days(start: dt.date, n: int, expected: dt.date) -> None:
    assert add_working_days(start, n) == expected


def test_working_days_between() -> None:
    assert working_days_between(D(2026, 9, 28), D(2026, 10, 10)) == 5
    assert working_days_between(D(2026, 10, 10), D(2026, 9, 28)) == -5
    assert working_days_between(D(2026, 10, 1), D(2026, 10, 7)) == 0
    assert working_days_between(D(2026, 2, 1), D(2026, 2, 1)) == 0
    # 2026 has 365 days; minus weekends and holidays plus make-up days.
    year = working_days_between(D(2025, 12, 31), D(2026, 12, 31))
    assert year == sum(is_working_day(d) for d in _days(D(2026, 1, 1), D(2026, 12, 31)))
    assert 240 <= year <= 252


def test_adding_then_counting_round_trips() -> None:
    for start in _days(D(2026, 1, 1), D(2026, 12, 31))[::7]:
        for n in (1, 2, 3, 5, 10):
            assert working_days_between(start, add_working_days(start, n)) == n
