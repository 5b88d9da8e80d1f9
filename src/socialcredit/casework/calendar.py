"""Mainland-China working days: weekends and public holidays off, make-up Saturdays and
Sundays on.

Every deadline of due process (notice before publication, objections, deletion after
performance) is counted in working days. The State Council moves days each year: a
holiday is stretched into a week and one or two weekend days around it become working
days (调休). Both come from the ``holidays`` package: its days off, and its
``weekend_workdays``. A year the State Council has not announced yet (each arrangement is
published in November for the year after) has only the statutory holidays and no make-up
days until the package is updated.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays

_DAY = dt.timedelta(days=1)


@lru_cache(maxsize=64)
def _year(year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """Days off and make-up working days of one calendar year."""
    # A make-up day can fall in the year before its holiday (a Sunday in late December
    # worked for the New Year), so the following year's arrangement is read as well.
    cn = holidays.country_holidays("CN", years=(year, year + 1))
    days_off = frozenset(d for d in cn if d.year == year)
    workdays = frozenset(d for d in cn.weekend_workdays if d.year == year)
    return days_off, workdays


def is_working_day(day: dt.date) -> bool:
    days_off, workdays = _year(day.year)
    if day.weekday() >= 5:
        return day in workdays
    return day not in days_off


def is_holiday(day: dt.date) -> bool:
    """A public holiday or a day off moved by the State Council (not a plain weekend)."""
    return day in _year(day.year)[0]


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The ``n``-th working day after ``day`` (before it when ``n`` is negative).

    ``day`` itself never counts, whether or not it is a working day, so a case opened on a
    Saturday and due "within 1 working day" is due on Monday (or on the make-up Saturday
    after, if that comes first). ``n == 0`` returns ``day``.
    """
    step = _DAY if n >= 0 else -_DAY
    remaining = abs(n)
    while remaining:
        day += step
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end``; negative when ``end`` is
    before ``start``. ``working_days_between(d, add_working_days(d, n)) == n`` for n >= 0."""
    if end < start:
        return -working_days_between(end, start)
    count = 0
    day = start
    while day < end:
        day += _DAY
        if is_working_day(day):
            count += 1
    return count
