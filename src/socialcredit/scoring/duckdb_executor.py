"""Whole-population scoring in DuckDB: the contract of ``socialcredit.scoring``, set-wise.

The policies are small, so they are flattened in Python into a handful of tiny tables
(and a few generated ``CASE`` expressions and list literals); everything that grows
with the population runs in DuckDB:

- **Pass 1** (one scan of the records): status as of the cut-off, display window, query
  bar, policy by province, category rollout, rule choice (profession rules first), amount
  bands. One narrow row per shown record, tagged with a hash bucket of its subject.
- **Pass 2** (one bucket of subjects at a time): repeats, category caps, score, grade
  and grade caps, each contribution's canonical JSON; a header row per subject and its
  contributions, sorted by subject and the contract's order. Python only cuts this
  sorted stream into subjects and joins the JSON items with vectorised Arrow kernels,
  writing the result file batch by batch.

Buckets bound memory (``records_per_pass``): the JSON text of contributions is the
largest thing in flight, and only one bucket's is. With a single bucket, pass 1 feeds
pass 2 directly instead of through files.

Equivalences that keep the SQL cheap (the conformance suite holds them to the contract):

- ``D < add_months(d, n)`` holds exactly for ``d >= first_shown(D, n)``, because
  ``add_months`` (day clamped to the month's end) never decreases as ``d`` grows. The
  thresholds are computed once per record type (display window) and per policy (query
  bar), so both tests become plain date comparisons that Parquet statistics can prune on.
- Whether a record is ``counted``, and under which rule, depends only on its subject and
  type, so a ``lag`` over the shown records of one subject and type that have a repeat
  rule is the contract's "previous counted record".
- Record types and categories travel as their rank in Python's sorted order of the
  names, so sorting by rank sorts like ``Contribution.sort_key`` does, on integers.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from socialcredit.policy import ResolvedPolicy, Rule, select_policy
from socialcredit.records.catalogue import default_catalogue
from socialcredit.scoring.dates import add_months
from socialcredit.scoring.duckdb_lists import write_lists
from socialcredit.scoring.executors import Progress
from socialcredit.scoring.results import REASON_COUNT, RESULT_SCHEMA
from socialcredit.scoring.snapshot_schema import TABLES

ENV_MEMORY_LIMIT = "SOCIALCREDIT_DUCKDB_MEMORY_LIMIT"
ENV_THREADS = "SOCIALCREDIT_DUCKDB_THREADS"
ENV_RECORDS_PER_PASS = "SOCIALCREDIT_DUCKDB_RECORDS_PER_PASS"
# Leaves room under the 3 GiB benchmark ceiling for Python, pyarrow and DuckDB's own
# allocations outside the buffer manager; anything bigger spills to the temp directory.
DEFAULT_MEMORY_LIMIT = "2GB"
# Pass 2 holds a bucket's contributions (JSON text and sort keys) and sorts them. Measured
# under the default limit with half of all records shown: 3.3M records a pass peaked at
# 1.9 GB RSS, one 10M-record pass ran out of memory; this leaves a margin.
DEFAULT_RECORDS_PER_PASS = 3_000_000
# Contribution rows per Arrow batch handed to Python: some tens of MB of JSON text.
DEFAULT_BATCH_ROWS = 100_000

# A contribution's status, as stored between the passes.
STATUSES = ("counted", "category_not_in_force", "no_rule")
COUNTED, NOT_IN_FORCE, NO_RULE = range(len(STATUSES))


def first_shown(as_of: dt.date, months: int) -> dt.date:
    """The earliest ``d`` with ``as_of < add_months(d, months)``; every later ``d`` has it too.

    ``add_months(d, n)`` is non-decreasing in ``d``, so the dates satisfying the contract's
    window test form an up-set and a single threshold describes it exactly.
    """
    # The first day of the month ``months + 1`` before as_of's month lands, after adding
    # ``months``, in the month before as_of: certainly not past it. Walk forward from there.
    years, month0 = divmod(as_of.month - 1 - months - 1, 12)
    day = dt.date(as_of.year + years, month0 + 1, 1)
    while add_months(day, months) <= as_of:
        day += dt.timedelta(days=1)
    return day


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_date(value: dt.date) -> str:
    return f"DATE '{value.isoformat()}'"


def _sql_list(values: Iterable[str]) -> str:
    return "([" + ", ".join(_sql_str(v) for v in values) + "]::VARCHAR[])"


def _json(value: str) -> str:
    # The exact text ``results.contributions_json`` writes for a string.
    return json.dumps(value, ensure_ascii=False)


def _json_escape_sql(column: str) -> str:
    """SQL escaping ``column`` exactly as ``json.dumps(ensure_ascii=False)`` does, quotes
    excluded: backslash and quote first, then each control character."""
    escaped = f"replace(replace({column}, '\\', '\\\\'), '\"', '\\\"')"
    for code in range(0x20):
        target = json.dumps(chr(code))[1:-1]
        escaped = f"replace({escaped}, chr({code}), {_sql_str(target)})"
    return escaped


@dataclass(frozen=True, slots=True)
class _TypeInfo:
    category: str
    polarity: str
    max_window_months: int


def _type_infos() -> dict[str, _TypeInfo]:
    """Category, polarity and display window of every catalogue record type.

    Taken from the catalogue, as the in-process evaluator does (``catalogue_view``): a
    record of a type the policy has no rule for is still shown (as ``no_rule``), and only
    the catalogue knows its window. Rules copy these values, so for a resolved policy
    both sources agree; a counted record reports its rule's category, again like the
    evaluator.
    """
    return {
        spec.code: _TypeInfo(spec.category, spec.polarity, spec.max_window_months)
        for spec in default_catalogue().record_types
    }


_POLICY_SCHEMA = pa.schema(
    [
        ("policy_key", pa.int32()),
        ("policy_id", pa.string()),
        ("policy_version", pa.string()),
        ("base_score", pa.int64()),
        # Negative records decided (or ended) before this date are barred.
        ("bar_from", pa.date32()),
        ("grade_names", pa.list_(pa.string())),  # best first: index = grade rank + 1
    ]
)
_PROVINCE_SCHEMA = pa.schema([("province_code", pa.string()), ("policy_key", pa.int32())])
# One row per record type; what depends on the policy is a list indexed by policy_key + 1,
# so joining records to it can never multiply rows, whatever join order DuckDB picks.
_TYPE_SCHEMA = pa.schema(
    [
        ("record_type", pa.string()),
        ("type_rank", pa.int16()),
        ("cat_rank", pa.int16()),
        ("negative", pa.bool_()),
        ("shown_from", pa.date32()),
        ("in_force", pa.list_(pa.bool_())),
        ("generic_rule", pa.list_(pa.int32())),
    ]
)
_RULE_SCHEMA = pa.schema(
    [
        ("rule_key", pa.int32()),
        ("policy_key", pa.int32()),
        ("record_type", pa.string()),
        ("profession", pa.string()),
        ("cat_rank", pa.int16()),
        ("points", pa.int64()),
        ("has_bands", pa.bool_()),
        ("repeat_window", pa.int64()),
        ("repeat_extra", pa.int64()),
        ("cap_rank", pa.int32()),
    ]
)
# Categories with a floor or a ceiling, per policy.
_CATEGORY_SCHEMA = pa.schema(
    [
        ("policy_key", pa.int32()),
        ("cat_rank", pa.int16()),
        ("min_points", pa.int64()),
        ("max_points", pa.int64()),
    ]
)


@dataclass(slots=True)
class _PolicyTables:
    """The used policies flattened into rows, plus the SQL that is better not a join."""

    policies: list[dict[str, Any]] = field(default_factory=list)
    provinces: list[dict[str, Any]] = field(default_factory=list)
    types: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    band_cases: list[str] = field(default_factory=list)  # WHEN rule_key = k THEN <CASE>
    grade_cases: list[str] = field(default_factory=list)  # WHEN policy_key = k THEN <CASE>
    type_names: list[str] = field(default_factory=list)  # by rank: Python's sorted order
    category_names: list[str] = field(default_factory=list)  # likewise
    # No record decided before this is shown under any type: a filter Parquet can prune on.
    earliest_shown: dt.date = dt.date.max
    used: list[ResolvedPolicy] = field(default_factory=list)  # by policy_key


def _band_case(rule_key: int, rule: Rule) -> str:
    whens = []
    for band in rule.amount_bands:
        test = f"amount_fen >= {band.min_fen}"
        if band.max_fen is not None:
            test += f" AND amount_fen < {band.max_fen}"
        whens.append(f"WHEN {test} THEN {band.points}")
    # Rule.points_for raises on an amount no band holds; so does the SQL.
    message = _sql_str(f"{rule.record_type}: amount ")
    fail = f"error({message} || amount_fen || ' fen is below every band')"
    return f"WHEN rule_key = {rule_key} THEN CASE {' '.join(whens)} ELSE {fail} END"


def _grade_case(policy_key: int, policy: ResolvedPolicy) -> str:
    # The first band holding the score, like ResolvedPolicy.grade_for.
    whens = []
    for rank, band in enumerate(policy.grades):
        tests = []
        if band.min_score is not None:
            tests.append(f"score >= {band.min_score}")
        if band.max_score is not None:
            tests.append(f"score <= {band.max_score}")
        whens.append(f"WHEN {' AND '.join(tests) or 'TRUE'} THEN {rank}")
    fail = f"error({_sql_str(policy.ref + ': grade bands do not cover ')} || score)"
    return f"WHEN policy_key = {policy_key} THEN CASE {' '.join(whens)} ELSE {fail} END"


def _policy_tables(chosen: dict[str | None, ResolvedPolicy], as_of: dt.date) -> _PolicyTables:
    out = _PolicyTables()
    keys: dict[int, int] = {}  # id(policy) -> policy_key
    used = out.used
    for province, policy in chosen.items():
        if id(policy) not in keys:
            keys[id(policy)] = len(used)
            used.append(policy)
        out.provinces.append({"province_code": province, "policy_key": keys[id(policy)]})
    infos = _type_infos()
    out.type_names = sorted(infos)
    out.category_names = sorted(
        {i.category for i in infos.values()}
        | {r.category for p in used for r in p.rules}
        | {c.category for p in used for c in p.categories}
    )
    type_rank = {name: rank for rank, name in enumerate(out.type_names)}
    cat_rank = {name: rank for rank, name in enumerate(out.category_names)}
    generic: list[dict[str, int]] = []  # per policy_key: record type -> generic rule_key
    for pkey, policy in enumerate(used):
        out.policies.append(
            {
                "policy_key": pkey,
                "policy_id": policy.id,
                "policy_version": policy.version,
                "base_score": policy.base_score,
                "bar_from": first_shown(as_of, 12 * policy.bar_years),
                "grade_names": [g.grade for g in policy.grades],
            }
        )
        out.grade_cases.append(_grade_case(pkey, policy))
        generic.append({})
        for rule in policy.rules:
            rkey = len(out.rules)
            out.rules.append(
                {
                    "rule_key": rkey,
                    "policy_key": pkey,
                    "record_type": rule.record_type,
                    "profession": rule.profession,
                    "cat_rank": cat_rank[rule.category],
                    "points": rule.points,
                    "has_bands": bool(rule.amount_bands),
                    "repeat_window": rule.repeat.window_days if rule.repeat else None,
                    "repeat_extra": rule.repeat.extra_points if rule.repeat else None,
                    "cap_rank": (
                        policy.grade_rank(rule.grade_cap) if rule.grade_cap is not None else None
                    ),
                }
            )
            if rule.profession is None:
                generic[pkey][rule.record_type] = rkey
            if rule.amount_bands:
                out.band_cases.append(_band_case(rkey, rule))
        for cat in policy.categories:
            if cat.min_points is not None or cat.max_points is not None:
                out.categories.append(
                    {
                        "policy_key": pkey,
                        "cat_rank": cat_rank[cat.category],
                        "min_points": cat.min_points,
                        "max_points": cat.max_points,
                    }
                )
    for record_type, info in infos.items():
        in_force = []
        for policy in used:
            counts_from = policy.category(info.category).counts_from
            in_force.append(counts_from is not None and counts_from <= as_of)
        shown_from = first_shown(as_of, info.max_window_months)
        out.earliest_shown = min(out.earliest_shown, shown_from)
        out.types.append(
            {
                "record_type": record_type,
                "type_rank": type_rank[record_type],
                "cat_rank": cat_rank[info.category],
                "negative": info.polarity == "negative",
                "shown_from": shown_from,
                "in_force": in_force,
                "generic_rule": [g.get(record_type) for g in generic],
            }
        )
    return out


def _run_sql(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    # Fetching everything completes the result, which the connection needs before the next
    # statement.
    rows: list[tuple[Any, ...]] = con.execute(sql).fetchall()
    return rows


_SQL_TYPES = {
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.string(): "VARCHAR",
    pa.date32(): "DATE",
    pa.timestamp("us"): "TIMESTAMP",
}


def _snapshot_view(con: duckdb.DuckDBPyConnection, snapshot: Path, table: str) -> None:
    """``snap_<table>``: the table's Parquet files (hive partitions allowed), or an empty
    table of its schema when it has none (no professions yet, no status events yet)."""
    schema = TABLES[table]
    folder = snapshot / table
    if folder.is_dir() and any(folder.rglob("*.parquet")):
        glob = _sql_str(str(folder / "**" / "*.parquet"))
        # Partition values stay text: a province partition "31" must not become 31.
        source = f"read_parquet({glob}, hive_types_autocast = false)"
    else:
        con.register(f"empty_{table}", schema.empty_table())
        source = f"empty_{table}"
    # Explicit columns and casts: extra columns (partition keys) are ignored and a file
    # written with other integer widths still compares like the schema says.
    columns = ", ".join(f"CAST({f.name} AS {_SQL_TYPES[f.type]}) AS {f.name}" for f in schema)
    _run_sql(con, f"CREATE OR REPLACE TEMP VIEW snap_{table} AS SELECT {columns} FROM {source}")


def _cutoff(as_of: dt.date) -> str:
    # What the system knew: recorded before the end of the as-of day (UTC).
    return f"TIMESTAMP '{(as_of + dt.timedelta(days=1)).isoformat()} 00:00:00'"


def _stage_select(tables: _PolicyTables, as_of: dt.date, buckets: int) -> str:
    """Pass 1: every shown record, with what pass 2 needs from the policy, in narrow rows
    tagged with a hash bucket of the subject (all that pass 2 does is per subject)."""
    cutoff = _cutoff(as_of)
    band_points = (
        f"CASE {' '.join(tables.band_cases)} ELSE points END" if tables.band_cases else "points"
    )
    # Python formats a missing value as "None"; the store never has one, but the answer
    # must not depend on the engine even then.
    ref = (
        "(coalesce(CAST(provider_id AS VARCHAR), 'None') || ':' "
        "|| coalesce(provider_record_id, 'None'))"
    )
    return f"""
WITH
held AS (
    SELECT DISTINCT subject_id, profession
    FROM snap_professions
    WHERE registered_at < {cutoff}
),
-- Per subject holding a profession with its own rules: record type -> the rule that wins.
-- A profession rule beats the generic one; among several, the alphabetically first
-- profession decides (ResolvedPolicy.rule_for).
prof_rules AS (
    SELECT subject_id, map_from_entries(list(struct_pack(k := record_type, v := rule_key)))
               AS rules
    FROM (
        SELECT h.subject_id, r.record_type, arg_min(r.rule_key, r.profession) AS rule_key
        FROM held h
        JOIN snap_subjects s ON s.subject_id = h.subject_id
        JOIN pol_province m ON m.province_code IS NOT DISTINCT FROM s.province_code
        JOIN pol_rule r ON r.policy_key = m.policy_key AND r.profession = h.profession
        GROUP BY h.subject_id, r.record_type
    )
    GROUP BY subject_id
),
subj AS (
    SELECT s.subject_id, p.policy_key, p.bar_from, pr.rules AS prof_rules
    FROM snap_subjects s
    JOIN pol_province m ON m.province_code IS NOT DISTINCT FROM s.province_code
    JOIN pol_policy p ON p.policy_key = m.policy_key
    LEFT JOIN prof_rules pr ON pr.subject_id = s.subject_id
),
-- A record's status is its newest event known by the cut-off (ties: highest event id).
inactive AS (
    SELECT record_id
    FROM snap_status_events
    WHERE recorded_at < {cutoff}
    GROUP BY record_id
    HAVING arg_max(status, struct_pack(t := recorded_at, e := event_id)) <> 'active'
),
shown AS (
    SELECT r.record_id, r.subject_id, s.policy_key, t.type_rank, t.cat_rank, r.decided_on,
           r.amount_fen, r.provider_id, r.provider_record_id,
           t.in_force[s.policy_key + 1] AS in_force,
           coalesce(s.prof_rules[r.record_type], t.generic_rule[s.policy_key + 1])
               AS rule_key
    FROM snap_records r
    JOIN pol_type t ON t.record_type = r.record_type
    JOIN subj s ON s.subject_id = r.subject_id
    ANTI JOIN inactive i ON i.record_id = r.record_id
    WHERE r.recorded_at < {cutoff}
      AND r.decided_on <= {_sql_date(as_of)}
      AND r.decided_on >= {_sql_date(tables.earliest_shown)}
      AND r.decided_on >= t.shown_from
      AND (NOT t.negative OR coalesce(r.conduct_ended_on, r.decided_on) >= s.bar_from)
),
ruled AS (
    SELECT sh.* EXCLUDE (cat_rank, in_force),
           CASE WHEN NOT sh.in_force THEN {NOT_IN_FORCE}
                WHEN sh.rule_key IS NULL THEN {NO_RULE}
                ELSE {COUNTED} END AS status,
           -- Whether the category is switched on is the catalogue category's business;
           -- a counted record is filed (and capped) under its rule's category.
           CASE WHEN sh.in_force AND sh.rule_key IS NOT NULL
                THEN ru.cat_rank ELSE sh.cat_rank END AS cat_rank,
           ru.points, ru.has_bands, ru.repeat_window, ru.repeat_extra, ru.cap_rank
    FROM shown sh
    LEFT JOIN pol_rule ru ON ru.rule_key = sh.rule_key
)
SELECT hash(subject_id) % {buckets} AS bucket,
       subject_id, record_id, policy_key, type_rank, cat_rank, decided_on, status,
       CASE WHEN status <> {COUNTED} THEN 0
            WHEN has_bands AND amount_fen IS NOT NULL THEN {band_points}
            ELSE points END AS base_points,
       CASE WHEN status = {COUNTED} THEN repeat_window END AS repeat_window,
       repeat_extra,
       CASE WHEN status = {COUNTED} THEN cap_rank END AS cap_rank,
       -- DuckDB writes nine control characters as upper-case \\u00XX where Python writes
       -- lower case; those (and a literal backslash-u00, whose escape also contains it)
       -- take the hand-made escape.
       CASE WHEN contains(ref_fast, '\\u00') THEN '"' || {_json_escape_sql(ref)} || '"'
            ELSE ref_fast END AS ref_json
FROM (SELECT *, CAST(to_json({ref}) AS VARCHAR) AS ref_fast FROM ruled)
"""


def _record_json(tables: _PolicyTables, col: str) -> str:
    """A record contribution's canonical JSON from its columns (``col`` prefixes them)."""
    type_json = _sql_list(_json(t) for t in tables.type_names)
    cat_json = _sql_list(_json(c) for c in tables.category_names)
    status_json = _sql_list(_json(s) for s in STATUSES)
    return f"""concat(
               '{{"base_points":', {col}base_points,
               ',"category":', {cat_json}[{col}cat_rank + 1],
               ',"kind":"record","points":', {col}points,
               ',"record_id":', {col}record_id,
               ',"record_ref":', {col}ref_json,
               ',"record_type":', {type_json}[{col}type_rank + 1],
               ',"repeat_points":', {col}repeat_points,
               ',"status":', {status_json}[{col}status + 1], '}}'
           )"""


def _cap_json(tables: _PolicyTables, col: str) -> str:
    """A cap contribution's canonical JSON from its columns (``col`` prefixes them)."""
    cat_json = _sql_list(_json(c) for c in tables.category_names)
    return f"""concat(
               '{{"base_points":0,"category":', {cat_json}[{col}cat_rank + 1],
               ',"kind":"cap","points":', {col}points,
               ',"repeat_points":0,"status":"cap"}}'
           )"""


def _scoring_ctes(source: str, bucket: int, buckets: int) -> str:
    """Pass 2's common part, for the subjects of one bucket: ``subj``, ``records_c``
    (shown records with their repeat points) and ``caps``."""
    return f"""
subj AS (
    SELECT s.subject_id, m.policy_key
    FROM snap_subjects s
    JOIN pol_province m ON m.province_code IS NOT DISTINCT FROM s.province_code
    WHERE hash(s.subject_id) % {buckets} = {bucket}
),
recs AS (SELECT * FROM {source}),
-- All records of one subject and type share the rule and whether they count, so the
-- previous one in the partition is the contract's previous counted record.
repeats AS (
    SELECT record_id,
           CASE WHEN decided_on - lag(decided_on) OVER (
                         PARTITION BY subject_id, type_rank ORDER BY decided_on, record_id
                     ) <= repeat_window
                THEN repeat_extra ELSE 0 END AS repeat_points
    FROM recs
    WHERE repeat_window IS NOT NULL
),
records_c AS (
    SELECT c.* EXCLUDE (repeat_window, repeat_extra),
           coalesce(rp.repeat_points, 0) AS repeat_points,
           c.base_points + coalesce(rp.repeat_points, 0) AS points
    FROM recs c
    LEFT JOIN repeats rp ON rp.record_id = c.record_id
),
caps AS (
    SELECT subject_id, cat_rank,
           CASE WHEN min_points IS NOT NULL AND total < min_points THEN min_points - total
                WHEN max_points IS NOT NULL AND total > max_points THEN max_points - total
           END AS points
    FROM (
        SELECT r.subject_id, r.cat_rank, any_value(c.min_points) AS min_points,
               any_value(c.max_points) AS max_points, sum(r.points) AS total
        FROM records_c r
        JOIN pol_category c ON c.policy_key = r.policy_key AND c.cat_rank = r.cat_rank
        WHERE r.status = {COUNTED}
        GROUP BY r.subject_id, r.cat_rank
    )
)
"""


def _graded_cte(tables: _PolicyTables) -> str:
    """``graded``: ``per_subject`` joined to its policy, with the band of its score."""
    # No policy at all only when there are no subjects; the CASE still has to parse.
    grade_rank = f"CASE {' '.join(tables.grade_cases)} END" if tables.grade_cases else "0"
    return f"""
graded AS (
    SELECT *, {grade_rank} AS band_rank
    FROM (
        SELECT a.*, p.policy_id, p.policy_version,
               p.grade_names, p.base_score + coalesce(a.total, 0) AS score
        FROM per_subject a
        JOIN pol_policy p ON p.policy_key = a.policy_key
    )
)"""


_GRADE = "grade_names[greatest(band_rank, coalesce(cap_rank, band_rank)) + 1]"


def _bucket_sql(
    tables: _PolicyTables, as_of: dt.date, source: str, bucket: int, buckets: int
) -> str:
    """Pass 2 with every contribution, for the subjects of one bucket.

    Rows come sorted by subject: first a header (policy, score, grade), then every
    contribution as canonical JSON in the contract's order; ``_assemble`` joins them.
    """
    return f"""
WITH
{_scoring_ctes(source, bucket, buckets)},
-- kind: 0 cap, 1 record ('cap' < 'record'); a cap's record type '' sorts before all.
contrib AS (
    SELECT subject_id, points, cap_rank, 1 AS kind, type_rank, record_id AS id_key,
           cat_rank,
           {_record_json(tables, "")} AS item
    FROM records_c
    UNION ALL
    SELECT subject_id, points, NULL, 0, -1, 0, cat_rank,
           {_cap_json(tables, "")}
    FROM caps
    WHERE points IS NOT NULL
),
-- Every subject, with contributions or without, passes through one aggregate.
per_subject AS (
    SELECT subject_id, max(policy_key) AS policy_key, sum(points) AS total,
           max(cap_rank) AS cap_rank
    FROM (
        SELECT subject_id, NULL::INTEGER AS policy_key, points, cap_rank FROM contrib
        UNION ALL
        SELECT subject_id, policy_key, NULL, NULL FROM subj
    )
    GROUP BY subject_id
),
{_graded_cte(tables)}
SELECT subject_id, 0 AS part, policy_id, policy_version, CAST(score AS BIGINT) AS score,
       {_GRADE} AS grade,
       NULL::VARCHAR AS item, NULL::BOOLEAN AS nonzero,
       NULL::BIGINT AS points, NULL::INTEGER AS kind, NULL::SMALLINT AS type_rank,
       NULL::BIGINT AS id_key, NULL::SMALLINT AS cat_rank
FROM graded
UNION ALL
SELECT subject_id, 1, NULL, NULL, NULL, NULL, item, points <> 0,
       points, kind, type_rank, id_key, cat_rank
FROM contrib
ORDER BY subject_id, part, -abs(points), points, kind, type_rank, id_key, cat_rank
"""


def _reasons_sql(
    tables: _PolicyTables, as_of: dt.date, source: str, bucket: int, buckets: int
) -> str:
    """Pass 2 without the full list, for the subjects of one bucket: one finished row per
    subject (policy, score, grade, reasons as canonical JSON), in no particular order.

    Nothing is sorted and no contribution becomes JSON unless it is a reason: the same
    aggregate that sums a subject's points keeps its ``REASON_COUNT`` first non-zero
    contributions in the contract's order (a top-k ``min_by`` on the sort key, which
    returns them smallest key first), and only those are rendered.
    """
    item = (
        f"CASE WHEN x.kind = 0 THEN {_cap_json(tables, 'x.')} ELSE {_record_json(tables, 'x.')} END"
    )
    return f"""
WITH
{_scoring_ctes(source, bucket, buckets)},
-- kind: 0 cap, 1 record ('cap' < 'record'); a cap's record type '' sorts before all.
contrib AS (
    SELECT subject_id, points, cap_rank, 1 AS kind, type_rank, record_id AS id_key,
           cat_rank, base_points, repeat_points, status, ref_json
    FROM records_c
    UNION ALL
    SELECT subject_id, points, NULL, 0, -1, 0, cat_rank, 0, 0, NULL, NULL
    FROM caps
    WHERE points IS NOT NULL
),
-- Every subject, with contributions or without, passes through one aggregate.
per_subject AS (
    SELECT subject_id, max(policy_key) AS policy_key, sum(points) AS total,
           max(cap_rank) AS cap_rank,
           min_by(
               struct_pack(kind := kind, points := points, cat_rank := cat_rank,
                           type_rank := type_rank, record_id := id_key,
                           base_points := base_points, repeat_points := repeat_points,
                           status := status, ref_json := ref_json),
               struct_pack(a := -abs(points), p := points, k := kind, t := type_rank,
                           i := id_key, c := cat_rank),
               {REASON_COUNT}
           ) FILTER (WHERE points <> 0) AS top
    FROM (
        SELECT subject_id, NULL::INTEGER AS policy_key, points, cap_rank, kind, type_rank,
               id_key, cat_rank, base_points, repeat_points, status, ref_json
        FROM contrib
        UNION ALL
        SELECT subject_id, policy_key, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL
        FROM subj
    )
    GROUP BY subject_id
),
{_graded_cte(tables)}
SELECT subject_id, policy_id, policy_version, CAST(score AS BIGINT) AS score,
       {_GRADE} AS grade,
       '[' || coalesce(array_to_string(list_transform(top, lambda x: {item}), ','), '')
           || ']' AS reasons
FROM graded
"""


def _run_starts(subject_ids: pa.Array) -> pa.BooleanArray:
    """True where a run of equal subject ids begins (ids arrive sorted)."""
    if len(subject_ids) == 0:
        return pa.array([], type=pa.bool_())
    changed = pc.not_equal(subject_ids.slice(1), subject_ids.slice(0, len(subject_ids) - 1))
    return pa.concat_arrays([pa.array([True]), changed])


def _json_lists(items: pa.Array, keep: pa.BooleanArray, starts: pa.Array) -> pa.Array:
    """Per run, ``[item,item,...]`` over its kept items, in their order."""
    kept = pc.cast(keep, pa.int64())
    before = pc.subtract(pc.cumulative_sum(kept), kept)  # kept items before each row
    total = pa.array([pc.sum(kept).as_py() or 0], type=pa.int64())
    offsets = pa.concat_arrays([before.take(starts), total])
    lists = pa.LargeListArray.from_arrays(offsets, items.filter(keep))
    joined = pc.binary_join_element_wise(
        pa.scalar("["), pc.binary_join(lists, ","), pa.scalar("]"), ""
    )
    return pc.cast(joined, pa.string())


def _assemble(rows: pa.Table, as_of: dt.date) -> pa.RecordBatch:
    """One result row per subject from its header row and sorted contribution rows."""
    rows = rows.combine_chunks()
    is_start = _run_starts(rows.column("subject_id").combine_chunks())
    starts = pc.indices_nonzero(is_start)  # each subject's header row
    items = rows.column("item").combine_chunks()
    present = items.is_valid()
    nonzero = pc.and_(present, pc.fill_null(rows.column("nonzero").combine_chunks(), False))
    # The first REASON_COUNT non-zero contributions of a subject are its reasons: rank
    # each non-zero one within its subject.
    counted = pc.cast(nonzero, pa.int64())
    running = pc.cumulative_sum(counted)
    before = pc.subtract(running, counted).take(starts)
    subject_of_row = pc.subtract(pc.cumulative_sum(pc.cast(is_start, pa.int64())), 1)
    rank = pc.subtract(running, before.take(subject_of_row))
    reasons = pc.and_(nonzero, pc.less_equal(rank, REASON_COUNT))
    headers = rows.take(starts)
    return pa.RecordBatch.from_arrays(
        [
            headers.column("subject_id").combine_chunks().cast(pa.int64()),
            pa.array([as_of] * len(starts), type=pa.date32()),
            headers.column("policy_id").combine_chunks().cast(pa.string()),
            headers.column("policy_version").combine_chunks().cast(pa.string()),
            headers.column("score").combine_chunks().cast(pa.int64()),
            headers.column("grade").combine_chunks().cast(pa.string()),
            _json_lists(items, reasons, starts),
            _json_lists(items, present, starts),
        ],
        schema=RESULT_SCHEMA,
    )


def _write_sorted(reader: pa.RecordBatchReader, writer: pq.ParquetWriter, as_of: dt.date) -> int:
    """Stream sorted rows into result rows; a subject's rows may straddle two batches, so
    the last subject of each batch waits for the next one."""
    written = 0
    pending: pa.Table | None = None
    for batch in reader:
        rows = pa.Table.from_batches([batch])
        if pending is not None:
            rows = pa.concat_tables([pending, rows])
        starts = pc.indices_nonzero(_run_starts(rows.column("subject_id").combine_chunks()))
        last = starts[-1].as_py() if len(starts) else 0
        pending = rows.slice(last)
        if last:
            result = _assemble(rows.slice(0, last), as_of)
            writer.write_batch(result)
            written += result.num_rows
    if pending is not None and pending.num_rows:
        result = _assemble(pending, as_of)
        writer.write_batch(result)
        written += result.num_rows
    return written


def _write_reasons(reader: pa.RecordBatchReader, writer: pq.ParquetWriter, as_of: dt.date) -> int:
    """Stream finished rows (one per subject, reasons included) into the result file, the
    ``contributions`` column null."""
    written = 0
    for batch in reader:
        n = batch.num_rows
        if not n:
            continue
        result = pa.RecordBatch.from_arrays(
            [
                batch.column("subject_id").cast(pa.int64()),
                pa.array([as_of] * n, type=pa.date32()),
                batch.column("policy_id").cast(pa.string()),
                batch.column("policy_version").cast(pa.string()),
                batch.column("score").cast(pa.int64()),
                batch.column("grade").cast(pa.string()),
                batch.column("reasons").cast(pa.string()),
                pa.nulls(n, type=pa.string()),
            ],
            schema=RESULT_SCHEMA,
        )
        writer.write_batch(result)
        written += n
    return written


class DuckDBExecutor:
    """Scores a whole snapshot in DuckDB; see the module docstring.

    ``records_per_pass`` bounds memory: subjects are split into hash buckets of about
    that many records, pass 1 writes each bucket's shown records to its own files, and
    pass 2 scores one bucket at a time. ``passes`` fixes the number of buckets instead
    (tests use it to take the multi-pass path on tiny inputs).
    """

    name = "duckdb"

    def __init__(
        self,
        *,
        memory_limit: str | None = None,
        threads: int | None = None,
        temp_directory: Path | None = None,
        records_per_pass: int | None = None,
        passes: int | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> None:
        self.memory_limit = memory_limit or os.environ.get(ENV_MEMORY_LIMIT) or DEFAULT_MEMORY_LIMIT
        env_threads = os.environ.get(ENV_THREADS)
        self.threads = threads or (int(env_threads) if env_threads else None)
        self.temp_directory = temp_directory
        env_pass = os.environ.get(ENV_RECORDS_PER_PASS)
        self.records_per_pass = records_per_pass or (
            int(env_pass) if env_pass else DEFAULT_RECORDS_PER_PASS
        )
        self.passes = passes
        self.batch_rows = batch_rows

    def score(
        self,
        snapshot: Path,
        out: Path,
        *,
        as_of: dt.date,
        policies: Sequence[ResolvedPolicy],
        progress: Progress | None = None,
        contributions: bool = False,
        lists_out: Path | None = None,
    ) -> int:
        """Score every subject of ``snapshot`` into ``out``; ``progress`` is told how many
        more subjects are done (0 at the start, then after each pass over a bucket).

        With ``contributions`` every contribution is rendered and ordered; without, only
        the reasons are (``_reasons_sql``), which is most of the saving."""
        snapshot = Path(snapshot)
        out = Path(out)
        if not snapshot.is_dir():
            raise FileNotFoundError(f"{snapshot}: no snapshot directory")
        if progress is not None:
            progress(0)
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(
            prefix="socialcredit-duckdb-", dir=self.temp_directory or out.parent
        ) as work:
            con = duckdb.connect(config=self._config(Path(work) / "spill"))
            try:
                return self._run(
                    con,
                    snapshot,
                    out,
                    Path(work) / "stage",
                    as_of,
                    policies,
                    progress,
                    contributions,
                    None if lists_out is None else Path(lists_out),
                )
            finally:
                con.close()

    def _config(self, spill: Path) -> dict[str, str | bool | int | float | list[str]]:
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": self.memory_limit,
            "temp_directory": str(spill),
            # Row order is not part of the contract; keeping it costs memory.
            "preserve_insertion_order": False,
            # Joins run as written, the big side probing a hash table of the small one.
            # DuckDB's estimate of the records left after the date filters is far too
            # low, and with it the optimiser would build a hash table of the shown
            # records (all of them) to probe with the subjects.
            "disabled_optimizers": "join_order,build_side_probe_side",
        }
        if self.threads:
            config["threads"] = self.threads
        return config

    def _run(
        self,
        con: duckdb.DuckDBPyConnection,
        snapshot: Path,
        out: Path,
        stage: Path,
        as_of: dt.date,
        policies: Sequence[ResolvedPolicy],
        progress: Progress | None,
        contributions: bool,
        lists_out: Path | None,
    ) -> int:
        for table in TABLES:
            _snapshot_view(con, snapshot, table)
        provinces = [
            row[0] for row in _run_sql(con, "SELECT DISTINCT province_code FROM snap_subjects")
        ]
        tables = _policy_tables(_choose_policies(policies, provinces, as_of), as_of)
        for name, schema, rows in (
            ("pol_policy", _POLICY_SCHEMA, tables.policies),
            ("pol_province", _PROVINCE_SCHEMA, tables.provinces),
            ("pol_type", _TYPE_SCHEMA, tables.types),
            ("pol_rule", _RULE_SCHEMA, tables.rules),
            ("pol_category", _CATEGORY_SCHEMA, tables.categories),
        ):
            con.register(f"{name}_arrow", pa.Table.from_pylist(rows, schema=schema))
            _run_sql(con, f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
        buckets = self.passes
        if buckets is None:
            records = int(_run_sql(con, "SELECT count(*) FROM snap_records")[0][0])
            buckets = max(1, -(-records // self.records_per_pass))
        staged = _stage_select(tables, as_of, buckets)
        if buckets == 1:
            # Everything fits one pass: pass 2 reads pass 1's rows straight from its query.
            sources = [f"(SELECT * EXCLUDE (bucket) FROM ({staged}))"]
        else:
            _run_sql(
                con,
                f"COPY ({staged}) TO {_sql_str(str(stage))} "
                "(FORMAT parquet, PARTITION_BY (bucket))",
            )
            # A bucket without shown records has no files: it reads an empty table.
            _run_sql(con, f"CREATE TEMP TABLE stage_empty AS SELECT * FROM ({staged}) WHERE false")
            sources = []
            for bucket in range(buckets):
                folder = stage / f"bucket={bucket}"
                sources.append(
                    f"read_parquet({_sql_str(str(folder / '*.parquet'))})"
                    if folder.is_dir()
                    else "(SELECT * EXCLUDE (bucket) FROM stage_empty)"
                )
        count = 0
        with pq.ParquetWriter(out, RESULT_SCHEMA) as writer:
            for bucket, source in enumerate(sources):
                if contributions:
                    query = con.sql(_bucket_sql(tables, as_of, source, bucket, buckets))
                    done = _write_sorted(query.to_arrow_reader(self.batch_rows), writer, as_of)
                else:
                    query = con.sql(_reasons_sql(tables, as_of, source, bucket, buckets))
                    done = _write_reasons(query.to_arrow_reader(self.batch_rows), writer, as_of)
                count += done
                if progress is not None:
                    progress(done)
        if lists_out is not None:
            write_lists(
                con,
                tables.used,
                as_of=as_of,
                cutoff=_cutoff(as_of),
                scores=out,
                out=lists_out,
                batch_rows=self.batch_rows,
            )
        return count


def _choose_policies(
    policies: Sequence[ResolvedPolicy], provinces: Iterable[str | None], as_of: dt.date
) -> dict[str | None, ResolvedPolicy]:
    # select_policy per province present: the SQL only joins its answer, so the choice of
    # region, version and fallback is the policy package's alone. A subject without a
    # province (none should exist) gets what select_policy gives a province with no policy.
    return {code: select_policy(policies, code or "", as_of) for code in provinces}
