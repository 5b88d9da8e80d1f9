"""Scoring: one policy, several executors, identical answers.

The semantics below are the contract every executor (in-process Python, DuckDB,
and later Spark) implements; the conformance suite in ``tests/scoring`` holds
them to it. A score is computed for subject S *as of* a date D:

1. **What the system knew.** Only rows recorded before the end of D count
   (``recorded_at < D + 1 day``, UTC): records, status events and professional
   profiles alike. A record's status as of D is that of its newest status event
   recorded by then (ties: highest event id), or ``active`` when it has none.
   Only ``active`` records are considered; annulled, corrected (superseded by a
   newer version), repaired and expired ones never count.
2. **Display window.** A record is shown on D when ``decided_on <= D <
   add_months(decided_on, max_window_months)`` (months added calendar-wise,
   the day clamped to the month's end, as DuckDB and Spark do). A record
   type's window, polarity and category come from the published catalogue.
3. **Query bar.** A negative record is not used once
   ``D >= add_months(coalesce(conduct_ended_on, decided_on), 12 * bar_years)``.
4. **Policy.** The regional policy of S's province in force on D, else the
   national baseline (``policy.select_policy``).
5. **Each shown record** becomes a contribution with a status:
   ``category_not_in_force`` (its category's ``counts_from`` is after D, or
   unset) and ``no_rule`` (the policy has no rule for its type) count 0;
   otherwise ``counted`` with ``base_points = rule.points_for(amount_fen)``
   (``rule_for`` picks the profession rule for S's professions).
6. **Repeats.** A counted record gets ``repeat_points = rule.repeat.extra_points``
   when another counted record of S of the same type comes before it — ordered
   by (decided_on, record_id) — and was decided at most ``window_days`` earlier.
7. **Category caps.** Where a category's counted total falls below its
   ``min_points`` (or rises above ``max_points``) a ``cap`` contribution brings
   it back to the bound.
8. **Score** = base_score + the sum of all contributions. **Grade** = the band
   holding the score, then the worst of it and every ``grade_cap`` of a counted
   record's rule.
9. **Order and reasons.** Contributions are sorted by (−|points|, points, kind,
   record_type, record_id, category); the reasons are the first four with
   non-zero points.
"""
