"""The Spark SQL of a population rescore: the contract of ``socialcredit.scoring`` (and of
``lists.decisions``) over the ``snap_*`` views, in one shuffle.

The plan, in the order Spark runs it:

1. **Map side, per file.** Records known by the cut-off and decided on or before the
   as-of date get their type rank from a constant map, their status as of the cut-off
   from a broadcast of the records whose newest status is not ``active``, and are dropped
   unless some score or list could use them (each type's ``relevant_from``, the loosest
   query bar). Subjects get their policy from their province, professions their cut-off.
2. **One shuffle.** Subjects, professions and records are united and distributed by
   subject, then sorted within each partition by (subject, row kind, category, type,
   decision date, record id). Every later step needs exactly that order or a prefix of
   it, so Spark adds no other exchange or sort:
   - a window over the subject hands its policy, birth date and professions (a bit mask
     of those with rules of their own) to each of its records;
   - a window over (subject, category, type) in decision order finds the previous shown
     record of the type (repeats); one over (subject, category) sums the counted points
     (category caps) and marks the row that carries the cap;
   - one aggregate per subject sums the score and collects the contributions (only the
     non-zero ones without ``contributions``), the black-list records and the newest
     negative record that can block the red list.
3. **Per subject,** constant arrays give the grade band and the policy's names; the
   contributions are sorted as structs in the contract's order (``sort_array``) and only
   those written out become canonical JSON, escaped in SQL like ``json.dumps`` does.

No Python runs per row: every expression is Spark SQL. Lookups by rule (points, amount
bands, repeats, grade caps) are constant arrays indexed by the rule key rather than CASE
over the rules, so an expression stays the same size however many rules a policy has.
"""

from __future__ import annotations

import datetime as dt
import json

from socialcredit.scoring.results import REASON_COUNT
from socialcredit.scoring.spark_literals import (
    array,
    at,
    bool_array,
    date_array,
    int_array,
    sql_date,
    sql_int,
    sql_str,
    str_array,
    str_int_map,
)
from socialcredit.scoring.spark_plan import PolicyPlan

# A contribution's status code, as carried between the steps.
STATUSES = ("counted", "category_not_in_force", "no_rule")
COUNTED, NOT_IN_FORCE, NO_RULE = range(len(STATUSES))
# A record's status as of the cut-off: active, expired (still blocks the red list), or
# gone (annulled, corrected, repaired: dropped before the shuffle).
ACTIVE, EXPIRED, GONE = range(3)
# Row kinds of the united stream; subjects sort first within their partition.
SUBJECT, PROFESSION, RECORD = range(3)

# The columns of a contribution struct, in sort order first (the contract's
# ``Contribution.sort_key``), then what its JSON needs.
_CONTRIB = "STRUCT<a:BIGINT,p:BIGINT,k:INT,t:INT,i:BIGINT,c:INT,b:BIGINT,r:BIGINT,s:INT,ref:STRING>"
# A list row without its subject id, in LIST_SCHEMA's order.
LIST_STRUCT = (
    "STRUCT<list_name:STRING,criterion:STRING,legal_basis:STRING,policy_id:STRING,"
    "policy_version:STRING,origin_province:STRING,notice_working_days:INT,record_id:BIGINT,"
    "record_ref:STRING,record_type:STRING,decided_on:DATE,planned_exit_on:DATE,grade:STRING>"
)
_RED_STRUCT = "STRUCT<criterion:STRING,legal_basis:STRING,rank:INT,clean_from:DATE>"


def cutoff_literal(as_of: dt.date) -> str:
    # What the system knew: recorded before the end of the as-of day (UTC).
    return f"TIMESTAMP_NTZ'{(as_of + dt.timedelta(days=1)).isoformat()} 00:00:00'"


def _json_escape(column: str) -> str:
    """``column`` escaped as ``json.dumps(ensure_ascii=False)`` escapes a string, quotes
    excluded: backslash and quote first, then each control character."""
    backslash = chr(92)
    escaped = (
        f"replace(replace({column}, {sql_str(backslash)}, {sql_str(backslash * 2)}), "
        f"{sql_str(chr(34))}, {sql_str(backslash + chr(34))})"
    )
    for code in range(0x20):
        target = json.dumps(chr(code))[1:-1]
        escaped = f"replace({escaped}, char({code}), {sql_str(target)})"
    return escaped


def _json_string(column: str) -> str:
    """``column`` as a JSON string; the escaping only runs when something needs it."""
    needs = sql_str('[\\x00-\\x1f"\\\\]')
    return (
        f"CASE WHEN {column} RLIKE {needs} THEN concat('\"', {_json_escape(column)}, '\"') "
        f"ELSE concat('\"', {column}, '\"') END"
    )


class SparkSql:
    """Renders the plan's SQL for one policy plan and as-of date."""

    def __init__(self, plan: PolicyPlan, as_of: dt.date) -> None:
        self.plan = plan
        self.as_of = as_of
        p = plan
        self.P = max(p.n_policies, 1)
        self.C = max(p.n_categories, 1)
        self.type_map = str_int_map({name: rank for rank, name in enumerate(p.type_names)})
        self.type_cat = int_array(p.type_cat)
        self.negative = bool_array(p.type_negative)
        self.shown_from = date_array(p.shown_from)
        self.relevant_from = date_array(p.relevant_from)
        self.in_force = bool_array(p.in_force)
        self.generic_rule = int_array(p.generic_rule)
        self.F = len(p.professions)
        self.prof_rules = int_array(p.profession_rules)
        self.black_crit = int_array(p.black_criterion)
        self.black_months = int_array(p.black_months)
        self.bar_from = date_array(p.bar_from)
        self.bar_months = int_array(p.bar_months)
        self.min_age = int_array([pol.lists.black.min_age for pol in p.policies])
        self.black_notice = int_array([pol.lists.black.notice_working_days for pol in p.policies])
        self.red_notice = int_array([pol.lists.red.notice_working_days for pol in p.policies])
        self.base_score = array((str(pol.base_score) for pol in p.policies), "BIGINT")
        self.policy_ids = str_array([pol.id for pol in p.policies])
        self.policy_versions = str_array([pol.version for pol in p.policies])
        self.grade_names = array(
            (str_array([g.grade for g in pol.grades]) for pol in p.policies), "ARRAY<STRING>"
        )
        self.black_ids = array((str_array(ids) for ids in p.black_ids), "ARRAY<STRING>")
        self.black_bases = array((str_array(b) for b in p.black_bases), "ARRAY<STRING>")
        self.red = array(
            (
                array(
                    (
                        f"named_struct('criterion', {sql_str(c.criterion)}, 'legal_basis', "
                        f"{sql_str(c.legal_basis)}, 'rank', {c.rank}, 'clean_from', "
                        f"{sql_date(c.clean_from)})"
                        for c in rows
                    ),
                    _RED_STRUCT,
                )
                for rows in p.red
            ),
            f"ARRAY<{_RED_STRUCT}>",
        )
        self.cat_min = int_array(p.cat_min)
        self.cat_max = int_array(p.cat_max)
        self.rule_points = array((str(r.points) for r in p.rules), "BIGINT")
        self.rule_types = str_array([r.record_type for r in p.rules])
        self.rule_bands = bool_array([bool(r.amount_bands) for r in p.rules])
        self.repeat_window = int_array(
            [r.repeat.window_days if r.repeat else None for r in p.rules]
        )
        self.repeat_extra = array(
            (str(r.repeat.extra_points) if r.repeat else "NULL" for r in p.rules), "BIGINT"
        )
        self.cap_rank = int_array(p.rule_cap_rank)
        self.type_json = str_array([json.dumps(t, ensure_ascii=False) for t in p.type_names])
        self.type_names = str_array(p.type_names)
        self.cat_json = str_array([json.dumps(c, ensure_ascii=False) for c in p.category_names])
        self.status_json = str_array([json.dumps(s) for s in STATUSES])

    # --- pieces ---------------------------------------------------------------------

    def _tp(self, tr: str = "tr", pk: str = "pk") -> str:
        """Index of (type, policy) in the flat arrays."""
        return f"{tr} * {self.P} + {pk}"

    def _policy_of_province(self) -> str:
        known = str_int_map(self.plan.province_keys)
        null_key = sql_int(self.plan.null_province_key)
        return (
            f"CASE WHEN province_code IS NULL THEN {null_key} "
            f"ELSE try_element_at({known}, province_code) END"
        )

    def _profession_bit(self) -> str:
        """A profession row's bit in the held mask; 0 for a profession without rules."""
        whens = " ".join(
            f"WHEN {sql_str(name)} THEN {1 << i}" for i, name in enumerate(self.plan.professions)
        )
        return f"CASE profession {whens} ELSE 0 END" if whens else "0"

    def _rule_key(self, tp: str) -> str:
        """ResolvedPolicy.rule_for: the rule of the alphabetically first held profession
        that has one for the type, else the generic rule."""
        whens = []
        for i in range(self.F):
            rule = at(self.prof_rules, f"({tp}) * {self.F} + {i}")
            whens.append(f"WHEN held & {1 << i} <> 0 AND {rule} IS NOT NULL THEN {rule}")
        if not whens:
            return "generic_rule"
        return f"CASE {' '.join(whens)} ELSE generic_rule END"

    def _band_points(self) -> str:
        """Rule.points_for with bands: the first band of the rule holding the amount. Bands
        sit in flat arrays at ``rule_key * K + j`` (K the most bands any rule has; shorter
        rules padded with bands that hold nothing), so the expression has K branches
        whatever the number of rules, and never repeats ``rule_key``'s own expression."""
        rules = self.plan.rules
        k = max((len(r.amount_bands) for r in rules), default=0)
        if k == 0:
            return "CAST(NULL AS BIGINT)"
        lows: list[int | None] = []
        highs: list[int | None] = []
        points: list[str] = []
        for rule in rules:
            bands = list(rule.amount_bands)
            for j in range(k):
                band = bands[j] if j < len(bands) else None
                lows.append(band.min_fen if band else None)
                # No upper bound: the largest amount a BIGINT holds, exclusive.
                highs.append(
                    (band.max_fen if band.max_fen is not None else 2**63 - 1) if band else None
                )
                points.append(str(band.points) if band else "NULL")
        low = array((sql_int(v) for v in lows), "BIGINT")
        high = array((sql_int(v) for v in highs), "BIGINT")
        pts = array(points, "BIGINT")
        whens = []
        for j in range(k):
            index = f"rule_key * {k} + {j}"
            whens.append(
                f"WHEN amount_fen >= {at(low, index)} AND amount_fen < {at(high, index)} "
                f"THEN {at(pts, index)}"
            )
        # Rule.points_for raises on an amount no band holds (only a negative one); so does this.
        fail = (
            "CAST(raise_error(concat('amount ', amount_fen, ' fen is below every band of rule ', "
            f"{at(self.rule_types, 'rule_key')})) AS BIGINT)"
        )
        return f"CASE {' '.join(whens)} ELSE {fail} END"

    def _band_rank(self) -> str:
        # The first band holding the score, like ResolvedPolicy.grade_for.
        cases = []
        for key, policy in enumerate(self.plan.policies):
            whens = []
            for rank, band in enumerate(policy.grades):
                tests = []
                if band.min_score is not None:
                    tests.append(f"score >= {band.min_score}")
                if band.max_score is not None:
                    tests.append(f"score <= {band.max_score}")
                whens.append(f"WHEN {' AND '.join(tests) or 'TRUE'} THEN {rank}")
            message = sql_str(f"{policy.ref}: grade bands do not cover ")
            fail = f"CAST(raise_error(concat({message}, score)) AS INT)"
            cases.append(f"WHEN {key} THEN CASE {' '.join(whens)} ELSE {fail} END")
        if not cases:
            return "0"
        return f"CASE pk {' '.join(cases)} END"

    def _age(self, birth: str, day: str) -> str:
        # lists.decisions.age_on: whole years, a birthday not yet reached that year not counted.
        return (
            f"(year({day}) - year({birth}) - CASE WHEN month({day}) * 100 + day({day}) "
            f"< month({birth}) * 100 + day({birth}) THEN 1 ELSE 0 END)"
        )

    def _record_json(self, x: str) -> str:
        return (
            f"concat('{{\"base_points\":', CAST({x}.b AS STRING), "
            f"',\"category\":', {at(self.cat_json, f'{x}.c')}, "
            f'\',"kind":"record","points":\', CAST({x}.p AS STRING), '
            f"',\"record_id\":', CAST({x}.i AS STRING), "
            f"',\"record_ref\":', {_json_string(f'{x}.ref')}, "
            f"',\"record_type\":', {at(self.type_json, f'{x}.t')}, "
            f"',\"repeat_points\":', CAST({x}.r AS STRING), "
            f"',\"status\":', {at(self.status_json, f'{x}.s')}, '}}')"
        )

    def _cap_json(self, x: str) -> str:
        return (
            f'concat(\'{{"base_points":0,"category":\', {at(self.cat_json, f"{x}.c")}, '
            f'\',"kind":"cap","points":\', CAST({x}.p AS STRING), '
            f'\',"repeat_points":0,"status":"cap"}}\')'
        )

    def _render(self, items: str) -> str:
        """A sorted array of contribution structs as the canonical JSON list."""
        item = f"CASE WHEN x.k = 0 THEN {self._cap_json('x')} ELSE {self._record_json('x')} END"
        return f"concat('[', array_join(transform({items}, x -> {item}), ','), ']')"

    # --- the query ------------------------------------------------------------------

    def scores_sql(self, *, contributions: bool, lists: bool) -> str:
        """One row per subject: policy, score, grade, reasons and (with ``contributions``)
        every contribution as canonical JSON; with ``lists``, its list rows as an array of
        ``LIST_STRUCT`` in the contract's order (else an empty array)."""
        day = sql_date(self.as_of)
        cutoff = cutoff_literal(self.as_of)
        tp = self._tp()
        ref = (
            "concat(coalesce(CAST(provider_id AS STRING), 'None'), ':', "
            "coalesce(provider_record_id, 'None'))"
        )
        exit_on = (
            f"least(add_months(decided_on, black_months), "
            f"add_months(ended, {at(self.bar_months, 'pk')}))"
        )
        rec_struct = (
            "named_struct('a', -abs(points), 'p', points, 'k', 1, 't', tr, 'i', record_id, "
            "'c', cat, 'b', base_points, 'r', repeat_points, 's', status, 'ref', ref)"
        )
        cap_struct = (
            "named_struct('a', -abs(cap_points), 'p', cap_points, 'k', 0, 't', -1, "
            "'i', CAST(0 AS BIGINT), 'c', cat, 'b', CAST(0 AS BIGINT), 'r', CAST(0 AS BIGINT), "
            "'s', 0, 'ref', CAST(NULL AS STRING))"
        )
        kept = "shown" if contributions else "shown AND points <> 0"
        black_struct = (
            f"named_struct('criterion', {at(at(self.black_ids, 'pk'), 'crit')}, "
            "'record_id', record_id, "
            f"'legal_basis', {at(at(self.black_bases, 'pk'), 'crit')}, "
            f"'record_ref', ref, 'record_type', {at(self.type_names, 'tr')}, "
            "'decided_on', decided_on, 'planned_exit_on', exit_on)"
        )
        if contributions:
            ordered = f"sort_array(concat(CAST(recs AS ARRAY<{_CONTRIB}>), caps))"
            reasons = self._render(f"slice(filter(ordered, x -> x.p <> 0), 1, {REASON_COUNT})")
            full = self._render("ordered")
        else:
            both = f"concat(CAST(recs AS ARRAY<{_CONTRIB}>), caps)"
            ordered = f"slice(sort_array({both}), 1, {REASON_COUNT})"
            reasons = self._render("ordered")
            full = "CAST(NULL AS STRING)"
        if lists:
            common = (
                f"'policy_id', {at(self.policy_ids, 'pk')}, "
                f"'policy_version', {at(self.policy_versions, 'pk')}, "
                "'origin_province', province"
            )
            black_rows = (
                "transform(sort_array(blacks), b -> named_struct("
                "'list_name', 'black', 'criterion', b.criterion, 'legal_basis', b.legal_basis, "
                f"{common}, 'notice_working_days', {at(self.black_notice, 'pk')}, "
                "'record_id', b.record_id, 'record_ref', b.record_ref, "
                "'record_type', b.record_type, 'decided_on', b.decided_on, "
                "'planned_exit_on', b.planned_exit_on, 'grade', CAST(NULL AS STRING)))"
            )
            red_rows = (
                f"transform(filter({at(self.red, 'pk')}, c -> grade_rank <= c.rank "
                "AND (last_negative IS NULL OR last_negative <= c.clean_from)), "
                "c -> named_struct('list_name', 'red', 'criterion', c.criterion, "
                f"'legal_basis', c.legal_basis, {common}, "
                f"'notice_working_days', {at(self.red_notice, 'pk')}, "
                "'record_id', CAST(NULL AS BIGINT), 'record_ref', CAST(NULL AS STRING), "
                "'record_type', CAST(NULL AS STRING), 'decided_on', CAST(NULL AS DATE), "
                "'planned_exit_on', CAST(NULL AS DATE), 'grade', grade))"
            )
            list_rows = (
                f"concat(CAST({black_rows} AS ARRAY<{LIST_STRUCT}>), "
                f"CAST({red_rows} AS ARRAY<{LIST_STRUCT}>))"
            )
            blacks = f"collect_list(CASE WHEN black THEN {black_struct} END)"
        else:
            list_rows = f"CAST(array() AS ARRAY<{LIST_STRUCT}>)"
            blacks = "CAST(NULL AS ARRAY<INT>)"
        return f"""
WITH
off AS (
    SELECT record_id, CASE WHEN status = 'expired' THEN {EXPIRED} ELSE {GONE} END AS st
    FROM (
        SELECT record_id,
               max_by(status, named_struct('t', recorded_at, 'e', event_id)) AS status
        FROM snap_status_events
        WHERE recorded_at < {cutoff}
        GROUP BY record_id
    )
    WHERE status <> 'active'
),
typed AS (
    SELECT subject_id, record_id, decided_on, coalesce(conduct_ended_on, decided_on) AS ended,
           amount_fen, provider_id, provider_record_id,
           try_element_at({self.type_map}, record_type) AS tr
    FROM snap_records
    WHERE recorded_at < {cutoff} AND decided_on <= {day}
),
recs AS (
    SELECT /*+ BROADCAST(o) */
           r.subject_id, {RECORD} AS row_kind, CAST(NULL AS INT) AS pk,
           CAST(NULL AS STRING) AS province_code, CAST(NULL AS DATE) AS birth_date,
           CAST(NULL AS STRING) AS profession, r.record_id, r.tr,
           {at(self.type_cat, "r.tr")} AS cat, r.decided_on, r.ended, r.amount_fen,
           r.provider_id, r.provider_record_id, coalesce(o.st, {ACTIVE}) AS st
    FROM typed r
    LEFT JOIN off o ON o.record_id = r.record_id
    WHERE r.tr IS NOT NULL
      AND r.decided_on >= {at(self.relevant_from, "r.tr")}
      AND (NOT {at(self.negative, "r.tr")} OR r.ended >= {sql_date(self.plan.min_bar_from)})
      -- Gone records count for nothing; an expired one only against the red list.
      AND (o.st IS NULL OR (o.st = {EXPIRED} AND {at(self.negative, "r.tr")}))
),
stream AS (
    SELECT subject_id, {SUBJECT} AS row_kind, {self._policy_of_province()} AS pk,
           province_code, birth_date, CAST(NULL AS INT) AS profession,
           CAST(NULL AS BIGINT) AS record_id, CAST(NULL AS INT) AS tr, CAST(NULL AS INT) AS cat,
           CAST(NULL AS DATE) AS decided_on, CAST(NULL AS DATE) AS ended,
           CAST(NULL AS BIGINT) AS amount_fen, CAST(NULL AS INT) AS provider_id,
           CAST(NULL AS STRING) AS provider_record_id, CAST(NULL AS INT) AS st
    FROM snap_subjects
    UNION ALL
    SELECT subject_id, {PROFESSION}, NULL, NULL, NULL, {self._profession_bit()}, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM snap_professions
    -- Only professions with rules of their own can change a score.
    WHERE registered_at < {cutoff} AND {self._profession_bit()} <> 0
    UNION ALL
    SELECT * FROM recs
),
sorted AS (
    SELECT * FROM stream
    DISTRIBUTE BY subject_id
    SORT BY subject_id, row_kind, cat, tr, decided_on, record_id
),
-- The subject's own facts, on each of its rows.
subject_facts AS (
    SELECT subject_id, row_kind, record_id, tr, cat, decided_on, ended, amount_fen,
           provider_id, provider_record_id, st, province_code,
           max(pk) OVER s AS pk, max(birth_date) OVER s AS birth,
           coalesce(bit_or(profession) OVER s, 0) AS held
    FROM sorted
    WINDOW s AS (PARTITION BY subject_id)
),
looked_up AS (
    SELECT *,
           {at(self.in_force, tp)} AS in_force,
           {at(self.generic_rule, tp)} AS generic_rule,
           {at(self.black_crit, tp)} AS crit,
           {at(self.black_months, tp)} AS black_months,
           {at(self.bar_from, "pk")} AS bar_from,
           {at(self.negative, "tr")} AS negative,
           {ref} AS ref
    FROM subject_facts
    WHERE row_kind <> {PROFESSION}
),
ruled AS (
    SELECT *,
           row_kind = {RECORD} AND st = {ACTIVE}
               AND decided_on >= {at(self.shown_from, "tr")}
               AND (NOT negative OR ended >= bar_from) AS shown,
           {self._rule_key(tp)}
           AS rule_key
    FROM looked_up
),
pointed AS (
    SELECT *,
           CASE WHEN NOT in_force THEN {NOT_IN_FORCE}
                WHEN rule_key IS NULL THEN {NO_RULE}
                ELSE {COUNTED} END AS status,
           CASE WHEN NOT in_force OR rule_key IS NULL THEN CAST(0 AS BIGINT)
                WHEN {at(self.rule_bands, "rule_key")} AND amount_fen IS NOT NULL
                THEN {self._band_points()}
                ELSE {at(self.rule_points, "rule_key")} END AS base_points,
           {at(self.repeat_window, "rule_key")} AS repeat_window
    FROM ruled
),
-- All shown records of one subject and type share their rule and status, so the
-- previous shown one in decision order is the contract's previous counted record.
repeated AS (
    SELECT *,
           last(CASE WHEN shown THEN decided_on END, true) OVER (
               PARTITION BY subject_id, row_kind, cat, tr ORDER BY decided_on, record_id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
           ) AS previous_on
    FROM pointed
),
pointed_2 AS (
    SELECT *, base_points + repeat_points AS points
    FROM (
        SELECT *,
               CASE WHEN shown AND status = {COUNTED}
                         AND datediff(decided_on, previous_on) <= repeat_window
                    THEN {at(self.repeat_extra, "rule_key")}
                    ELSE CAST(0 AS BIGINT) END AS repeat_points
        FROM repeated
    )
),
-- A category's counted total, and one row of it to carry the cap.
totals AS (
    SELECT *,
           sum(CASE WHEN shown AND status = {COUNTED} THEN points END) OVER (
               PARTITION BY subject_id, row_kind, cat
           ) AS cat_total,
           row_number() OVER (
               PARTITION BY subject_id, row_kind, cat ORDER BY tr, decided_on, record_id
           ) AS cat_row,
           {at(self.cat_min, f"pk * {self.C} + cat")} AS cat_min,
           {at(self.cat_max, f"pk * {self.C} + cat")} AS cat_max,
           {at(self.min_age, "pk")} AS min_age
    FROM pointed_2
),
flagged AS (
    SELECT *,
           CASE WHEN cat_row = 1 AND cat_total IS NOT NULL THEN
               CASE WHEN cat_min IS NOT NULL AND cat_total < cat_min THEN cat_min - cat_total
                    WHEN cat_max IS NOT NULL AND cat_total > cat_max THEN cat_max - cat_total
               END
           END AS cap_points,
           -- lists.decisions.black_exit, every clause of it.
           row_kind = {RECORD} AND crit IS NOT NULL AND st = {ACTIVE} AND in_force
               AND (birth IS NULL OR ({self._age("birth", "decided_on")} >= min_age
                                      AND {self._age("birth", day)} >= min_age))
               AND {day} < {exit_on} AS black,
           {exit_on} AS exit_on,
           -- lists.decisions._blocks_red, but for the clean period (compared per criterion).
           row_kind = {RECORD} AND negative AND in_force AND ended >= bar_from AS blocks_red
    FROM totals
),
per_subject AS (
    SELECT subject_id, max(pk) AS pk, max(province_code) AS province,
           max(row_kind = {SUBJECT}) AS present,
           coalesce(sum(CASE WHEN shown THEN points END), 0)
               + coalesce(sum(cap_points), 0) AS total,
           max(CASE WHEN shown AND status = {COUNTED}
                    THEN {at(self.cap_rank, "rule_key")} END) AS cap_rank,
           max(CASE WHEN blocks_red THEN decided_on END) AS last_negative,
           -- CASE, not FILTER: collect_list skips the nulls, and FILTER clauses are not
           -- honoured by every aggregate implementation Spark may pick.
           collect_list(CASE WHEN {kept} THEN {rec_struct} END) AS recs,
           CAST(collect_list(CASE WHEN cap_points IS NOT NULL THEN {cap_struct} END)
               AS ARRAY<{_CONTRIB}>) AS caps,
           {blacks} AS blacks
    FROM flagged
    GROUP BY subject_id
),
graded AS (
    SELECT *, greatest(band_rank, coalesce(cap_rank, band_rank)) AS grade_rank
    FROM (
        SELECT *, {self._band_rank()} AS band_rank
        FROM (
            SELECT *, {at(self.base_score, "pk")} + total AS score
            FROM per_subject
            WHERE present
        )
    )
),
named AS (
    SELECT *, {at(at(self.grade_names, "pk"), "grade_rank")} AS grade, {ordered} AS ordered
    FROM graded
)
SELECT subject_id, {day} AS as_of, {at(self.policy_ids, "pk")} AS policy_id,
       {at(self.policy_versions, "pk")} AS policy_version, CAST(score AS BIGINT) AS score,
       grade, {reasons} AS reasons, {full} AS contributions, {list_rows} AS lists
FROM named
-- Within each partition, by subject: the driver merges the partitions' list rows in
-- order. A local sort of one row per subject, no exchange.
SORT BY subject_id
"""

    def provinces_sql(self) -> str:
        return "SELECT DISTINCT province_code FROM snap_subjects"
