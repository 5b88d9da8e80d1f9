"""The question relying parties ask: which measures apply to subject S for purpose P on D?

The answer names measures, their legal basis and what triggered each (a list entry or a
grade), never the records behind them: a relying party learns what it must do, not the
subject's file. Only published entries count (an entry under notice has no effect yet),
and none past its planned exit, even before the daily run has moved it. Entries hold
wherever they were decided (YRD mutual recognition), so they are never filtered by the
asker's province; the catalogue, though, is that of the asker's province, where the
measures are implemented.

A person also answers for organisations whose legal representative they are: measures
that target ``legal_representative`` apply to them through the organisation's entries.

Writing the audit entry is the caller's duty (the API and CLI), before they answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Date,
    Executable,
    Row,
    and_,
    bindparam,
    null,
    or_,
    select,
    union_all,
)

from socialcredit.db.models import ListEntry, Score, Subject
from socialcredit.identity.ids import mask
from socialcredit.measures.catalogue import (
    Measure,
    MeasuresCatalogue,
    load_measures,
    select_catalogue,
)
from socialcredit.measures.errors import UnknownSubjectError
from socialcredit.measures.purposes import require_purpose
from socialcredit.policy import NoPolicyInForceError, ResolvedPolicy
from socialcredit.scoring.store import compute


@dataclass(frozen=True, slots=True)
class Basis:
    """What triggered a measure: a published list entry, or the subject's grade."""

    kind: str  # list | grade
    via: str = "self"  # self | legal_representative
    list_name: str | None = None
    criterion: str | None = None
    entry_id: int | None = None
    entry_legal_basis: str | None = None
    origin_province: str | None = None
    published_on: dt.date | None = None
    planned_exit_on: dt.date | None = None
    grade: str | None = None
    score_policy: str | None = None  # id@version the grade was computed under
    organisation: str | None = None  # masked credit code, when via the legal representative
    organisation_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            k: v.isoformat() if isinstance(v, dt.date) else v
            for k, v in asdict(self).items()
            if v is not None
        }


@dataclass(frozen=True, slots=True)
class AppliedMeasure:
    id: str
    title_zh: str
    title_en: str
    category: str
    legal_basis: str
    defined_in: str
    triggered_by: tuple[Basis, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": {"zh": self.title_zh, "en": self.title_en},
            "category": self.category,
            "legal_basis": self.legal_basis,
            "defined_in": self.defined_in,
            "triggered_by": [b.as_dict() for b in self.triggered_by],
        }


@dataclass(frozen=True, slots=True)
class MeasuresAnswer:
    subject: str  # masked ID
    subject_kind: str
    purpose: str
    as_of: dt.date
    catalogue: str  # id@version of the catalogue applied
    measures: tuple[AppliedMeasure, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "subject_kind": self.subject_kind,
            "purpose": self.purpose,
            "as_of": self.as_of.isoformat(),
            "catalogue": self.catalogue,
            "measures": [m.as_dict() for m in self.measures],
        }


_subjects = Subject.__table__
_entries = ListEntry.__table__
_scores = Score.__table__

# Columns of an entry row (own or an organisation's) in the facts query, in order.
_ENTRY_FIELDS = (
    "entry_id",
    "entry_subject_id",
    "list_name",
    "criterion",
    "legal_basis",
    "origin_province",
    "published_on",
    "planned_exit_on",
)


def _as_of() -> BindParameter[dt.date]:
    return bindparam("as_of", type_=Date())


def _in_force(e: Any) -> ColumnElement[bool]:
    """Published on or before ``as_of``, and neither exited nor past its planned exit."""
    as_of = _as_of()
    return and_(
        e.c.published_on.is_not(None),
        e.c.published_on <= as_of,
        or_(e.c.exited_on.is_(None), e.c.exited_on > as_of),
        or_(e.c.planned_exit_on.is_(None), e.c.planned_exit_on > as_of),
    )


def _entry_columns(e: Any) -> tuple[Any, ...]:
    return (
        e.c.id.label("entry_id"),
        e.c.subject_id.label("entry_subject_id"),
        e.c.list_name,
        e.c.criterion,
        e.c.legal_basis,
        e.c.origin_province,
        e.c.published_on,
        e.c.planned_exit_on,
    )


@cache
def _facts_query(
    *, by_code: bool, with_entries: bool, with_orgs: bool, with_grade: bool
) -> Executable:
    """One statement for all the answer reads: the subject, its entries in force, the
    entries in force of organisations it is the legal representative of, and its newest
    stored grade for ``as_of``.

    Built once per shape and kept: constructing a select costs more than running it as
    an indexed lookup, and reusing the statement object finds SQLAlchemy's compiled form
    at once. One round trip instead of up to four matters most on PostgreSQL.

    Rows: one per own entry in force (one with NULL entry columns when there is none:
    the outer join keeps the subject), and one per entry in force of a represented
    organisation, told apart by a non-NULL ``org_code``, in no particular order. No
    row: no such subject.
    """
    s = _subjects.alias("s")
    key = s.c.code == bindparam("code") if by_code else s.c.id == bindparam("subject_id")
    own_from: Any = s
    entry_cols: tuple[Any, ...]
    if with_entries:
        e = _entries.alias("e")
        own_from = own_from.outerjoin(e, and_(e.c.subject_id == s.c.id, _in_force(e)))
        entry_cols = _entry_columns(e)
    else:
        entry_cols = tuple(null().label(name) for name in _ENTRY_FIELDS)
    grade_cols: tuple[Any, ...]
    if with_grade:
        sc = _scores.alias("sc")
        newest = (
            select(_scores.c.id)
            .where(_scores.c.subject_id == s.c.id, _scores.c.as_of == _as_of())
            .order_by(_scores.c.computed_at.desc(), _scores.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        own_from = own_from.outerjoin(sc, sc.c.id == newest)
        grade_cols = (sc.c.grade, sc.c.policy_id, sc.c.policy_version)
    else:
        grade_cols = tuple(null().label(n) for n in ("grade", "policy_id", "policy_version"))
    own = (
        select(
            s.c.id,
            s.c.kind,
            s.c.code,
            *grade_cols,
            null().label("org_code"),
            null().label("org_name"),
            *entry_cols,
        )
        .select_from(own_from)
        .where(key)
    )
    if not with_orgs:
        return own
    # Finding the organisations a person represents needs an index on
    # subjects.legal_rep_id to be a lookup; without one (the schema has none as of
    # migration 0003) the database scans subjects or list entries for every person
    # asked about, which costs more than everything else in the answer together.
    o = _subjects.alias("o")
    oe = _entries.alias("oe")
    represented = (
        select(
            s.c.id,
            s.c.kind,
            s.c.code,
            null(),
            null(),
            null(),
            o.c.code,
            o.c.name,
            *_entry_columns(oe),
        )
        .select_from(
            s.join(o, and_(o.c.legal_rep_id == s.c.id, o.c.kind == "organisation")).join(
                oe, and_(oe.c.subject_id == o.c.id, _in_force(oe))
            )
        )
        .where(key, s.c.kind == "person")
    )
    return union_all(own, represented)


def _computed_grade(
    conn: Connection, subject_id: int, as_of: dt.date, policies: Sequence[ResolvedPolicy] | None
) -> tuple[str, str] | None:
    """A grade computed in process, for a day with no stored score."""
    try:
        (result,) = compute(conn, [subject_id], as_of, policies)
    except NoPolicyInForceError:
        return None  # no policy, no grade: grade-triggered rewards simply do not apply
    return result.grade, f"{result.policy_id}@{result.policy_version}"


@lru_cache(maxsize=256)
def _shipped_catalogue(region: str | None, as_of: dt.date) -> MeasuresCatalogue:
    # The shipped catalogues are loaded once and never change in a process, so the one
    # that applies to a region on a day need only be chosen once.
    return select_catalogue(load_measures(), region, as_of)


def _list_basis(entry: Row[Any], via: str) -> Basis:
    org = via == "legal_representative"
    return Basis(
        kind="list",
        via=via,
        list_name=entry.list_name,
        criterion=entry.criterion,
        entry_id=entry.entry_id,
        entry_legal_basis=entry.legal_basis,
        origin_province=entry.origin_province,
        published_on=entry.published_on,
        planned_exit_on=entry.planned_exit_on,
        organisation=mask(entry.org_code) if org else None,
        organisation_name=entry.org_name if org else None,
    )


def _triggers(measure: Measure, entry: Row[Any]) -> bool:
    t = measure.trigger
    return t.on_list == entry.list_name and (t.criteria is None or entry.criterion in t.criteria)


def _answer(
    conn: Connection,
    params: dict[str, Any],
    *,
    purpose: str,
    as_of: dt.date,
    region: str | None,
    catalogues: Sequence[MeasuresCatalogue] | None,
    policies: Sequence[ResolvedPolicy] | None,
) -> tuple[int, MeasuresAnswer] | None:
    """The subject's id and answer, or None when there is no such subject."""
    require_purpose(purpose)
    province = region[:2] if region else None
    if catalogues:
        catalogue = select_catalogue(catalogues, province, as_of)
    else:
        catalogue = _shipped_catalogue(province, as_of)
    relevant = catalogue.for_purpose(purpose)
    # The statement reads only what some relevant measure could use; the subject's kind
    # is not known yet, so these are what either kind could need.
    query = _facts_query(
        by_code="code" in params,
        with_entries=bool(relevant),
        with_orgs=any("legal_representative" in m.targets for m in relevant),
        with_grade=any(m.trigger.grades for m in relevant),
    )
    rows = conn.execute(query, {**params, "as_of": as_of}).all()
    if not rows:
        return None
    subject_id, kind, code = rows[0].id, rows[0].kind, rows[0].code
    own_target = "person" if kind == "person" else "organisation"
    own = [r for r in rows if r.org_code is None]
    # Organisations' entries exist only for persons (the query says so), which is when
    # the original question looks for represented organisations at all.
    entries = [r for r in rows if r.entry_id is not None]

    grade: tuple[str, str] | None = None
    if any(m.trigger.grades and own_target in m.targets for m in relevant):
        stored = own[0] if own else None
        if stored is not None and stored.grade is not None:
            grade = stored.grade, f"{stored.policy_id}@{stored.policy_version}"
        else:
            grade = _computed_grade(conn, subject_id, as_of, policies)

    applied: list[AppliedMeasure] = []
    for m in relevant:
        found: list[Basis] = []
        for e in entries:
            if not _triggers(m, e):
                continue
            if e.org_code is None and own_target in m.targets:
                found.append(_list_basis(e, "self"))
            elif e.org_code is not None and "legal_representative" in m.targets:
                found.append(_list_basis(e, "legal_representative"))
        grades = m.trigger.grades
        if grades and grade is not None and grade[0] in grades and own_target in m.targets:
            found.append(Basis(kind="grade", grade=grade[0], score_policy=grade[1]))
        if found:
            found.sort(key=lambda b: (b.via != "self", b.entry_id or 0))
            applied.append(
                AppliedMeasure(
                    id=m.id,
                    title_zh=m.title_zh,
                    title_en=m.title_en,
                    category=m.category,
                    legal_basis=m.legal_basis,
                    defined_in=m.defined_in,
                    triggered_by=tuple(found),
                )
            )
    # Sanctions first: they are what a relying party must not overlook.
    applied.sort(key=lambda a: (a.category != "sanction", a.id))
    return subject_id, MeasuresAnswer(
        subject=mask(code),
        subject_kind=kind,
        purpose=purpose,
        as_of=as_of,
        catalogue=catalogue.ref,
        measures=tuple(applied),
    )


def measures_for(
    conn: Connection,
    *,
    subject_id: int,
    purpose: str,
    as_of: dt.date,
    region: str | None = None,
    catalogues: Sequence[MeasuresCatalogue] | None = None,
    policies: Sequence[ResolvedPolicy] | None = None,
) -> MeasuresAnswer:
    """The measures that apply to a subject for ``purpose`` on ``as_of``.

    ``region`` is the asking party's province (two digits): its catalogue applies, else
    the national one. Raises ``UnknownPurposeError`` for a purpose that is not published
    and ``UnknownSubjectError`` for an unknown subject.
    """
    found = _answer(
        conn,
        {"subject_id": subject_id},
        purpose=purpose,
        as_of=as_of,
        region=region,
        catalogues=catalogues,
        policies=policies,
    )
    if found is None:
        raise UnknownSubjectError(f"no subject {subject_id}")
    return found[1]


def measures_for_code(
    conn: Connection,
    code: str,
    *,
    purpose: str,
    as_of: dt.date,
    region: str | None = None,
    catalogues: Sequence[MeasuresCatalogue] | None = None,
    policies: Sequence[ResolvedPolicy] | None = None,
) -> tuple[int, MeasuresAnswer] | None:
    """``measures_for`` by the subject's ID number or credit code (compact form), with the
    subject's id (for the audit entry); None if no subject has that code.

    The lookup by code is part of the same statement, so the API answers in one read.
    """
    return _answer(
        conn,
        {"code": code},
        purpose=purpose,
        as_of=as_of,
        region=region,
        catalogues=catalogues,
        policies=policies,
    )
