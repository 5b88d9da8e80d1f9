"""The contract's month arithmetic (clause 2) is the engines' own: ``scoring.dates.add_months``
equals DuckDB's ``date + INTERVAL n MONTH``, and the DuckDB executor's precomputed
thresholds (``first_shown``) select exactly the dates the contract's window test selects.

Not parametrised by executor: these are facts about the arithmetic every executor
relies on, checked once over many dates at a time.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.scoring.dates import add_months
from socialcredit.scoring.duckdb_executor import first_shown

# Month ends and leap days are where clamping happens; ordinary days keep it honest.
DAYS = st.one_of(
    st.dates(min_value=dt.date(2019, 1, 1), max_value=dt.date(2031, 12, 31)),
    st.builds(
        lambda year, month: dt.date(year, month, 1) - dt.timedelta(days=1),
        st.integers(2019, 2031),
        st.integers(1, 12),
    ),
    st.sampled_from([dt.date(2024, 2, 29), dt.date(2028, 2, 29), dt.date(2026, 1, 31)]),
)
MONTHS = st.sampled_from([0, 1, 3, 12, 24, 36, 60])


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(DAYS, MONTHS), min_size=1, max_size=200))
def test_add_months_is_duckdb_interval_arithmetic(cases: list[tuple[dt.date, int]]) -> None:
    table = pa.table(
        {"day": [d for d, _ in cases], "months": pa.array([n for _, n in cases], pa.int32())}
    )
    with duckdb.connect() as con:
        con.register("cases", table)
        got = con.execute(
            "SELECT CAST(day + INTERVAL (months) MONTH AS DATE) FROM cases"
        ).fetchall()
    assert [row[0] for row in got] == [add_months(d, n) for d, n in cases]


@settings(max_examples=30, deadline=None)
@given(as_of=DAYS, months=MONTHS, offsets=st.lists(st.integers(-5, 5), max_size=10))
def test_first_shown_is_the_window_threshold(
    as_of: dt.date, months: int, offsets: list[int]
) -> None:
    threshold = first_shown(as_of, months)
    assert as_of < add_months(threshold, months)
    assert add_months(threshold - dt.timedelta(days=1), months) <= as_of
    # Monotone: every later date is inside the window test, every earlier one outside.
    for offset in offsets:
        day = threshold + dt.timedelta(days=offset)
        assert (as_of < add_months(day, months)) == (day >= threshold)
