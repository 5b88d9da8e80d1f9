"""What the public disclosure site reads: published list entries, list statistics and the
providers' accuracy figures.

The visibility rule is the one ``lists.views`` applies for the API (published entries
only, none past its planned exit); ``tests/web/test_public_data.py`` holds the two to
the same answer. This module adds what the pages need beyond it: a search by masked ID
(``3101**********123X``), the decision behind an entry, and aggregates. Every ID leaves
here masked.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, or_, select

from socialcredit.db.models import (
    ImportBatch,
    ListEntry,
    Objection,
    Provider,
    Record,
    RecordStatusEvent,
    RecordType,
    Subject,
)
from socialcredit.identity.ids import compact, mask
from socialcredit.lists import PUBLISHED
from socialcredit.measures import Measure, select_catalogue
from socialcredit.measures import load_measures as _load_measures

MAX_QUERY = 100
_CODE_CHARS = set("0123456789ABCDEFGHJKLMNPQRTUWXY")


# The one masked shape the site prints (``identity.ids.mask``, for resident ID numbers
# and credit codes alike): 4 characters, 10 stars, 4 characters.
_KEPT = 4
_ID_LENGTH = 18


@dataclass(frozen=True)
class Search:
    """A parsed public search: a name fragment, an organisation's credit code, or a
    masked ID."""

    kind: str  # name | code | masked
    value: str  # the name fragment, the compact credit code, or the masked ID
    prefix: str = ""
    suffix: str = ""

    @property
    def echo(self) -> str:
        """What the search box shows again: a code is shown masked, so that not even the
        reader's own input puts a full number on a public page."""
        return mask(self.value) if self.kind == "code" else self.value

    @property
    def link(self) -> str:
        """The query that links to other pages of this search (the pager) carry: the
        same search, so page 2 continues page 1. A name or a masked ID as given; a credit
        code whole (an organisation's code is public, and its search is exact)."""
        return self.value


def _is_resident_id_shape(code: str) -> bool:
    """17 digits and a digit or X: a resident ID number (or an all-digit credit code,
    which the public search cannot tell from one)."""
    return (
        len(code) == _ID_LENGTH and code[:-1].isdigit() and (code[-1].isdigit() or code[-1] == "X")
    )


def parse_search(text: str | None) -> Search | None:
    """None for an empty query; ``ValueError`` for one that cannot be a search.

    The public search reveals nothing about an ID number beyond its masked form, which
    the list prints anyway:

    - a masked ID is accepted only in the printed shape (``3101**********123X``: 4
      characters, 10 stars, 4 characters): knowing more characters of a number than the
      list shows must not narrow a search, or a number could be recovered one guessed
      character at a time;
    - a whole resident ID number is searched as its masked form, never matched exactly
      (an exact match would confirm a guessed number);
    - an organisation's Unified Social Credit Code, which is public, is matched exactly.
    """
    if text is None or not text.strip():
        return None
    raw = text.strip()
    if len(raw) > MAX_QUERY or not raw.isprintable():
        raise ValueError("query too long or with control characters")
    code = compact(raw).replace("＊", "*")
    if "*" in code:
        prefix, stars, suffix = code[:_KEPT], code[_KEPT:-_KEPT], code[-_KEPT:]
        if (
            len(code) != _ID_LENGTH
            or stars != "*" * (_ID_LENGTH - 2 * _KEPT)
            or not set(prefix + suffix) <= _CODE_CHARS
        ):
            raise ValueError("a masked ID keeps 4 characters at each end and 10 stars between")
        return Search("masked", code, prefix=prefix, suffix=suffix)
    if _is_resident_id_shape(code):
        masked = mask(code)
        return Search("masked", masked, prefix=masked[:_KEPT], suffix=masked[-_KEPT:])
    if len(code) == _ID_LENGTH and set(code) <= _CODE_CHARS:
        return Search("code", code)
    return Search("name", raw)


@dataclass(frozen=True)
class PublicRow:
    entry_id: int
    list_name: str
    subject: str  # masked
    name: str
    subject_kind: str
    criterion: str
    legal_basis: str
    origin_province: str
    policy: str
    entered_on: dt.date
    published_on: dt.date | None
    planned_exit_on: dt.date | None


def _public(list_name: str, today: dt.date) -> Any:
    return (
        select(
            ListEntry.id,
            ListEntry.list_name,
            Subject.code,
            Subject.name,
            Subject.kind,
            ListEntry.criterion,
            ListEntry.legal_basis,
            ListEntry.origin_province,
            ListEntry.policy_id,
            ListEntry.policy_version,
            ListEntry.entered_on,
            ListEntry.published_on,
            ListEntry.planned_exit_on,
            ListEntry.record_id,
        )
        .join(Subject, Subject.id == ListEntry.subject_id)
        .where(
            ListEntry.list_name == list_name,
            ListEntry.status == PUBLISHED,
            or_(ListEntry.planned_exit_on.is_(None), ListEntry.planned_exit_on > today),
        )
    )


def _searched(query: Any, search: Search | None) -> Any:
    if search is None:
        return query
    if search.kind == "code":
        # Organisations only: a credit code is public, a person's number is not (and a
        # resident ID never parses as a code: see ``parse_search``).
        return query.where(Subject.code == search.value, Subject.kind == "organisation")
    if search.kind == "masked":
        return query.where(
            Subject.code.startswith(search.prefix, autoescape=True),
            Subject.code.endswith(search.suffix, autoescape=True),
            func.length(Subject.code) == 18,
        )
    return query.where(Subject.name.contains(search.value, autoescape=True))


def _row(r: Any) -> PublicRow:
    return PublicRow(
        entry_id=r.id,
        list_name=r.list_name,
        subject=mask(r.code),
        name=r.name,
        subject_kind=r.kind,
        criterion=r.criterion,
        legal_basis=r.legal_basis,
        origin_province=r.origin_province,
        policy=f"{r.policy_id}@{r.policy_version}",
        entered_on=r.entered_on,
        published_on=r.published_on,
        planned_exit_on=r.planned_exit_on,
    )


def search_entries(
    conn: Connection,
    list_name: str,
    search: Search | None,
    *,
    today: dt.date,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[PublicRow], int]:
    """A page of published entries, newest publication first, and how many match."""
    query = _searched(_public(list_name, today), search)
    total = int(conn.scalar(query.with_only_columns(func.count())) or 0)
    rows = conn.execute(
        query.order_by(ListEntry.published_on.desc(), ListEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_row(r) for r in rows], total


@dataclass(frozen=True)
class EntryDetail:
    entry: PublicRow
    subject_id: int  # for the audit entry; never shown
    record_type: str | None
    record_title: str | None
    category: str | None
    decision_ref: str | None
    decided_on: dt.date | None
    issuing_body: str | None
    issuing_body_kind: str | None
    measures: tuple[Measure, ...]


def entry_detail(
    conn: Connection, list_name: str, entry_id: int, *, today: dt.date
) -> EntryDetail | None:
    """One published entry with the decision behind it; None if it is not public."""
    row = conn.execute(
        _public(list_name, today).add_columns(ListEntry.subject_id).where(ListEntry.id == entry_id)
    ).first()
    if row is None:
        return None
    record = None
    if row.record_id is not None:
        record = conn.execute(
            select(
                Record.record_type,
                Record.decision_ref,
                Record.decided_on,
                Provider.name.label("provider"),
                Provider.kind.label("provider_kind"),
                RecordType.title,
                RecordType.category,
            )
            .join(Provider, Provider.id == Record.provider_id)
            .outerjoin(RecordType, RecordType.code == Record.record_type)
            .where(Record.id == row.record_id)
        ).first()
    return EntryDetail(
        entry=_row(row),
        subject_id=row.subject_id,
        record_type=record.record_type if record else None,
        record_title=record.title if record else None,
        category=record.category if record else None,
        decision_ref=record.decision_ref if record else None,
        decided_on=record.decided_on if record else None,
        issuing_body=record.provider if record else None,
        issuing_body_kind=record.provider_kind if record else None,
        measures=measures_for_entry(row.list_name, row.criterion, row.kind, today),
    )


def measures_for_entry(
    list_name: str, criterion: str, subject_kind: str, today: dt.date
) -> tuple[Measure, ...]:
    """The published measures a list entry triggers (the national catalogue in force:
    an entry holds in every YRD province, each of which may add its own)."""
    catalogue = select_catalogue(_load_measures(), None, today)
    return tuple(
        m
        for m in catalogue.measures
        if m.trigger.on_list == list_name
        and (m.trigger.criteria is None or criterion in m.trigger.criteria)
        and subject_kind in m.targets
    )


# --- statistics ---------------------------------------------------------------------------


@dataclass
class ListStatistics:
    months: list[str]  # "2026-09", oldest first
    # list -> province -> counts per month of entries published that month
    by_province: dict[str, dict[str, list[int]]]
    # list -> criterion -> counts per month
    by_criterion: dict[str, dict[str, list[int]]]
    # list -> province -> entries published now
    current: dict[str, dict[str, int]] = field(default_factory=dict)


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _months_between(first: dt.date, last: dt.date) -> list[str]:
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def list_statistics(conn: Connection, *, today: dt.date, months: int = 12) -> ListStatistics:
    """Entries published per month over the last ``months`` months (those since exited
    included: they were on the list that month), by province of origin and by criterion;
    and the entries published now. Counts only: no entry is identified."""
    first = dt.date(today.year, today.month, 1)
    for _ in range(months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    labels = _months_between(first, today)
    index = {m: i for i, m in enumerate(labels)}
    grouped = conn.execute(
        select(
            ListEntry.list_name,
            ListEntry.origin_province,
            ListEntry.criterion,
            ListEntry.published_on,
            func.count(),
        )
        .where(ListEntry.published_on.is_not(None), ListEntry.published_on >= first)
        .group_by(
            ListEntry.list_name,
            ListEntry.origin_province,
            ListEntry.criterion,
            ListEntry.published_on,
        )
    )
    by_province: dict[str, dict[str, list[int]]] = defaultdict(dict)
    by_criterion: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for list_name, province, criterion, day, count in grouped:
        i = index.get(_month(day)) if day is not None else None
        if i is None:
            continue
        by_province[list_name].setdefault(province, [0] * len(labels))[i] += count
        by_criterion[list_name].setdefault(criterion, [0] * len(labels))[i] += count
    current: dict[str, dict[str, int]] = defaultdict(dict)
    now = conn.execute(
        select(ListEntry.list_name, ListEntry.origin_province, func.count())
        .where(
            ListEntry.status == PUBLISHED,
            or_(ListEntry.planned_exit_on.is_(None), ListEntry.planned_exit_on > today),
        )
        .group_by(ListEntry.list_name, ListEntry.origin_province)
    )
    for list_name, province, count in now:
        current[list_name][province] = count
    return ListStatistics(
        months=labels,
        by_province={k: dict(sorted(v.items())) for k, v in by_province.items()},
        by_criterion={k: dict(sorted(v.items())) for k, v in by_criterion.items()},
        current={k: dict(sorted(v.items())) for k, v in current.items()},
    )


# --- providers' accuracy ------------------------------------------------------------------


@dataclass
class ProviderAccuracy:
    provider_id: int
    name: str
    kind: str
    region_code: str
    records: int = 0  # facts furnished (a correction is not a new fact)
    objections: int = 0
    decided: int = 0
    corrected_after_objection: int = 0
    deleted_after_objection: int = 0
    median_resolution_days: float | None = None  # calendar days, filing to decision
    repairs: int = 0
    expiries: int = 0

    @property
    def objection_rate(self) -> float | None:
        """Objections per 1,000 records."""
        return self.objections * 1000 / self.records if self.records else None

    @property
    def changed_after_objection(self) -> int:
        return self.corrected_after_objection + self.deleted_after_objection


def provider_accuracy(conn: Connection) -> list[ProviderAccuracy]:
    """Per provider: records furnished, objections and what became of them, how long
    deciding took, and records repaired or expired. Providers that furnish nothing
    (account providers) are left out."""
    out: dict[int, ProviderAccuracy] = {}
    providers = conn.execute(
        select(Provider.id, Provider.name, Provider.kind, Provider.region_code).order_by(
            Provider.region_code, Provider.name
        )
    )
    for pid, name, kind, region in providers:
        out[pid] = ProviderAccuracy(pid, name, kind, region)
    for pid, count in conn.execute(
        select(Record.provider_id, func.count())
        .where(Record.version == 1)
        .group_by(Record.provider_id)
    ):
        if pid in out:
            out[pid].records = count
    durations: dict[int, list[int]] = defaultdict(list)
    outcomes: dict[int, Counter[str]] = defaultdict(Counter)
    for pid, status, outcome, filed, decided in conn.execute(
        select(
            Objection.provider_id,
            Objection.status,
            Objection.outcome,
            Objection.filed_on,
            Objection.decided_on,
        )
    ):
        if pid not in out:
            continue
        out[pid].objections += 1
        if status == "decided" and decided is not None:
            out[pid].decided += 1
            durations[pid].append((decided - filed).days)
            outcomes[pid][outcome or ""] += 1
    for pid, counts in outcomes.items():
        out[pid].corrected_after_objection = counts["corrected"]
        out[pid].deleted_after_objection = counts["deleted"]
    for pid, days in durations.items():
        out[pid].median_resolution_days = float(statistics.median(days))
    # Facts, not events: a repaired record corrected later carries its repair into the
    # new version (another event), and one record may expire by window and by query bar.
    for pid, status, count in conn.execute(
        select(
            Record.provider_id,
            RecordStatusEvent.status,
            func.count(func.distinct(Record.provider_record_id)),
        )
        .join(Record, Record.id == RecordStatusEvent.record_id)
        .where(RecordStatusEvent.status.in_(("repaired", "expired")))
        .group_by(Record.provider_id, RecordStatusEvent.status)
    ):
        if pid in out:
            if status == "repaired":
                out[pid].repairs = count
            else:
                out[pid].expiries = count
    return [p for p in out.values() if p.records or p.objections]


# --- feed health (regulator) --------------------------------------------------------------


@dataclass
class FeedHealth:
    provider: str
    kind: str
    region_code: str
    batches: int = 0
    failed: int = 0  # batches that failed or were interrupted
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    last_batch: dt.datetime | None = None
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def reject_rate(self) -> float:
        seen = self.accepted + self.rejected
        return self.rejected * 100 / seen if seen else 0.0

    def top_reasons(self, n: int = 3) -> list[tuple[str, int]]:
        return self.reasons.most_common(n)


def feed_health(conn: Connection) -> list[FeedHealth]:
    """Per provider: batches, rows accepted, duplicated and rejected, and why."""
    out: dict[str, FeedHealth] = {}
    rows = conn.execute(
        select(
            Provider.name,
            Provider.kind,
            Provider.region_code,
            ImportBatch.status,
            ImportBatch.accepted,
            ImportBatch.duplicates,
            ImportBatch.rejected,
            ImportBatch.started_at,
            ImportBatch.reject_summary,
        )
        .join(Provider, Provider.id == ImportBatch.provider_id)
        .order_by(Provider.region_code, Provider.name, ImportBatch.id)
    )
    for name, kind, region, status, accepted, dups, rejected, started, summary in rows:
        health = out.setdefault(name, FeedHealth(name, kind, region))
        health.batches += 1
        health.failed += status in ("failed", "interrupted")
        health.accepted += accepted or 0
        health.duplicates += dups or 0
        health.rejected += rejected or 0
        health.last_batch = max(filter(None, (health.last_batch, started)), default=None)
        try:
            reasons = json.loads(summary or "{}")
        except ValueError:
            reasons = {}
        if isinstance(reasons, dict):
            health.reasons.update({str(k): int(v) for k, v in reasons.items()})
    return list(out.values())
