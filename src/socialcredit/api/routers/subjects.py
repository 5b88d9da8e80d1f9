"""Reading a subject's file and score.

Every check that can refuse without touching the store (role, full-ID permission,
a subject asking about someone else) runs before the lookup, so a refused caller
learns nothing about whether the ID is registered.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from socialcredit.access import Principal, Role
from socialcredit.api.auditing import audited, note
from socialcredit.api.deps import AuditorDep, EngineDep, allow
from socialcredit.api.errors import ApiError, responses
from socialcredit.api.lookup import as_of_or_today, check_full_id, check_own_file, resolve_subject
from socialcredit.api.schemas import (
    Contribution,
    ListEntryView,
    PolicyRef,
    RecordView,
    ScoreExplanation,
    ScoreSummary,
    SubjectFile,
    SubjectIdentity,
)
from socialcredit.db.models import (
    ListEntry,
    Provider,
    Record,
    RecordType,
    RescoreQueue,
    Score,
    utcnow,
)
from socialcredit.identity.ids import display, mask
from socialcredit.identity.regions import region_of
from socialcredit.policy import PolicyError, load_policies
from socialcredit.scoring.results import contributions_json, parse_contributions
from socialcredit.scoring.store import compute, latest_score

router = APIRouter(prefix="/subjects", tags=["subjects"])

# Caseworkers read files to decide objections and repairs, regulators to supervise;
# a subject reads its own file (checked per request). Providers only furnish,
# relying parties get measures and never the raw file, and admins manage keys,
# not people.
SubjectReader = Annotated[Principal, allow(Role.CASEWORKER, Role.REGULATOR, Role.SUBJECT)]

SubjectIdPath = Annotated[
    str, Path(max_length=40, description="Resident ID number or credit code (18 characters).")
]
FullIdQuery = Annotated[
    bool, Query(description="Show the full ID number (caseworker, regulator, admin only).")
]

_ERRORS = responses(401, 403, 404, 422, 503)


def _identity(row: Any, *, full: bool) -> SubjectIdentity:
    region = region_of(row.division_code)
    return SubjectIdentity(
        kind=row.kind,
        id=display(row.code, full=full),
        name=row.name,
        birth_date=row.birth_date if full else None,
        sex=row.sex if full else None,
        division_code=row.division_code if full else None,
        province=region.province,
        city=region.city,
        registered_at=row.registered_at,
    )


def _amount(fen: int | None) -> str | None:
    return None if fen is None else str(Decimal(fen) / 100)


def _records(conn: Connection, subject_id: int) -> list[RecordView]:
    r, p, t = Record.__table__, Provider.__table__, RecordType.__table__
    rows = conn.execute(
        select(
            p.c.name.label("provider"),
            r.c.provider_record_id,
            r.c.version,
            r.c.record_type,
            t.c.category,
            t.c.severity,
            t.c.polarity,
            r.c.decision_ref,
            r.c.decided_on,
            r.c.conduct_ended_on,
            r.c.amount_fen,
            r.c.status,
            r.c.recorded_at,
        )
        .join(p, p.c.id == r.c.provider_id)
        .outerjoin(t, t.c.code == r.c.record_type)
        # A superseded version is history, not part of the current file.
        .where(r.c.subject_id == subject_id, r.c.status != "corrected")
        .order_by(r.c.decided_on.desc(), r.c.id.desc())
    )
    return [
        RecordView.model_validate({**row._mapping, "amount_cny": _amount(row.amount_fen)})
        for row in rows
    ]


def _lists(conn: Connection, subject_id: int) -> list[ListEntryView]:
    le = ListEntry.__table__
    rows = conn.execute(
        select(le).where(le.c.subject_id == subject_id).order_by(le.c.entered_on.desc())
    )
    return [
        ListEntryView.model_validate(
            {**row._mapping, "policy": f"{row.policy_id}@{row.policy_version}"}
        )
        for row in rows
    ]


def _latest(conn: Connection, subject_id: int) -> ScoreSummary | None:
    """The newest stored score, whatever its as-of date."""
    with Session(bind=conn) as session:
        latest = session.scalars(
            select(Score)
            .where(Score.subject_id == subject_id)
            .order_by(Score.as_of.desc(), Score.computed_at.desc(), Score.id.desc())
            .limit(1)
        ).first()
        return _summary(latest) if latest is not None else None


def _summary(score: Score) -> ScoreSummary:
    return ScoreSummary(
        score=score.score,
        grade=score.grade,
        as_of=score.as_of,
        policy=PolicyRef(id=score.policy_id, version=score.policy_version),
        computed_at=score.computed_at,
        engine=score.engine,
    )


@router.get(
    "/{subject_id}",
    response_model=SubjectFile,
    summary="A subject's file: identity, current records, list entries, latest score",
    responses=_ERRORS,
    openapi_extra=audited("subjects.read"),
)
async def read_subject(
    request: Request,
    principal: SubjectReader,
    engine: EngineDep,
    auditor: AuditorDep,
    subject_id: SubjectIdPath,
    full_id: FullIdQuery = False,
) -> SubjectFile:
    n = note(request, subject=mask(subject_id), full_id=full_id)
    check_full_id(principal, full_id)
    check_own_file(principal, subject_id)

    def read() -> SubjectFile:
        with engine.connect() as conn:
            row = resolve_subject(conn, subject_id)
            if row is None:
                raise ApiError(404, "unknown_subject", "no subject is registered with this ID")
            n.subject_id = row.id
            records = _records(conn, row.id)
            return SubjectFile(
                subject=_identity(row, full=full_id),
                record_counts=dict(Counter(r.status for r in records)),
                records=records,
                lists=_lists(conn, row.id),
                latest_score=_latest(conn, row.id),
            )

    answer = await run_in_threadpool(read)
    await auditor.record_async(request, principal, "ok")
    return answer


@router.get(
    "/{subject_id}/score",
    response_model=ScoreExplanation,
    summary="A subject's score as of a date, with its reasons",
    responses=_ERRORS,
    openapi_extra=audited("subjects.score"),
)
def subject_score(
    request: Request,
    principal: SubjectReader,
    engine: EngineDep,
    auditor: AuditorDep,
    subject_id: SubjectIdPath,
    as_of: Annotated[dt.date | None, Query(description="YYYY-MM-DD; default today.")] = None,
    contributions: Annotated[
        bool, Query(description="Every contribution, not only the four reasons.")
    ] = False,
    full_id: FullIdQuery = False,
) -> ScoreExplanation:
    day = as_of_or_today(as_of)
    n = note(request, subject=mask(subject_id), as_of=day.isoformat())
    check_full_id(principal, full_id)
    check_own_file(principal, subject_id)
    # A stored answer is reused unless the subject's records changed since (it is then
    # in the rescore queue); a new answer is stored, so it can be shown again later.
    with engine.begin() as conn:
        row = resolve_subject(conn, subject_id)
        if row is None:
            raise ApiError(404, "unknown_subject", "no subject is registered with this ID")
        n.subject_id = row.id
        stale = conn.scalar(
            select(RescoreQueue.subject_id).where(RescoreQueue.subject_id == row.id)
        )
        with Session(bind=conn) as session:
            stored = None if stale is not None else latest_score(session, row.id, day)
            if stored is not None:
                session.expunge(stored)
        if stored is None:
            try:
                (result,) = compute(conn, [row.id], day, load_policies())
            except PolicyError as exc:
                raise ApiError(422, "no_policy_in_force", str(exc)) from None
            values = result.to_row() | {"engine": "python", "computed_at": utcnow()}
            conn.execute(insert(Score), [values])
            reasons = json.loads(contributions_json(result.reasons))
            every = json.loads(contributions_json(result.contributions))
            answer = ScoreExplanation(
                subject=display(row.code, full=full_id),
                score=result.score,
                grade=result.grade,
                policy=PolicyRef(id=result.policy_id, version=result.policy_version),
                as_of=day,
                computed_at=values["computed_at"],
                engine="python",
                reasons=[Contribution.model_validate(c) for c in reasons],
                contributions=[Contribution.model_validate(c) for c in every]
                if contributions
                else None,
            )
        else:
            every_stored = None
            if contributions:
                every_stored = stored.contributions
                if every_stored is None:
                    # A population rescore stores the reasons only; the full list is
                    # computed here, for the same subject and as-of date.
                    try:
                        (again,) = compute(conn, [row.id], stored.as_of, load_policies())
                    except PolicyError as exc:
                        raise ApiError(422, "no_policy_in_force", str(exc)) from None
                    every_stored = contributions_json(again.contributions)
            answer = ScoreExplanation(
                subject=display(row.code, full=full_id),
                score=stored.score,
                grade=stored.grade,
                policy=PolicyRef(id=stored.policy_id, version=stored.policy_version),
                as_of=stored.as_of,
                computed_at=stored.computed_at,
                engine=stored.engine,
                reasons=[
                    Contribution.model_validate(c) for c in parse_contributions(stored.reasons)
                ],
                contributions=[
                    Contribution.model_validate(c) for c in parse_contributions(every_stored)
                ]
                if every_stored is not None
                else None,
            )
        # Written in the transaction that stores the score: both commit, or neither.
        auditor.record_in(conn, request, principal, "ok")
    n.written = True
    return answer
