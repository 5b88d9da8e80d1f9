"""Reading list entries: the public disclosure view and the caseworker's view.

The public sees published entries only, with masked IDs: an entry under notice has not
been decided yet, and an exited one must stop being shown (that is what exit, repair
and annulment mean). An entry past its planned exit is hidden even before the daily run
has moved it, so display stops by itself. Neither view filters by the asker's province:
an entry decided in one YRD province holds in the others (mutual recognition).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import Connection, Select, func, or_, select

from socialcredit.db.models import ListEntry, ListTransition, Subject
from socialcredit.identity.ids import compact, mask
from socialcredit.lists.decisions import LIST_NAMES
from socialcredit.lists.store import EXITED, OPEN_STATUSES, PUBLISHED

Ts = TypeVarTuple("Ts")
AnySelect = Select[*tuple[Any, ...]]

STATUSES = (*OPEN_STATUSES, EXITED)
PUBLIC_STATUSES = (PUBLISHED,)
MAX_PAGE = 500


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in data.items()}


@dataclass(frozen=True, slots=True)
class PublicEntry:
    entry_id: int
    subject: str  # masked ID
    name: str
    subject_kind: str
    list_name: str
    criterion: str
    legal_basis: str
    origin_province: str
    policy: str  # id@version it was decided under
    entered_on: dt.date
    published_on: dt.date | None
    planned_exit_on: dt.date | None

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True, slots=True)
class EntryView:
    """Everything about an entry, for caseworkers and the subject's own report."""

    entry_id: int
    subject_id: int
    subject: str  # masked ID
    name: str
    list_name: str
    status: str
    criterion: str
    legal_basis: str
    origin_province: str
    policy: str
    record_id: int | None
    entered_on: dt.date
    notice_until: dt.date | None
    published_on: dt.date | None
    planned_exit_on: dt.date | None
    exited_on: dt.date | None
    exit_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True, slots=True)
class TransitionView:
    from_status: str | None
    to_status: str
    on: dt.date
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


def _check(list_name: str | None, status: str | None, limit: int, offset: int) -> None:
    if list_name is not None and list_name not in LIST_NAMES:
        raise ValueError(f"unknown list {list_name!r}; one of: {', '.join(LIST_NAMES)}")
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; one of: {', '.join(STATUSES)}")
    if not 0 < limit <= MAX_PAGE or offset < 0:
        raise ValueError(f"limit must be 1..{MAX_PAGE} and offset at least 0")


def _filtered(
    query: Select[*Ts], list_name: str | None, status: str | None, search: str | None
) -> Select[*Ts]:
    query = query.join(Subject, Subject.id == ListEntry.subject_id)
    if list_name is not None:
        query = query.where(ListEntry.list_name == list_name)
    if status is not None:
        query = query.where(ListEntry.status == status)
    if search:
        # A full ID finds its holder; anything else is looked for in names.
        query = query.where(
            or_(Subject.code == compact(search), Subject.name.contains(search, autoescape=True))
        )
    return query


def _public_query(
    list_name: str, status: str, search: str | None, as_of: dt.date | None
) -> AnySelect:
    if status not in PUBLIC_STATUSES:
        raise ValueError(
            f"only {', '.join(PUBLIC_STATUSES)} entries are public; entries under notice or "
            "exited are shown to caseworkers and to the subject only"
        )
    day = as_of or dt.date.today()
    query = _filtered(
        select(
            ListEntry.id,
            Subject.code,
            Subject.name,
            Subject.kind,
            ListEntry.list_name,
            ListEntry.criterion,
            ListEntry.legal_basis,
            ListEntry.origin_province,
            ListEntry.policy_id,
            ListEntry.policy_version,
            ListEntry.entered_on,
            ListEntry.published_on,
            ListEntry.planned_exit_on,
        ),
        list_name,
        status,
        search,
    )
    return query.where(or_(ListEntry.planned_exit_on.is_(None), ListEntry.planned_exit_on > day))


def public_entries(
    conn: Connection,
    list_name: str,
    *,
    status: str = PUBLISHED,
    limit: int = 50,
    offset: int = 0,
    search: str | None = None,
    as_of: dt.date | None = None,
) -> list[PublicEntry]:
    """A page of the public list on ``as_of`` (default today), newest publication first;
    ``search`` is a full ID or part of a name."""
    _check(list_name, status, limit, offset)
    query = _public_query(list_name, status, search, as_of)
    rows = conn.execute(
        query.order_by(ListEntry.published_on.desc(), ListEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [
        PublicEntry(
            entry_id=r.id,
            subject=mask(r.code),
            name=r.name,
            subject_kind=r.kind,
            list_name=r.list_name,
            criterion=r.criterion,
            legal_basis=r.legal_basis,
            origin_province=r.origin_province,
            policy=f"{r.policy_id}@{r.policy_version}",
            entered_on=r.entered_on,
            published_on=r.published_on,
            planned_exit_on=r.planned_exit_on,
        )
        for r in rows
    ]


def count_public_entries(
    conn: Connection,
    list_name: str,
    *,
    status: str = PUBLISHED,
    search: str | None = None,
    as_of: dt.date | None = None,
) -> int:
    """How many entries ``public_entries`` pages through."""
    _check(list_name, status, 1, 0)
    query = _public_query(list_name, status, search, as_of).with_only_columns(func.count())
    return int(conn.scalar(query) or 0)


def entries(
    conn: Connection,
    *,
    list_name: str | None = None,
    status: str | None = None,
    subject_id: int | None = None,
    search: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[EntryView]:
    """Entries in any status (caseworkers, the subject's report), newest entry first."""
    _check(list_name, status, limit, offset)
    query = _filtered(select(ListEntry, Subject.code, Subject.name), list_name, status, search)
    if subject_id is not None:
        query = query.where(ListEntry.subject_id == subject_id)
    rows = conn.execute(
        query.order_by(ListEntry.entered_on.desc(), ListEntry.id.desc()).limit(limit).offset(offset)
    )
    return [
        EntryView(
            entry_id=r.id,
            subject_id=r.subject_id,
            subject=mask(r.code),
            name=r.name,
            list_name=r.list_name,
            status=r.status,
            criterion=r.criterion,
            legal_basis=r.legal_basis,
            origin_province=r.origin_province,
            policy=f"{r.policy_id}@{r.policy_version}",
            record_id=r.record_id,
            entered_on=r.entered_on,
            notice_until=r.notice_until,
            published_on=r.published_on,
            planned_exit_on=r.planned_exit_on,
            exited_on=r.exited_on,
            exit_reason=r.exit_reason,
        )
        for r in rows
    ]


def transitions(conn: Connection, entry_id: int) -> list[TransitionView]:
    """An entry's history, oldest first."""
    rows = conn.execute(
        select(
            ListTransition.from_status,
            ListTransition.to_status,
            ListTransition.on,
            ListTransition.reason,
        )
        .where(ListTransition.entry_id == entry_id)
        .order_by(ListTransition.on, ListTransition.id)
    )
    return [TransitionView(*r) for r in rows]
