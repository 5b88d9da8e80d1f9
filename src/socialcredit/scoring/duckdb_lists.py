"""List membership in DuckDB: ``lists.decisions.list_decisions`` for a whole snapshot.

Runs after the scores are written, on the same connection (its ``snap_*`` views and
``pol_*`` tables) and reads the grades back from the result file, so the red list sees
exactly the grades that were stored. The black list needs no score at all.

The policies' list sections are flattened in Python into two tiny tables; every date that
depends only on the as-of date and a policy (the start of a red criterion's clean period,
the query bar) is computed there too, with ``scoring.dates.add_months``. Planned exits
depend on each record, so DuckDB adds the months itself; its month arithmetic clamps the
day to the month's end like ``add_months`` (the conformance suite holds it to that).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from socialcredit.policy import ResolvedPolicy
from socialcredit.records.catalogue import default_catalogue
from socialcredit.scoring.dates import add_months
from socialcredit.scoring.results import LIST_SCHEMA

_BLACK_SCHEMA = pa.schema(
    [
        ("policy_key", pa.int32()),
        ("record_type", pa.string()),
        ("criterion", pa.string()),
        ("legal_basis", pa.string()),
        ("months", pa.int32()),  # the listing period, else the type's display window
        ("bar_months", pa.int32()),
        ("notice", pa.int32()),
        ("min_age", pa.int32()),
    ]
)
_RED_SCHEMA = pa.schema(
    [
        ("policy_key", pa.int32()),
        ("criterion", pa.string()),
        ("legal_basis", pa.string()),
        ("grade", pa.string()),  # a grade at least this good (rank at most its rank)
        ("wanted_rank", pa.int32()),
        ("clean_from", pa.date32()),  # a negative record decided after this blocks
        ("notice", pa.int32()),
    ]
)
_GRADE_SCHEMA = pa.schema(
    [("policy_key", pa.int32()), ("grade", pa.string()), ("rank", pa.int32())]
)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_date(value: dt.date) -> str:
    return f"DATE '{value.isoformat()}'"


def _age(birth: str, day: str) -> str:
    # lists.decisions.age_on: whole years, a birthday not yet reached this year not counted.
    return (
        f"(year({day}) - year({birth}) - CASE WHEN month({day}) * 100 + day({day}) "
        f"< month({birth}) * 100 + day({birth}) THEN 1 ELSE 0 END)"
    )


def _add_months(day: str, months: str) -> str:
    return f"CAST({day} + to_months({months}) AS DATE)"


def _register(
    con: duckdb.DuckDBPyConnection, used: Sequence[ResolvedPolicy], as_of: dt.date
) -> None:
    windows = {spec.code: spec.max_window_months for spec in default_catalogue().record_types}
    black: list[dict[str, object]] = []
    red: list[dict[str, object]] = []
    grades: list[dict[str, object]] = []
    for key, policy in enumerate(used):
        rules = policy.lists.black
        for criterion in rules.criteria:
            for record_type in criterion.record_types:
                black.append(
                    {
                        "policy_key": key,
                        "record_type": record_type,
                        "criterion": criterion.id,
                        "legal_basis": criterion.legal_basis,
                        "months": criterion.duration_months or windows[record_type],
                        "bar_months": 12 * policy.bar_years,
                        "notice": rules.notice_working_days,
                        "min_age": rules.min_age,
                    }
                )
        ranks = {g.grade: i for i, g in enumerate(policy.grades)}
        for wanted in policy.lists.red.criteria:
            red.append(
                {
                    "policy_key": key,
                    "criterion": wanted.id,
                    "legal_basis": wanted.legal_basis,
                    "grade": wanted.grade,
                    "wanted_rank": ranks.get(wanted.grade),
                    "clean_from": add_months(as_of, -12 * wanted.clean_years),
                    "notice": policy.lists.red.notice_working_days,
                }
            )
        grades += ({"policy_key": key, "grade": g, "rank": r} for g, r in ranks.items())
    for name, schema, rows in (
        ("pol_black", _BLACK_SCHEMA, black),
        ("pol_red", _RED_SCHEMA, red),
        ("pol_grade", _GRADE_SCHEMA, grades),
    ):
        con.register(f"{name}_arrow", pa.Table.from_pylist(rows, schema=schema))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")


def lists_sql(as_of: dt.date, cutoff: str, scores: Path) -> str:
    """Every list criterion met on ``as_of``, in LIST_SCHEMA's columns and order."""
    day = _sql_date(as_of)
    ref = (
        "(coalesce(CAST(r.provider_id AS VARCHAR), 'None') || ':' "
        "|| coalesce(r.provider_record_id, 'None'))"
    )
    exit_on = (
        f"least({_add_months('r.decided_on', 'b.months')}, "
        f"{_add_months('coalesce(r.conduct_ended_on, r.decided_on)', 'b.bar_months')})"
    )
    return f"""
WITH
subj AS (
    SELECT s.subject_id, s.province_code, s.birth_date, m.policy_key, p.policy_id,
           p.policy_version, p.bar_from
    FROM snap_subjects s
    JOIN pol_province m ON m.province_code IS NOT DISTINCT FROM s.province_code
    JOIN pol_policy p ON p.policy_key = m.policy_key
),
-- A record's status is its newest event known by the cut-off (ties: highest event id).
status AS (
    SELECT record_id, arg_max(status, struct_pack(t := recorded_at, e := event_id)) AS status
    FROM snap_status_events
    WHERE recorded_at < {cutoff}
    GROUP BY record_id
),
recs AS (
    SELECT r.*, coalesce(st.status, 'active') AS status
    FROM snap_records r
    LEFT JOIN status st ON st.record_id = r.record_id
    WHERE r.recorded_at < {cutoff} AND r.decided_on <= {day}
),
black AS (
    SELECT s.subject_id, 'black' AS list_name, b.criterion, b.legal_basis, s.policy_id,
           s.policy_version, s.province_code AS origin_province,
           b.notice AS notice_working_days, r.record_id, {ref} AS record_ref,
           r.record_type, r.decided_on, {exit_on} AS planned_exit_on,
           NULL::VARCHAR AS grade
    FROM recs r
    JOIN subj s ON s.subject_id = r.subject_id
    JOIN pol_black b ON b.policy_key = s.policy_key AND b.record_type = r.record_type
    JOIN pol_type t ON t.record_type = r.record_type
    WHERE r.status = 'active'
      AND t.in_force[s.policy_key + 1]
      -- Minors are never listed, nor anyone for what they did as a minor.
      AND (s.birth_date IS NULL
           OR ({_age("s.birth_date", "r.decided_on")} >= b.min_age
               AND {_age("s.birth_date", day)} >= b.min_age))
),
-- The newest negative record that could break a red criterion's clean period: the same
-- rules of use as for scores (category switched on, query bar not reached); an expired
-- record still happened, an annulled, corrected or repaired one does not count.
blocking AS (
    SELECT r.subject_id, max(r.decided_on) AS last_negative
    FROM recs r
    JOIN subj s ON s.subject_id = r.subject_id
    JOIN pol_type t ON t.record_type = r.record_type
    WHERE t.negative
      AND r.status IN ('active', 'expired')
      AND t.in_force[s.policy_key + 1]
      AND coalesce(r.conduct_ended_on, r.decided_on) >= s.bar_from
    GROUP BY r.subject_id
),
red AS (
    SELECT s.subject_id, 'red' AS list_name, c.criterion, c.legal_basis, s.policy_id,
           s.policy_version, s.province_code AS origin_province,
           c.notice AS notice_working_days, NULL::BIGINT AS record_id,
           NULL::VARCHAR AS record_ref, NULL::VARCHAR AS record_type,
           NULL::DATE AS decided_on, NULL::DATE AS planned_exit_on, sc.grade
    FROM read_parquet({_sql_str(str(scores))}) sc
    JOIN subj s ON s.subject_id = sc.subject_id
    JOIN pol_red c ON c.policy_key = s.policy_key
    JOIN pol_grade g ON g.policy_key = s.policy_key AND g.grade = sc.grade
    LEFT JOIN blocking k ON k.subject_id = s.subject_id
    WHERE g.rank <= c.wanted_rank
      AND (k.last_negative IS NULL OR k.last_negative <= c.clean_from)
)
SELECT * FROM black WHERE {day} < planned_exit_on
UNION ALL
SELECT * FROM red
ORDER BY subject_id, list_name, criterion, coalesce(record_id, 0)
"""


def write_lists(
    con: duckdb.DuckDBPyConnection,
    used: Sequence[ResolvedPolicy],
    *,
    as_of: dt.date,
    cutoff: str,
    scores: Path,
    out: Path,
    batch_rows: int,
) -> int:
    """Write the list memberships of every subject to ``out``; returns the row count."""
    _register(con, used, as_of)
    reader = con.sql(lists_sql(as_of, cutoff, scores)).to_arrow_reader(batch_rows)
    written = 0
    with pq.ParquetWriter(out, LIST_SCHEMA) as writer:
        for batch in reader:
            # DuckDB's own types (INTEGER notice, VARCHAR) become the published schema's.
            writer.write_table(pa.Table.from_batches([batch]).cast(LIST_SCHEMA))
            written += batch.num_rows
    return written
