"""Spark SQL literals for the policy values the Spark plan inlines.

The policies are small (a few dozen types and rules, a handful of policies), so the
Spark plan carries them as constant arrays and maps instead of joined tables: constant
folding makes each lookup an array access, and no join can reshuffle or reorder the
records that the plan keeps partitioned and sorted by subject.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence


def sql_str(value: str | None) -> str:
    """A Spark SQL string literal. Spark reads backslash escapes inside quotes, so both
    the backslash and the quote are escaped."""
    if value is None:
        return "CAST(NULL AS STRING)"
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_date(value: dt.date | None) -> str:
    if value is None:
        return "CAST(NULL AS DATE)"
    return f"DATE'{value.isoformat()}'"


def sql_int(value: int | None) -> str:
    return "NULL" if value is None else str(int(value))


def sql_bool(value: bool | None) -> str:
    return "NULL" if value is None else ("TRUE" if value else "FALSE")


def array(items: Iterable[str], element_type: str) -> str:
    """``array(...)`` of already-rendered literals, cast so that empty or all-null arrays
    still have ``element_type``."""
    body = ", ".join(items)
    return f"CAST(array({body}) AS ARRAY<{element_type}>)"


def str_array(values: Sequence[str | None]) -> str:
    return array((sql_str(v) for v in values), "STRING")


def int_array(values: Sequence[int | None]) -> str:
    return array((sql_int(v) for v in values), "INT")


def bool_array(values: Sequence[bool | None]) -> str:
    return array((sql_bool(v) for v in values), "BOOLEAN")


def date_array(values: Sequence[dt.date | None]) -> str:
    return array((sql_date(v) for v in values), "DATE")


def str_int_map(entries: dict[str, int]) -> str:
    """``map(k, v, ...)`` from text to INT; an empty map keeps its types."""
    if not entries:
        return "CAST(map() AS MAP<STRING, INT>)"
    body = ", ".join(f"{sql_str(k)}, {int(v)}" for k, v in entries.items())
    return f"map({body})"


def at(array_sql: str, index_sql: str) -> str:
    """Element ``index_sql`` (0-based) of a literal array; null when the index is."""
    return f"element_at({array_sql}, ({index_sql}) + 1)"
