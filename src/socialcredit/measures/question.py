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
from typing import Any

from sqlalchemy import Connection, Row, or_, select

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


def _entries_in_force(
    conn: Connection, subject_ids: Sequence[int], as_of: dt.date
) -> list[Row[Any]]:
    return list(
        conn.execute(
            select(ListEntry).where(
                ListEntry.subject_id.in_(subject_ids),
                ListEntry.published_on.is_not(None),
                ListEntry.published_on <= as_of,
                or_(ListEntry.exited_on.is_(None), ListEntry.exited_on > as_of),
                or_(ListEntry.planned_exit_on.is_(None), ListEntry.planned_exit_on > as_of),
            )
        )
    )


def _grade(
    conn: Connection, subject_id: int, as_of: dt.date, policies: Sequence[ResolvedPolicy] | None
) -> tuple[str, str] | None:
    """The stored grade for ``as_of`` (newest computation), else one computed in process."""
    stored = conn.execute(
        select(Score.grade, Score.policy_id, Score.policy_version)
        .where(Score.subject_id == subject_id, Score.as_of == as_of)
        .order_by(Score.computed_at.desc(), Score.id.desc())
        .limit(1)
    ).first()
    if stored is not None:
        return stored.grade, f"{stored.policy_id}@{stored.policy_version}"
    try:
        (result,) = compute(conn, [subject_id], as_of, policies)
    except NoPolicyInForceError:
        return None  # no policy, no grade: grade-triggered rewards simply do not apply
    return result.grade, f"{result.policy_id}@{result.policy_version}"


def _list_basis(entry: Row[Any], via: str, org: Row[int, str, str] | None) -> Basis:
    return Basis(
        kind="list",
        via=via,
        list_name=entry.list_name,
        criterion=entry.criterion,
        entry_id=entry.id,
        entry_legal_basis=entry.legal_basis,
        origin_province=entry.origin_province,
        published_on=entry.published_on,
        planned_exit_on=entry.planned_exit_on,
        organisation=mask(org.code) if org is not None else None,
        organisation_name=org.name if org is not None else None,
    )


def _triggers(measure: Measure, entry: Row[Any]) -> bool:
    t = measure.trigger
    return t.on_list == entry.list_name and (t.criteria is None or entry.criterion in t.criteria)


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
    require_purpose(purpose)
    subject = conn.execute(
        select(Subject.id, Subject.kind, Subject.code).where(Subject.id == subject_id)
    ).first()
    if subject is None:
        raise UnknownSubjectError(f"no subject {subject_id}")
    catalogue = select_catalogue(catalogues or load_measures(), region and region[:2], as_of)
    relevant = catalogue.for_purpose(purpose)
    own_target = "person" if subject.kind == "person" else "organisation"

    orgs: dict[int, Row[int, str, str]] = {}
    if subject.kind == "person" and any("legal_representative" in m.targets for m in relevant):
        orgs = {
            o.id: o
            for o in conn.execute(
                select(Subject.id, Subject.code, Subject.name).where(
                    Subject.legal_rep_id == subject.id, Subject.kind == "organisation"
                )
            )
        }
    entries = _entries_in_force(conn, [subject.id, *orgs], as_of) if relevant else []
    grade: tuple[str, str] | None = None
    if any(m.trigger.grades and own_target in m.targets for m in relevant):
        grade = _grade(conn, subject.id, as_of, policies)

    applied: list[AppliedMeasure] = []
    for m in relevant:
        found: list[Basis] = []
        for e in entries:
            if not _triggers(m, e):
                continue
            if e.subject_id == subject.id and own_target in m.targets:
                found.append(_list_basis(e, "self", None))
            elif e.subject_id in orgs and "legal_representative" in m.targets:
                found.append(_list_basis(e, "legal_representative", orgs[e.subject_id]))
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
    return MeasuresAnswer(
        subject=mask(subject.code),
        subject_kind=subject.kind,
        purpose=purpose,
        as_of=as_of,
        catalogue=catalogue.ref,
        measures=tuple(applied),
    )
