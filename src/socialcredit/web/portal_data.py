"""The subject portal's reading of a report: the score explained in plain words.

``reports.build_report`` assembles the file; this module turns its score and records
into what a person asks: what counted, by how much and under which rule, when each
record may be repaired, and when it stops counting on its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from socialcredit.records.catalogue import default_catalogue
from socialcredit.reports.model import Contribution, RecordEntry, SubjectReport
from socialcredit.scoring.dates import add_months

# What a subject may object to: what the file shows against them (the casework rule).
OBJECTABLE = ("active", "expired")


@dataclass(frozen=True)
class RecordDates:
    """When a record may be repaired and when it stops by itself."""

    repairable: bool  # the catalogue allows repair for its type (and it is negative)
    repair_from: dt.date | None  # the minimum window's end; None if not repairable
    repair_open: bool  # repair may be applied for today
    shown_until: dt.date  # the first day it is no longer shown or counted
    query_bar_from: dt.date | None


def record_dates(record: RecordEntry, today: dt.date) -> RecordDates:
    spec = default_catalogue().by_code().get(record.record_type)
    repairable = record.polarity == "negative" and spec is not None and spec.repairable
    repair_from = add_months(record.decided_on, record.window.min_months) if repairable else None
    return RecordDates(
        repairable=repairable,
        repair_from=repair_from,
        repair_open=(
            repairable
            and record.status == "active"
            and repair_from is not None
            and today >= repair_from
        ),
        shown_until=record.window.shown_until,
        query_bar_from=record.window.query_bar_from,
    )


@dataclass(frozen=True)
class Explained:
    """One line of the explanation: a record's points, or a category limit."""

    contribution: Contribution
    record: RecordEntry | None
    dates: RecordDates | None
    is_reason: bool  # one of the four reasons shown with the score


def explain(report: SubjectReport, today: dt.date) -> list[Explained]:
    """Every contribution, largest first, with its record and dates."""
    if report.score is None:
        return []
    records = {r.record_id: r for r in report.records}
    reasons = {(c.kind, c.record_id, c.category, c.points) for c in report.score.reasons}
    out = []
    for c in report.score.contributions:
        record = records.get(c.record_id) if c.record_id is not None else None
        out.append(
            Explained(
                contribution=c,
                record=record,
                dates=record_dates(record, today) if record is not None else None,
                is_reason=(c.kind, c.record_id, c.category, c.points) in reasons,
            )
        )
    return out


def objectable(report: SubjectReport) -> list[RecordEntry]:
    """Records the subject may object to now: current, counting against them, and not
    already under an open objection."""
    return [r for r in report.records if r.status in OBJECTABLE and not r.disputed]


def repairable_now(report: SubjectReport, today: dt.date) -> list[RecordEntry]:
    return [r for r in report.records if record_dates(r, today).repair_open]
