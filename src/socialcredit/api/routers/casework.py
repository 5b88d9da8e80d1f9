"""Due process over the API: objections, credit repair, annulments, notifications.

Who may do what (checked per route, and per case where the case belongs to someone):

- a subject files objections and repair applications about its own records and reads
  its own cases and notifications;
- a caseworker files for a subject, moves objections (flag, forward), records a
  provider's decision and decides repair applications;
- a provider annuls or corrects its own records and decides objections about them;
- a regulator reads every case and the escalation list; a relying party reads the
  notifications addressed to it.

Case steps are dated today; the command line takes ``--as-of`` for catch-up and demos.
Each step and its audit entry commit together; a refused step changes nothing and is
audited with its error code (the casework services write both entries themselves, so
the route marks its audit note written: ``_run``). Reads are audited by the route
(``_read``); a read the service refuses (a bad status, an unknown case) is recorded by
the error handler as the refusal it is (``_run_read`` leaves the note unwritten).

A provider key acts on its provider's records of the types the key covers, and sees the
cases about those records only (``_own_provider``, ``_visible``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, Protocol, TypeVar

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Engine

from socialcredit.access import Principal, Role
from socialcredit.api.auditing import Auditor, audited, note
from socialcredit.api.casework_schemas import (
    Annulment,
    AnnulmentList,
    NotificationList,
    Objection,
    ObjectionList,
    OverdueCaseList,
    RepairApplication,
    RepairApplicationList,
)
from socialcredit.api.deps import AuditorDep, EngineDep, allow
from socialcredit.api.errors import ApiError, ErrorResponse, responses
from socialcredit.api.lookup import as_of_or_today
from socialcredit.casework import annulments, objections, repair
from socialcredit.casework.common import Actor, CaseworkError

T = TypeVar("T")

router = APIRouter(tags=["casework"])

# The roles of each route, next to why. Subjects act on their own file; caseworkers run
# the cases; providers act on their own records; regulators supervise (read only);
# relying parties only read the notifications owed to them.
ObjectionFiler = Annotated[Principal, allow(Role.SUBJECT, Role.CASEWORKER)]
CaseReader = Annotated[
    Principal, allow(Role.CASEWORKER, Role.REGULATOR, Role.PROVIDER, Role.SUBJECT)
]
EscalationReader = Annotated[Principal, allow(Role.CASEWORKER, Role.REGULATOR, Role.PROVIDER)]
Caseworker = Annotated[Principal, allow(Role.CASEWORKER)]
ObjectionDecider = Annotated[Principal, allow(Role.PROVIDER, Role.CASEWORKER)]
RepairReader = Annotated[Principal, allow(Role.CASEWORKER, Role.REGULATOR, Role.SUBJECT)]
ProviderKey = Annotated[Principal, allow(Role.PROVIDER)]
AnnulmentReader = Annotated[Principal, allow(Role.CASEWORKER, Role.REGULATOR, Role.PROVIDER)]
NotificationReader = Annotated[
    Principal,
    allow(Role.CASEWORKER, Role.REGULATOR, Role.ADMIN, Role.RELYING_PARTY, Role.SUBJECT),
]

CaseId = Annotated[int, Path(ge=1, le=2**62, description="The case number.")]
_WRITE_ERRORS = responses(401, 403, 404, 422, 503) | {
    409: {
        "model": ErrorResponse,
        "description": "The case or record has moved on (decided, open elsewhere...).",
    }
}
_READ_ERRORS = responses(401, 403, 404, 422, 503)


def actor_of(principal: Principal) -> Actor:
    """The casework actor of a key; a provider key carries its record types, so a key
    narrowed to some types acts on records of those types only."""
    provider = principal.role is Role.PROVIDER
    if provider and not principal.record_types:
        # An account provider's key (a telecom operator's, say) furnishes no records: it
        # has no records to annul and no objections to answer.
        raise ApiError(
            403,
            "forbidden_role",
            "this provider key covers no record types, so it has no records or cases",
        )
    return Actor(
        name=principal.prefix,
        role=principal.role.value,
        subject_id=principal.subject_id,
        provider_id=principal.provider_id,
        relying_party_id=principal.relying_party_id,
        record_types=principal.record_types if provider else None,
    )


def _refused(request: Request, exc: CaseworkError) -> ApiError:
    """The service has audited the refusal already: the handler must not add another."""
    note(request).written = True
    return ApiError(exc.status, exc.code, exc.message)


def _today() -> dt.date:
    return dt.date.today()


# --- request bodies -----------------------------------------------------------------------


class RecordRef(BaseModel):
    """A record by its number, or by its provider and the provider's own id (as the
    subject's file shows it)."""

    model_config = ConfigDict(extra="forbid")

    record_id: int | None = Field(default=None, ge=1, le=2**62)
    provider: str | None = Field(default=None, max_length=100)
    provider_record_id: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _one_way(self) -> RecordRef:
        by_provider = self.provider is not None and self.provider_record_id is not None
        if (self.record_id is not None) != by_provider:
            return self
        raise ValueError("give record_id, or provider and provider_record_id (one of the two)")


class ObjectionFiling(RecordRef):
    reason: str = Field(min_length=1, max_length=2000, description="Why the record is wrong.")


class StepNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000)


class CorrectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_type: str | None = Field(default=None, max_length=60)
    decision_ref: str | None = Field(default=None, max_length=200)
    decided_on: dt.date | None = None
    conduct_ended_on: dt.date | None = None
    amount_cny: str | int | float | None = None

    def to_correction(self) -> annulments.Correction:
        return annulments.Correction(
            record_type=self.record_type,
            decision_ref=self.decision_ref,
            decided_on=self.decided_on,
            conduct_ended_on=self.conduct_ended_on,
            amount_fen=annulments.Correction.amount_from_cny(self.amount_cny),
        )


class ObjectionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["upheld", "corrected", "deleted"]
    reason: str = Field(min_length=1, max_length=2000)
    correction: CorrectionBody | None = None


class RepairFiling(RecordRef):
    obligations: list[str] = Field(
        min_length=1,
        max_length=repair.MAX_OBLIGATIONS,
        description="The obligations met, e.g. 罚款已缴清, 税款及滞纳金已补缴.",
    )
    commitment: str = Field(
        min_length=4, max_length=2000, description="The credit commitment (信用承诺), as given."
    )


class RepairDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    reason: str = Field(min_length=1, max_length=2000)


class AnnulmentFiling(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider_record_id: str = Field(min_length=1, max_length=100)
    action: Literal["annul", "correct"] = "annul"
    reason: str = Field(min_length=1, max_length=2000)
    decision_ref: str | None = Field(default=None, max_length=200)
    correction: CorrectionBody | None = None


# --- answers -------------------------------------------------------------------------------
# Cases are answered in the casework views' own shape (``as_dict``, one shape for the CLI's
# --json and the API), with the ID masked unless the role may see full numbers. Each is
# validated into its response model (api/casework_schemas.py), which the published
# document names, and serialised by pydantic's own JSON encoder: returned as a model,
# FastAPI would validate it again and encode it field by field in Python.


def _full(principal: Principal) -> bool:
    return principal.may_see_full_ids


class _View(Protocol):
    def as_dict(self, *, mask_id: bool = True) -> dict[str, Any]: ...


def _json(answer: BaseModel, status: int) -> Response:
    return Response(answer.model_dump_json(), status_code=status, media_type="application/json")


def _one(
    model: type[BaseModel], view: _View, principal: Principal, *, status: int = 200
) -> Response:
    """One case in ``model``'s shape."""
    return _json(model.model_validate(view.as_dict(mask_id=not _full(principal))), status)


def _many(model: type[BaseModel], views: Sequence[_View], principal: Principal) -> Response:
    """Cases as a JSON array, in the shape of ``model`` (a ``RootModel`` of a list)."""
    mask_id = not _full(principal)
    return _json(model.model_validate([v.as_dict(mask_id=mask_id) for v in views]), 200)


def _run(request: Request, call: Callable[[], T]) -> T:
    """A case step: the service audits the step and any refusal itself."""
    try:
        return call()
    except CaseworkError as exc:
        raise _refused(request, exc) from None


def _run_read(call: Callable[[], T]) -> T:
    """A read: the services do not audit reads, so a refusal is left to the error
    handler, which records it (``Auditor.refusal``) before answering."""
    try:
        return call()
    except CaseworkError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None


def _read(
    request: Request,
    auditor: Auditor,
    principal: Principal,
    subject_id: int | None,
    **detail: Any,
) -> None:
    n = note(request, **detail)
    n.subject_id = subject_id
    auditor.record(request, principal, "ok")


def _own_subject(principal: Principal) -> int | None:
    return principal.subject_id if principal.role is Role.SUBJECT else None


def _own_provider(principal: Principal) -> int | None:
    if principal.role is not Role.PROVIDER:
        return None
    actor_of(principal)  # refuses a provider key that covers no record types
    return principal.provider_id


def _own_types(principal: Principal) -> frozenset[str] | None:
    """The record types a provider key covers (None: not a provider key, no narrowing)."""
    if principal.role is not Role.PROVIDER:
        return None
    return actor_of(principal).record_types


def _visible(
    principal: Principal, subject_id: int, provider_id: int | None, record_type: str | None
) -> bool:
    if principal.role is Role.SUBJECT:
        return principal.subject_id == subject_id
    if principal.role is Role.PROVIDER:
        types = _own_types(principal)
        return principal.provider_id == provider_id and (
            types is None or (record_type is not None and record_type in types)
        )
    return True


# --- objections ---------------------------------------------------------------------------


@router.post(
    "/objections",
    status_code=201,
    response_model=Objection,
    summary="Object to a record (the subject, or a caseworker for them)",
    responses=_WRITE_ERRORS,
    openapi_extra=audited("objection.file"),
)
def file_objection(
    request: Request, principal: ObjectionFiler, engine: EngineDep, body: ObjectionFiling
) -> Response:
    note(request)
    view = _run(
        request,
        lambda: objections.file_objection(
            engine,
            actor=actor_of(principal),
            reason=body.reason,
            on=_today(),
            record_id=body.record_id,
            provider=body.provider,
            provider_record_id=body.provider_record_id,
        ),
    )
    note(request).written = True
    return _one(Objection, view, principal, status=201)


@router.get(
    "/objections",
    response_model=ObjectionList,
    summary="Objections: all for caseworkers and regulators, its own for a subject or provider",
    responses=_READ_ERRORS,
    openapi_extra=audited("objection.list"),
)
def list_objections(
    request: Request,
    principal: CaseReader,
    engine: EngineDep,
    auditor: AuditorDep,
    status: Annotated[
        str | None, Query(max_length=12, description="filed, flagged, forwarded, decided, open")
    ] = None,
) -> Response:
    with engine.connect() as conn:
        found = _run_read(
            lambda: objections.list_objections(
                conn,
                status=status,
                subject_id=_own_subject(principal),
                provider_id=_own_provider(principal),
                record_types=_own_types(principal),
            ),
        )
    _read(request, auditor, principal, _own_subject(principal), count=len(found))
    return _many(ObjectionList, found, principal)


@router.get(
    "/objections/overdue",
    response_model=OverdueCaseList,
    summary="The escalation list: open objections past the deadline of their current step",
    responses=_READ_ERRORS,
    openapi_extra=audited("objection.overdue"),
)
def overdue(
    request: Request,
    principal: EscalationReader,
    engine: EngineDep,
    auditor: AuditorDep,
    as_of: Annotated[dt.date | None, Query(description="YYYY-MM-DD; default today.")] = None,
) -> Response:
    day = as_of_or_today(as_of)
    with engine.connect() as conn:
        cases = objections.overdue_objections(
            conn,
            day,
            provider_id=_own_provider(principal),
            record_types=_own_types(principal),
        )
    _read(request, auditor, principal, None, as_of=day.isoformat(), count=len(cases))
    return _many(OverdueCaseList, cases, principal)


def _objection_for(
    principal: Principal, engine: Engine, objection_id: int
) -> objections.ObjectionView:
    with engine.connect() as conn:
        view = _run_read(lambda: objections.get_objection(conn, objection_id))
    # Someone else's case answers as an unknown one: its existence is not theirs to learn.
    if not _visible(principal, view.subject_id, view.provider_id, view.record_type):
        raise ApiError(404, "unknown_objection", f"no objection {objection_id}")
    return view


@router.get(
    "/objections/{objection_id}",
    response_model=Objection,
    summary="One objection with its dated steps",
    responses=_READ_ERRORS,
    openapi_extra=audited("objection.read"),
)
def read_objection(
    request: Request,
    principal: CaseReader,
    engine: EngineDep,
    auditor: AuditorDep,
    objection_id: CaseId,
) -> Response:
    note(request, objection_id=objection_id)
    _own_provider(principal)
    view = _objection_for(principal, engine, objection_id)
    _read(request, auditor, principal, view.subject_id)
    return _one(Objection, view, principal)


def _step(
    request: Request,
    principal: Principal,
    engine: Engine,
    objection_id: int,
    body: StepNote | None,
    step: Callable[..., objections.ObjectionView],
) -> Response:
    note(request, objection_id=objection_id)
    view = _run(
        request,
        lambda: step(
            engine,
            actor=actor_of(principal),
            objection_id=objection_id,
            on=_today(),
            note=body.note if body else None,
        ),
    )
    note(request).written = True
    return _one(Objection, view, principal)


@router.post(
    "/objections/{objection_id}/flag",
    response_model=Objection,
    summary="Flag the record as disputed (caseworker; due within 1 working day)",
    responses=_WRITE_ERRORS,
    openapi_extra=audited("objection.flagged"),
)
def flag(
    request: Request,
    principal: Caseworker,
    engine: EngineDep,
    objection_id: CaseId,
    body: StepNote | None = None,
) -> Response:
    return _step(request, principal, engine, objection_id, body, objections.flag_objection)


@router.post(
    "/objections/{objection_id}/forward",
    response_model=Objection,
    summary="Forward to the provider (caseworker; due within 2 working days of filing)",
    responses=_WRITE_ERRORS,
    openapi_extra=audited("objection.forwarded"),
)
def forward(
    request: Request,
    principal: Caseworker,
    engine: EngineDep,
    objection_id: CaseId,
    body: StepNote | None = None,
) -> Response:
    return _step(request, principal, engine, objection_id, body, objections.forward_objection)


@router.post(
    "/objections/{objection_id}/decision",
    response_model=Objection,
    summary="Decide: upheld, corrected or deleted (the provider, or a caseworker for it)",
    responses=_WRITE_ERRORS,
    openapi_extra=audited("objection.decide"),
)
def decide(
    request: Request,
    principal: ObjectionDecider,
    engine: EngineDep,
    objection_id: CaseId,
    body: ObjectionDecision,
) -> Response:
    note(request, objection_id=objection_id)
    view = _run(
        request,
        lambda: objections.decide_objection(
            engine,
            actor=actor_of(principal),
            objection_id=objection_id,
            outcome=body.outcome,
            reason=body.reason,
            on=_today(),
            correction=body.correction.to_correction() if body.correction else None,
        ),
    )
    note(request).written = True
    return _one(Objection, view, principal)


# --- credit repair --------------------------------------------------------------------------


@router.post(
    "/repairs",
    status_code=201,
    response_model=RepairApplication,
    summary="Apply for credit repair of a record (free of charge)",
    responses=_WRITE_ERRORS,
    openapi_extra=audited("repair.apply"),
)
def apply_repair(
    request: Request, principal: ObjectionFiler, engine: EngineDep, body: RepairFiling
) -> Response:
    note(request)
    view = _run(
        request,
        lambda: repair.apply_for_repair(
            engine,
            actor=actor_of(principal),
            obligations=body.obligations,
            commitment=body.commitment,
            on=_today(),
            record_id=body.record_id,
            provider=body.provider,
            provider_record_id=body.provider_record_id,
        ),
    )
    note(request).written = True
    return _one(RepairApplication, view, principal, status=201)


@router.get(
    "/repairs",
    response_model=RepairApplicationList,
    summary="Repair applications: all for caseworkers and regulators, its own for a subject",
    responses=_READ_ERRORS,
    openapi_extra=audited("repair.list"),
)
def list_repairs(
    request: Request,
    principal: RepairReader,
    engine: EngineDep,
    auditor: AuditorDep,
    status: Annotated[str | None, Query(max_length=12)] = None,
) -> Response:
    with engine.connect() as conn:
        found = _run_read(
            lambda: repair.list_repairs(conn, status=status, subject_id=_own_subject(principal)),
        )
    _read(request, auditor, principal, _own_subject(principal), count=len(found))
    return _many(RepairApplicationList, found, principal)


@router.get(
    "/repairs/{application_id}",
    response_model=RepairApplication,
    summary="One repair application",
    responses=_READ_ERRORS,
    openapi_extra=audited("repair.read"),
)
def read_repair(
    request: Request,
    principal: RepairReader,
    engine: EngineDep,
    auditor: AuditorDep,
    application_id: CaseId,
) -> Response:
    note(request, application_id=application_id)
    with engine.connect() as conn:
        view = _run_read(lambda: repair.get_repair(conn, application_id))
    if not _visible(principal, view.subject_id, None, view.record_type):
        raise ApiError(404, "unknown_repair_application", f"no repair application {application_id}")
    _read(request, auditor, principal, view.subject_id)
    return _one(RepairApplication, view, principal)


@router.post(
    "/repairs/{application_id}/decision",
    response_model=RepairApplication,
    summary="Approve or reject a repair application (caseworker; due within 3 working days)",
    responses=_WRITE_ERRORS,
    openapi_extra=audited("repair.decide"),
)
def decide_repair(
    request: Request,
    principal: Caseworker,
    engine: EngineDep,
    application_id: CaseId,
    body: RepairDecision,
) -> Response:
    note(request, application_id=application_id)
    view = _run(
        request,
        lambda: repair.decide_repair(
            engine,
            actor=actor_of(principal),
            application_id=application_id,
            approve=body.approve,
            reason=body.reason,
            on=_today(),
        ),
    )
    note(request).written = True
    return _one(RepairApplication, view, principal)


# --- annulments and the outbox --------------------------------------------------------------


@router.post(
    "/annulments",
    status_code=201,
    response_model=Annulment,
    summary="Annul or correct one of the provider's own records; starts the cascade",
    responses=_WRITE_ERRORS,
    openapi_extra=audited("record.annul"),
)
def annul(
    request: Request, principal: ProviderKey, engine: EngineDep, body: AnnulmentFiling
) -> Response:
    note(request, action=body.action)
    actor = actor_of(principal)
    assert principal.provider_id is not None  # a provider key always names its provider

    def call() -> annulments.AnnulmentView:
        if body.action == "annul":
            if body.correction is not None:
                raise CaseworkError(
                    "unexpected_value", "correction", "an annulment carries no corrected values"
                )
            return annulments.annul_record(
                engine,
                actor=actor,
                provider=principal.provider_id or 0,
                provider_record_id=body.provider_record_id,
                reason=body.reason,
                decision_ref=body.decision_ref,
                on=_today(),
            )
        return annulments.correct_record(
            engine,
            actor=actor,
            provider=principal.provider_id or 0,
            provider_record_id=body.provider_record_id,
            correction=(body.correction or CorrectionBody()).to_correction(),
            reason=body.reason,
            on=_today(),
        )

    view = _run(request, call)
    note(request).written = True
    return _one(Annulment, view, principal, status=201)


@router.get(
    "/annulments",
    response_model=AnnulmentList,
    summary="Annulment cascades with their deadline (3 working days); a provider's own",
    responses=_READ_ERRORS,
    openapi_extra=audited("annulment.list"),
)
def list_annulments(
    request: Request,
    principal: AnnulmentReader,
    engine: EngineDep,
    auditor: AuditorDep,
    late: Annotated[bool, Query(description="Only those past their deadline.")] = False,
) -> Response:
    with engine.connect() as conn:
        found = annulments.list_annulments(
            conn,
            provider_id=_own_provider(principal),
            record_types=_own_types(principal),
            late_only=late,
        )
    _read(request, auditor, principal, None, count=len(found))
    return _many(AnnulmentList, found, principal)


@router.get(
    "/notifications",
    response_model=NotificationList,
    summary="The outbox: a relying party's or a subject's own messages; all for staff",
    responses=_READ_ERRORS,
    openapi_extra=audited("notification.list"),
)
def list_notifications(
    request: Request,
    principal: NotificationReader,
    engine: EngineDep,
    auditor: AuditorDep,
) -> Response:
    with engine.connect() as conn:
        found = _run_read(
            lambda: annulments.list_notifications(conn, actor=actor_of(principal)),
        )
    _read(request, auditor, principal, _own_subject(principal), count=len(found))
    return _many(NotificationList, found, principal)
