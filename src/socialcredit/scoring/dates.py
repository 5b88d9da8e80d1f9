"""Calendar arithmetic shared by every executor's semantics."""

from __future__ import annotations

import calendar
import datetime as dt


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, clamped to the end of the month
    (2026-01-31 + 1 month = 2026-02-28), as DuckDB and Spark compute it."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def cutoff(as_of: dt.date) -> dt.datetime:
    """The first instant after ``as_of`` (naive UTC): rows recorded before it count."""
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
