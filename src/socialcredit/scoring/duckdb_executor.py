"""Whole-population scoring in DuckDB: the contract of ``socialcredit.scoring``, set-wise.

The policy objects are small, so they are flattened in Python into a handful of tiny
tables (and a few generated ``CASE`` expressions); everything that grows with the
population -- status as of the cut-off, windows, rule choice, bands, repeats, caps,
sums, grades, ordering and the canonical JSON -- runs in one DuckDB statement that
streams into the result file with ``COPY``. Nothing per record or per subject passes
through Python, so memory stays bounded by DuckDB's ``memory_limit``.

Two equivalences keep the SQL cheap and are checked by the conformance suite:

- ``D < add_months(d, n)`` holds exactly for ``d >= first_shown(D, n)``, because
  ``add_months`` (day clamped to the month's end) never decreases as ``d`` grows. The
  thresholds are computed once per (policy, record type) here, so the display window and
  the query bar become plain date comparisons that Parquet statistics can prune on.
- Whether a record is ``counted`` depends only on its subject and type, so a ``lag`` over
  all shown records of one subject and type equals the contract's "previous counted
  record" whenever the record itself is counted.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from socialcredit.policy import ResolvedPolicy, Rule, select_policy
from socialcredit.records.catalogue import default_catalogue
from socialcredit.scoring.executors import Progress
from socialcredit.scoring.results import REASON_COUNT
from socialcredit.scoring.snapshot_schema import TABLES

ENV_MEMORY_LIMIT = "SOCIALCREDIT_DUCKDB_MEMORY_LIMIT"
ENV_THREADS = "SOCIALCREDIT_DUCKDB_THREADS"
# Leaves room under the 3 GiB benchmark ceiling for Python, pyarrow and DuckDB's own
# allocations outside the buffer manager; anything bigger spills to the temp directory.
DEFAULT_MEMORY_LIMIT = "2GB"

COUNTED = "counted"
NOT_IN_FORCE = "category_not_in_force"
NO_RULE = "no_rule"


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, the day clamped to the month's end
    (2026-01-31 + 1 month = 2026-02-28), as DuckDB's ``date + INTERVAL n MONTH`` does."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year = day.year + years
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))


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


def _json(value: str) -> str:
    # The exact text ``results.contributions_json`` writes for a string.
    return json.dumps(value, ensure_ascii=False)


# DuckDB's ``to_json`` matches ``json.dumps(ensure_ascii=False)`` on every code point except
# nine control characters, which it escapes with upper-case hex (\u000B, Python: \u000b).
# Those never occur in real references, so they take a slow, fully hand-escaped branch.
_UPPER_HEX_CONTROLS = [0x0B, 0x0E, 0x0F, *range(0x1A, 0x20)]


def _json_string_macro() -> str:
    escaped = "replace(replace(s, '\\', '\\\\'), '\"', '\\\"')"
    for code in range(0x20):
        target = json.dumps(chr(code))[1:-1]
        escaped = f"replace({escaped}, chr({code}), {_sql_str(target)})"
    pattern = "".join(f"\\x{code:02x}" for code in _UPPER_HEX_CONTROLS)
    # regexp character classes in RE2 accept \xHH escapes.
    return (
        "CREATE OR REPLACE TEMP MACRO json_string(s) AS CASE "
        f"WHEN regexp_matches(s, '[{pattern}]') THEN '\"' || {escaped} || '\"' "
        "ELSE CAST(to_json(s) AS VARCHAR) END"
    )


@dataclass(frozen=True, slots=True)
class _TypeInfo:
    category: str
    polarity: str
    max_window_months: int


def _type_infos(policy: ResolvedPolicy) -> dict[str, _TypeInfo]:
    """Category, polarity and window of every record type a record may carry.

    A rule carries the catalogue's values for its type; a type the policy has no rule for
    still has a category and a window (its records are shown, as ``no_rule``), which only
    the catalogue can give.
    """
    infos = {
        spec.code: _TypeInfo(spec.category, spec.polarity, spec.max_window_months)
        for spec in default_catalogue().record_types
    }
    # Rules come generic first, so the first rule seen for a type is the generic one; all
    # rules of a type copy the same catalogue entry anyway.
    seen: set[str] = set()
    for rule in policy.rules:
        if rule.record_type not in seen:
            seen.add(rule.record_type)
            infos[rule.record_type] = _TypeInfo(
                rule.category, rule.polarity, rule.max_window_months
            )
    return infos


def _table(schema: pa.Schema, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


_POLICY_SCHEMA = pa.schema(
    [
        ("policy_key", pa.int32()),
        ("policy_id", pa.string()),
        ("policy_version", pa.string()),
        ("base_score", pa.int64()),
        ("grade_names", pa.list_(pa.string())),
    ]
)
_PROVINCE_SCHEMA = pa.schema([("province_code", pa.string()), ("policy_key", pa.int32())])
_TYPE_SCHEMA = pa.schema(
    [
        ("policy_key", pa.int32()),
        ("record_type", pa.string()),
        ("record_type_json", pa.string()),
        ("category", pa.string()),
        ("category_json", pa.string()),
        ("in_force", pa.bool_()),
        ("shown_from", pa.date32()),
        ("bar_from", pa.date32()),  # null: never barred (positive records)
        ("generic_rule_key", pa.int32()),
    ]
)
_RULE_SCHEMA = pa.schema(
    [
        ("rule_key", pa.int32()),
        ("policy_key", pa.int32()),
        ("record_type", pa.string()),
        ("profession", pa.string()),
        ("points", pa.int64()),
        ("has_bands", pa.bool_()),
        ("repeat_window", pa.int64()),
        ("repeat_extra", pa.int64()),
        ("cap_rank", pa.int32()),
    ]
)
_CATEGORY_SCHEMA = pa.schema(
    [
        ("policy_key", pa.int32()),
        ("category", pa.string()),
        ("category_json", pa.string()),
        ("min_points", pa.int64()),
        ("max_points", pa.int64()),
    ]
)


@dataclass(slots=True)
class _PolicyTables:
    """The used policies flattened into rows, plus the SQL that cannot be a join cheaply."""

    policies: list[dict[str, Any]]
    provinces: list[dict[str, Any]]
    types: list[dict[str, Any]]
    rules: list[dict[str, Any]]
    categories: list[dict[str, Any]]
    band_cases: list[str]  # WHEN rule_key = k THEN <band CASE>
    grade_cases: list[str]  # WHEN policy_key = k THEN <grade-rank CASE>


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
    # First band holding the score, like ResolvedPolicy.grade_for.
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


def _policy_tables(
    chosen: dict[str | None, ResolvedPolicy], as_of: dt.date
) -> _PolicyTables:
    keys: dict[int, int] = {}  # id(policy) -> policy_key
    used: list[ResolvedPolicy] = []
    provinces = []
    for province, policy in chosen.items():
        if id(policy) not in keys:
            keys[id(policy)] = len(used)
            used.append(policy)
        provinces.append({"province_code": province, "policy_key": keys[id(policy)]})
    out = _PolicyTables([], provinces, [], [], [], [], [])
    for pkey, policy in enumerate(used):
        out.policies.append(
            {
                "policy_key": pkey,
                "policy_id": policy.id,
                "policy_version": policy.version,
                "base_score": policy.base_score,
                "grade_names": [g.grade for g in policy.grades],
            }
        )
        out.grade_cases.append(_grade_case(pkey, policy))
        generic: dict[str, int] = {}
        for rule in policy.rules:
            rkey = len(out.rules)
            out.rules.append(
                {
                    "rule_key": rkey,
                    "policy_key": pkey,
                    "record_type": rule.record_type,
                    "profession": rule.profession,
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
                generic[rule.record_type] = rkey
            if rule.amount_bands:
                out.band_cases.append(_band_case(rkey, rule))
        bar_from = first_shown(as_of, 12 * policy.bar_years)
        for record_type, info in sorted(_type_infos(policy).items()):
            counts_from = policy.category(info.category).counts_from
            out.types.append(
                {
                    "policy_key": pkey,
                    "record_type": record_type,
                    "record_type_json": _json(record_type),
                    "category": info.category,
                    "category_json": _json(info.category),
                    "in_force": counts_from is not None and counts_from <= as_of,
                    "shown_from": first_shown(as_of, info.max_window_months),
                    "bar_from": bar_from if info.polarity == "negative" else None,
                    "generic_rule_key": generic.get(record_type),
                }
            )
        for cat in policy.categories:
            if cat.min_points is not None or cat.max_points is not None:
                out.categories.append(
                    {
                        "policy_key": pkey,
                        "category": cat.category,
                        "category_json": _json(cat.category),
                        "min_points": cat.min_points,
                        "max_points": cat.max_points,
                    }
                )
    return out


def _table_source(snapshot: Path, table: str) -> str | None:
    """A ``read_parquet`` call over the table's files, or None when it has none."""
    folder = snapshot / table
    single = snapshot / f"{table}.parquet"
    if folder.is_dir() and any(folder.rglob("*.parquet")):
        glob = str(folder / "**" / "*.parquet")
    elif single.is_file():
        glob = str(single)
    else:
        return None
    # Partition values stay text: a province partition "31" must not become the integer 31.
    return f"read_parquet({_sql_str(glob)}, hive_types_autocast = false)"


def _snapshot_view(con: duckdb.DuckDBPyConnection, snapshot: Path, table: str) -> None:
    schema = TABLES[table]
    source = _table_source(snapshot, table)
    if source is None:
        # An empty table (no professions yet, no status events yet) is a valid snapshot.
        con.register(f"empty_{table}", schema.empty_table())
        source = f"empty_{table}"
    types = {
        pa.int64(): "BIGINT",
        pa.int32(): "INTEGER",
        pa.string(): "VARCHAR",
        pa.date32(): "DATE",
        pa.timestamp("us"): "TIMESTAMP",
    }
    # Explicit columns and casts: extra columns (partition keys) are ignored and a file
    # written with other integer widths still compares like the schema says.
    columns = ", ".join(f"CAST({f.name} AS {types[f.type]}) AS {f.name}" for f in schema)
    con.execute(f"CREATE OR REPLACE TEMP VIEW snap_{table} AS SELECT {columns} FROM {source}")


def _scoring_sql(tables: _PolicyTables, as_of: dt.date, out: Path) -> str:
    as_of_sql = _sql_date(as_of)
    # What the system knew: recorded before the end of the as-of day (UTC).
    cutoff = f"TIMESTAMP '{(as_of + dt.timedelta(days=1)).isoformat()} 00:00:00'"
    band_points = (
        f"CASE {' '.join(tables.band_cases)} ELSE points END" if tables.band_cases else "points"
    )
    grade_rank = f"CASE {' '.join(tables.grade_cases)} END"
    record_json = (
        "'{\"base_points\":' || base_points || ',\"category\":' || category_json"
        " || ',\"kind\":\"record\",\"points\":' || points"
        " || ',\"record_id\":' || record_id"
        " || ',\"record_ref\":' || json_string(provider_id || ':' || provider_record_id)"
        " || ',\"record_type\":' || record_type_json"
        " || ',\"repeat_points\":' || repeat_points"
        " || ',\"status\":\"' || status || '\"}'"
    )
    cap_json = (
        "'{\"base_points\":0,\"category\":' || category_json"
        " || ',\"kind\":\"cap\",\"points\":' || points"
        " || ',\"repeat_points\":0,\"status\":\"cap\"}'"
    )
    return f"""
COPY (
WITH
subj AS (
    SELECT s.subject_id, p.policy_key
    FROM snap_subjects s
    JOIN pol_province p ON p.province_code IS NOT DISTINCT FROM s.province_code
),
-- A record's status is its newest event known by the cut-off (ties: highest event id).
inactive AS (
    SELECT record_id
    FROM snap_status_events
    WHERE recorded_at < {cutoff}
    GROUP BY record_id
    HAVING arg_max(status, struct_pack(t := recorded_at, e := event_id)) <> 'active'
),
held AS (
    SELECT DISTINCT subject_id, profession
    FROM snap_professions
    WHERE registered_at < {cutoff}
),
-- A profession rule beats the generic one; among several, the alphabetically first
-- profession decides (ResolvedPolicy.rule_for).
prof_rule AS (
    SELECT h.subject_id, r.record_type, arg_min(r.rule_key, r.profession) AS rule_key
    FROM held h
    JOIN subj s ON s.subject_id = h.subject_id
    JOIN pol_rule r ON r.policy_key = s.policy_key AND r.profession = h.profession
    GROUP BY h.subject_id, r.record_type
),
shown AS (
    SELECT r.record_id, r.subject_id, s.policy_key, r.record_type, r.decided_on,
           r.amount_fen, r.provider_id, r.provider_record_id,
           t.record_type_json, t.category, t.category_json, t.in_force,
           coalesce(pr.rule_key, t.generic_rule_key) AS rule_key
    FROM snap_records r
    JOIN subj s ON s.subject_id = r.subject_id
    JOIN pol_type t ON t.policy_key = s.policy_key AND t.record_type = r.record_type
    ANTI JOIN inactive i ON i.record_id = r.record_id
    LEFT JOIN prof_rule pr ON pr.subject_id = r.subject_id AND pr.record_type = r.record_type
    WHERE r.recorded_at < {cutoff}
      AND r.decided_on <= {as_of_sql}
      AND r.decided_on >= t.shown_from
      AND (t.bar_from IS NULL OR coalesce(r.conduct_ended_on, r.decided_on) >= t.bar_from)
),
ruled AS (
    SELECT sh.*,
           CASE WHEN NOT sh.in_force THEN '{NOT_IN_FORCE}'
                WHEN sh.rule_key IS NULL THEN '{NO_RULE}'
                ELSE '{COUNTED}' END AS status,
           ru.points, ru.has_bands, ru.repeat_window, ru.repeat_extra, ru.cap_rank
    FROM shown sh
    LEFT JOIN pol_rule ru ON ru.rule_key = sh.rule_key
),
based AS (
    SELECT * EXCLUDE (points, has_bands, repeat_window, repeat_extra, cap_rank),
           CASE WHEN status <> '{COUNTED}' THEN 0
                WHEN has_bands AND amount_fen IS NOT NULL THEN {band_points}
                ELSE points END AS base_points,
           CASE WHEN status = '{COUNTED}' THEN repeat_window END AS repeat_window,
           repeat_extra,
           CASE WHEN status = '{COUNTED}' THEN cap_rank END AS cap_rank
    FROM ruled
),
repeated AS (
    SELECT * EXCLUDE (repeat_window, repeat_extra),
           CASE WHEN repeat_window IS NOT NULL
                     AND decided_on - lag(decided_on) OVER (
                         PARTITION BY subject_id, record_type ORDER BY decided_on, record_id
                     ) <= repeat_window
                THEN repeat_extra ELSE 0 END AS repeat_points
    FROM based
),
records_c AS (
    SELECT *, base_points + repeat_points AS points FROM repeated
),
caps AS (
    SELECT t.subject_id, c.category, c.category_json,
           CASE WHEN c.min_points IS NOT NULL AND t.total < c.min_points
                    THEN c.min_points - t.total
                WHEN c.max_points IS NOT NULL AND t.total > c.max_points
                    THEN c.max_points - t.total END AS points
    FROM (
        SELECT subject_id, policy_key, category, sum(points) AS total
        FROM records_c
        WHERE status = '{COUNTED}'
        GROUP BY subject_id, policy_key, category
    ) t
    JOIN pol_category c ON c.policy_key = t.policy_key AND c.category = t.category
),
contrib AS (
    SELECT subject_id, points, 'record' AS kind, record_type AS type_key,
           record_id AS id_key, category, cap_rank, {record_json} AS item
    FROM records_c
    UNION ALL
    SELECT subject_id, points, 'cap', '', 0, category, NULL, {cap_json}
    FROM caps
    WHERE points IS NOT NULL
),
per_subject AS (
    SELECT subject_id, sum(points) AS total, max(cap_rank) AS cap_rank,
           list(struct_pack(item := item, nonzero := points <> 0)
                ORDER BY abs(points) DESC, points, kind, type_key, id_key, category) AS items
    FROM contrib
    GROUP BY subject_id
),
totals AS (
    SELECT s.subject_id, s.policy_key, p.policy_id, p.policy_version, p.grade_names,
           p.base_score + coalesce(a.total, 0) AS score, a.cap_rank, a.items
    FROM subj s
    JOIN pol_policy p ON p.policy_key = s.policy_key
    LEFT JOIN per_subject a ON a.subject_id = s.subject_id
),
graded AS (
    SELECT *, {grade_rank} AS band_rank FROM totals
)
SELECT
    CAST(subject_id AS BIGINT) AS subject_id,
    {as_of_sql} AS as_of,
    policy_id,
    policy_version,
    CAST(score AS BIGINT) AS score,
    grade_names[greatest(band_rank, coalesce(cap_rank, band_rank)) + 1] AS grade,
    '[' || array_to_string(list_transform(
        list_filter(coalesce(items, []), lambda x: x.nonzero)[1:{REASON_COUNT}],
        lambda x: x.item), ',') || ']' AS reasons,
    '[' || array_to_string(list_transform(coalesce(items, []), lambda x: x.item), ',')
        || ']' AS contributions
FROM graded
) TO {_sql_str(str(out))} (FORMAT parquet)
"""


class DuckDBExecutor:
    """Scores a whole snapshot in one DuckDB statement; see the module docstring."""

    name = "duckdb"

    def __init__(
        self,
        *,
        memory_limit: str | None = None,
        threads: int | None = None,
        temp_directory: Path | None = None,
    ) -> None:
        self.memory_limit = memory_limit or os.environ.get(ENV_MEMORY_LIMIT) or DEFAULT_MEMORY_LIMIT
        env_threads = os.environ.get(ENV_THREADS)
        self.threads = threads or (int(env_threads) if env_threads else None)
        self.temp_directory = temp_directory

    def score(
        self,
        snapshot: Path,
        out: Path,
        *,
        as_of: dt.date,
        policies: Sequence[ResolvedPolicy],
        progress: Progress | None = None,
    ) -> int:
        snapshot = Path(snapshot)
        out = Path(out)
        if not snapshot.is_dir():
            raise FileNotFoundError(f"{snapshot}: no snapshot directory")
        if progress is not None:
            progress(0)
        with tempfile.TemporaryDirectory(
            prefix="duckdb-spill-", dir=self.temp_directory or out.parent
        ) as spill:
            con = duckdb.connect(config=self._config(Path(spill)))
            try:
                count = self._run(con, snapshot, out, as_of, policies)
            finally:
                con.close()
        if progress is not None:
            progress(count)
        return count

    def _config(self, spill: Path) -> dict[str, str | int | bool]:
        config: dict[str, str | int | bool] = {
            "memory_limit": self.memory_limit,
            "temp_directory": str(spill),
            # Output order is not part of the contract; keeping it costs memory.
            "preserve_insertion_order": False,
        }
        if self.threads:
            config["threads"] = self.threads
        return config

    def _run(
        self,
        con: duckdb.DuckDBPyConnection,
        snapshot: Path,
        out: Path,
        as_of: dt.date,
        policies: Sequence[ResolvedPolicy],
    ) -> int:
        for table in TABLES:
            _snapshot_view(con, snapshot, table)
        provinces = [
            row[0] for row in con.execute("SELECT DISTINCT province_code FROM snap_subjects").fetchall()
        ]
        tables = _policy_tables(_choose_policies(policies, provinces, as_of), as_of)
        for name, schema, rows in (
            ("pol_policy", _POLICY_SCHEMA, tables.policies),
            ("pol_province", _PROVINCE_SCHEMA, tables.provinces),
            ("pol_type", _TYPE_SCHEMA, tables.types),
            ("pol_rule", _RULE_SCHEMA, tables.rules),
            ("pol_category", _CATEGORY_SCHEMA, tables.categories),
        ):
            con.register(f"{name}_arrow", _table(schema, rows))
            con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
        con.execute(_json_string_macro())
        row = con.execute(_scoring_sql(tables, as_of, out)).fetchone()
        return int(row[0]) if row else 0


def _choose_policies(
    policies: Sequence[ResolvedPolicy], provinces: Iterable[str | None], as_of: dt.date
) -> dict[str | None, ResolvedPolicy]:
    # select_policy per province present: the SQL only joins its answer, so the choice of
    # region, version and fallback is the policy package's alone.
    return {code: select_policy(policies, code or "", as_of) for code in provinces}
