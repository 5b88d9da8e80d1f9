"""``socialcredit maintain``: the idempotent daily job.

For each day it handles, in one transaction with the day's bookkeeping row
(``maintenance_runs``):

1. ends display at each record's maximum window: an ``expired`` status event dated
   on the day the window ended (scoring already stops counting the record that day by
   its date; the event puts the fact in the file, and in the list exit's reason);
2. applies the query bar (5 years after the conduct ended, Shanghai art. 35; the years
   come from the subject's policy): an ``expired`` event whose reason starts with
   ``query bar``, so the record is no longer shown to anyone;
3. completes any annulment cascade an interrupted import left undone (those whose
   status event was recorded by the end of the day: a catch-up day leaves later ones to
   the day they arrived);
4. escalates overdue objections, repair applications and annulment cascades;
5. moves list entries through notice → published → exited (``update_lists`` for the
   subjects with a transition due and those whose records changed).

Missed days are caught up one by one, oldest first, each with its own date, so every
transition is dated when it happened; days are stepped with ``timedelta(days=1)`` and
nothing is keyed on day-of-year or a year's length. A day that has its row is done:
running again for it, or for any earlier day, changes nothing. The first run ever
handles only its own day, but steps 1 and 2 look at every record, so nothing earlier is
missed. The subjects whose records changed are rescored once at the end.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from socialcredit.casework.annulments import cascade_events, escalate_annulments
from socialcredit.casework.common import (
    ADMIN,
    Actor,
    Outcome,
    audit,
    enqueue_rescore,
    rescore_now,
    table,
)
from socialcredit.casework.objections import escalate_objections
from socialcredit.casework.repair import escalate_repairs
from socialcredit.db.models import (
    MaintenanceRun,
    Record,
    RecordStatusEvent,
    RecordType,
    Subject,
    utcnow,
)
from socialcredit.policy import PolicyError, ResolvedPolicy, load_policies, select_policy
from socialcredit.policy.resolve import DEFAULT_BAR_YEARS
from socialcredit.scoring.dates import add_months, cutoff

BAR_PREFIX = "query bar"
_DAY = dt.timedelta(days=1)
# add_months clamps to the month's end, so a record can end a few days after the naive
# cut-off (2027-01-31 + 1 month = 2027-02-28): candidates are read with this margin and
# then checked exactly.
_MARGIN = dt.timedelta(days=4)
_PROVINCES = ("31", "32", "33", "34")

MAINTENANCE_ACTOR = Actor("maintenance", ADMIN)


@dataclass
class DayResult:
    day: dt.date
    expired: int = 0
    barred: int = 0
    cascades: int = 0
    escalated_objections: list[int] = field(default_factory=list)
    escalated_repairs: list[int] = field(default_factory=list)
    escalated_annulments: list[int] = field(default_factory=list)
    list_changes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "expired": self.expired,
            "barred": self.barred,
            "cascades": self.cascades,
            "escalated_objections": self.escalated_objections,
            "escalated_repairs": self.escalated_repairs,
            "escalated_annulments": self.escalated_annulments,
            "list_changes": self.list_changes,
        }


@dataclass
class MaintainResult:
    as_of: dt.date
    previous: dt.date | None  # the last day done before this run
    days: list[DayResult] = field(default_factory=list)
    rescored: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "previous": None if self.previous is None else self.previous.isoformat(),
            "days": [d.as_dict() for d in self.days],
            "rescored": self.rescored,
        }


def last_day(conn: Connection) -> dt.date | None:
    day: dt.date | None = conn.scalar(select(func.max(MaintenanceRun.day)))
    return day


def days_to_run(previous: dt.date | None, as_of: dt.date) -> list[dt.date]:
    """The days a run for ``as_of`` handles: each day after ``previous`` up to ``as_of``
    (only ``as_of`` on a first run; none if ``as_of`` is done already)."""
    if previous is None:
        return [as_of]
    days = []
    day = previous + _DAY
    while day <= as_of:
        days.append(day)
        day += _DAY
    return days


def maintain(
    engine: Engine,
    *,
    as_of: dt.date,
    actor: Actor = MAINTENANCE_ACTOR,
    on_day: Callable[[DayResult], None] | None = None,
) -> MaintainResult:
    """Bring the store up to ``as_of``, day by day; see the module docstring."""
    policies = load_policies()
    with engine.connect() as conn:
        previous = last_day(conn)
    result = MaintainResult(as_of=as_of, previous=previous)
    touched: set[int] = set()
    for day in days_to_run(previous, as_of):
        try:
            with engine.begin() as conn:
                done = _run_day(conn, day, actor, policies, previous, touched)
        except IntegrityError:
            # Another run took this day first (the day's row is unique): it does the rest.
            break
        result.days.append(done)
        previous = day
        if on_day is not None:
            on_day(done)
    if touched:
        rescore_now(engine, touched, as_of)
        result.rescored = len(touched)
    return result


def _run_day(
    conn: Connection,
    day: dt.date,
    actor: Actor,
    policies: Sequence[ResolvedPolicy],
    previous: dt.date | None,
    touched: set[int],
) -> DayResult:
    # Claimed first: a concurrent run for the same day fails here, before doing anything.
    run_id = conn.execute(
        insert(MaintenanceRun).values(day=day).returning(MaintenanceRun.id)
    ).scalar_one()
    out = DayResult(day=day)
    changed: set[int] = set()
    out.expired, out.barred = _expire(conn, day, policies, previous, changed)
    # Only what had arrived by the end of the day: a catch-up run must not date the
    # receipt and removal of an annulment on a day before it was recorded.
    cascades = cascade_events(conn, on=day, source="maintenance", recorded_before=cutoff(day))
    out.cascades = len(cascades)
    changed.update(c.subject_id for c in cascades)
    out.escalated_objections = escalate_objections(conn, day, actor)
    out.escalated_repairs = escalate_repairs(conn, day)
    out.escalated_annulments = escalate_annulments(conn, day)
    # Imported here: the lists package pulls in policy and scoring machinery.
    from socialcredit.lists import due_subjects, update_lists

    subjects = set(due_subjects(conn, day)) | changed
    if subjects:
        out.list_changes = len(update_lists(conn, subjects, day, policies=policies))
    enqueue_rescore(conn, changed)
    touched.update(changed)
    conn.execute(
        update(MaintenanceRun)
        .where(MaintenanceRun.id == run_id)
        .values(summary=json.dumps(out.as_dict()), finished_at=utcnow())
    )
    audit(conn, actor, "maintenance.day", "ok", Outcome(detail=out.as_dict()))
    return out


def _bar_years(policies: Sequence[ResolvedPolicy], day: dt.date) -> dict[str, int]:
    years: dict[str, int] = {}
    for province in _PROVINCES:
        try:
            years[province] = select_policy(policies, province, day).bar_years
        except PolicyError:
            years[province] = DEFAULT_BAR_YEARS
    return years


def _expire(
    conn: Connection,
    day: dt.date,
    policies: Sequence[ResolvedPolicy],
    previous: dt.date | None,
    changed: set[int],
) -> tuple[int, int]:
    """Steps 1 and 2; returns (display windows ended, query bars applied)."""
    r, t, s = table(Record), table(RecordType), table(Subject)
    windows: dict[int, list[str]] = defaultdict(list)
    negative: list[str] = []
    for code, months, polarity in conn.execute(
        select(t.c.code, t.c.max_window_months, t.c.polarity)
    ):
        windows[int(months)].append(code)
        if polarity == "negative":
            negative.append(code)
    max_months = {code: m for m, codes in windows.items() for code in codes}
    bars = _bar_years(policies, day)
    shortest_bar = min([*bars.values(), DEFAULT_BAR_YEARS])
    longest_bar = max([*bars.values(), DEFAULT_BAR_YEARS])
    base = func.coalesce(r.c.conduct_ended_on, r.c.decided_on)

    # Display: active records of each window length decided long enough ago.
    display = or_(
        *(
            and_(r.c.record_type.in_(codes), r.c.decided_on <= add_months(day, -m) + _MARGIN)
            for m, codes in sorted(windows.items())
        )
    )
    # Bar: negative records still active, or expired by display and whose bar falls after
    # the previous run's (those earlier are barred already: without this bound every
    # expired record would be read again each day); all of them on a first run.
    bar = and_(
        r.c.record_type.in_(negative),
        base <= add_months(day, -12 * shortest_bar) + _MARGIN,
    )
    if previous is not None:
        bar = and_(
            bar,
            or_(
                r.c.status == "active",
                base > add_months(previous, -12 * longest_bar) - _MARGIN,
            ),
        )
    rows = conn.execute(
        select(
            r.c.id,
            r.c.subject_id,
            r.c.record_type,
            r.c.decided_on,
            r.c.conduct_ended_on,
            r.c.status,
            r.c.recorded_at,
            s.c.province_code,
        )
        .join(s, s.c.id == r.c.subject_id)
        .where(
            or_(
                and_(r.c.status == "active", display),
                and_(r.c.status.in_(("active", "expired")), bar),
            )
        )
    ).all()
    if not rows:
        return 0, 0
    newest = _newest_events(conn, [row.id for row in rows])
    events: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    expired = barred = 0
    for row in rows:
        end = add_months(row.decided_on, max_months.get(row.record_type, 0))
        bar_on: dt.date | None = None
        years = bars.get(row.province_code, DEFAULT_BAR_YEARS)
        if row.record_type in negative:
            bar_on = add_months(row.conduct_ended_on or row.decided_on, 12 * years)
            if bar_on > day:
                bar_on = None
        floor = max(row.recorded_at, newest[row.id][0]) if row.id in newest else row.recorded_at
        already_barred = row.id in newest and newest[row.id][1].startswith(BAR_PREFIX)
        wrote = False
        if row.status == "active" and end <= day and (bar_on is None or end < bar_on):
            months = max_months.get(row.record_type, 0)
            floor = _add(
                events, row.id, end, floor, f"display window of {months} months ended on {end}"
            )
            expired += 1
            wrote = True
        if bar_on is not None and not already_barred:
            _add(
                events,
                row.id,
                bar_on,
                floor,
                f"{BAR_PREFIX} reached on {bar_on}: dishonesty records are not queried "
                f"{years} years after the conduct ended (上海市社会信用条例 第三十五条)",
            )
            barred += 1
            wrote = True
        if wrote:
            statuses.append({"rid": row.id})
            changed.add(int(row.subject_id))
    if events:
        conn.execute(insert(RecordStatusEvent), events)
        conn.execute(update(r).where(r.c.id == bindparam("rid")).values(status="expired"), statuses)
    return expired, barred


def _add(
    events: list[dict[str, Any]], record_id: int, on: dt.date, floor: dt.datetime, reason: str
) -> dt.datetime:
    """Queue an ``expired`` event dated on the day it took effect (never before what the
    record already has); returns its stamp, the floor of the next one."""
    at = dt.datetime.combine(on, dt.time())
    if at <= floor:
        at = floor + dt.timedelta(microseconds=1)
    events.append(
        {
            "record_id": record_id,
            "status": "expired",
            "reason": reason,
            "source": "maintenance",
            "recorded_at": at,
        }
    )
    return at


def _newest_events(conn: Connection, record_ids: list[int]) -> dict[int, tuple[dt.datetime, str]]:
    e = table(RecordStatusEvent)
    out: dict[int, tuple[dt.datetime, int, str]] = {}
    for start in range(0, len(record_ids), 5000):
        part = record_ids[start : start + 5000]
        for rid, eid, at, reason in conn.execute(
            select(e.c.record_id, e.c.id, e.c.recorded_at, e.c.reason).where(
                e.c.record_id.in_(part)
            )
        ):
            current = out.get(rid)
            if current is None or (at, eid) > current[:2]:
                out[rid] = (at, eid, reason or "")
    return {rid: (at, reason) for rid, (at, _eid, reason) in out.items()}
