"""Subject reports and certificates: reading the whole file, issuing signed certificates,
and checking them online.

As for the file itself (``routers.subjects``), every check that can refuse without the
store — role, a subject asking about someone else — runs before the lookup, so a refused
caller learns nothing about whether the ID is registered. Reports never show the full
ID number, to any role: they are made to be printed and handed over. Every report read
and every certificate issued is audited in the transaction that reads or writes, and
committed before the answer; the online check of a certificate is audited like any
public read of personal data.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from socialcredit.access import Principal, Role
from socialcredit.api.auditing import Auditor, audited, note
from socialcredit.api.deps import AuditorDep, EngineDep, allow
from socialcredit.api.errors import ApiError, ErrorResponse, responses
from socialcredit.api.lookup import as_of_or_today, check_own_file, resolve_subject
from socialcredit.identity.ids import mask
from socialcredit.policy import PolicyError, load_policies
from socialcredit.reports import (
    NotEligibleError,
    SigningKey,
    SigningKeyError,
    SubjectReport,
    build_report,
    issue_certificate,
    load_signing_key,
    lookup,
    render_report,
)
from socialcredit.reports.codes import normalise_code
from socialcredit.reports.keys import ALGORITHM, key_path

router = APIRouter()

# Caseworkers read whole files to decide objections and repairs, regulators to
# supervise; a subject reads its own (checked per request). Relying parties get
# measures, never the file; providers furnish records; admins manage keys, not people.
ReportReader = Annotated[Principal, allow(Role.CASEWORKER, Role.REGULATOR, Role.SUBJECT)]
# A certificate is the subject's own document, asked for by the subject: nobody issues
# one about someone else.
CertificateHolder = Annotated[Principal, allow(Role.SUBJECT)]

SubjectIdPath = Annotated[
    str, Path(max_length=40, description="Resident ID number or credit code (18 characters).")
]
AsOfQuery = Annotated[
    dt.date | None,
    Query(description="The file as known at the end of this day (YYYY-MM-DD); default today."),
]

_ERRORS = responses(401, 403, 404, 422, 503)
_NOT_ELIGIBLE: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorResponse,
        "description": "A no-dishonesty-record certificate refused: the file holds a "
        "dishonesty record (code not_eligible; the message names each one).",
    }
}


def _unknown_subject() -> ApiError:
    return ApiError(404, "unknown_subject", "no subject is registered with this ID")


def _read_report(
    engine: Engine,
    auditor: Auditor,
    request: Request,
    principal: Principal,
    subject_id: str,
    day: dt.date,
) -> SubjectReport:
    n = note(request)
    with engine.begin() as conn:
        row = resolve_subject(conn, subject_id)
        if row is None:
            raise _unknown_subject()
        n.subject_id = row.id
        try:
            report = build_report(conn, row.id, day, policies=load_policies())
        except PolicyError as exc:  # pragma: no cover - the shipped policies load
            raise ApiError(503, "policy_unavailable", str(exc)) from None
        # In the reading transaction: the answer leaves only once its entry is committed.
        auditor.record_in(conn, request, principal, "ok")
    n.written = True
    return report


@router.get(
    "/subjects/{subject_id}/report",
    response_model=SubjectReport,
    tags=["reports"],
    summary="Everything the platform holds on a subject, as of a date (free)",
    responses=_ERRORS,
    openapi_extra=audited("reports.read"),
)
def read_report(
    request: Request,
    principal: ReportReader,
    engine: EngineDep,
    auditor: AuditorDep,
    subject_id: SubjectIdPath,
    as_of: AsOfQuery = None,
) -> SubjectReport:
    day = as_of_or_today(as_of)
    note(request, subject=mask(subject_id), as_of=day.isoformat(), format="json")
    check_own_file(principal, subject_id)
    return _read_report(engine, auditor, request, principal, subject_id, day)


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


@router.get(
    "/subjects/{subject_id}/report.html",
    response_model=SubjectReport,
    tags=["reports"],
    summary="The subject report as a printable HTML page (Chinese with English)",
    description="HTML by default; the JSON report when the request accepts "
    "`application/json` and not `text/html`.",
    responses={
        200: {
            "description": "The printable page (or the JSON report, on request).",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        **_ERRORS,
    },
    openapi_extra=audited("reports.read"),
)
def read_report_html(
    request: Request,
    principal: ReportReader,
    engine: EngineDep,
    auditor: AuditorDep,
    subject_id: SubjectIdPath,
    as_of: AsOfQuery = None,
) -> Any:
    day = as_of_or_today(as_of)
    json_wanted = _wants_json(request)
    note(
        request,
        subject=mask(subject_id),
        as_of=day.isoformat(),
        format="json" if json_wanted else "html",
    )
    check_own_file(principal, subject_id)
    report = _read_report(engine, auditor, request, principal, subject_id, day)
    if json_wanted:
        return report
    return HTMLResponse(render_report(report))


# --- certificates ------------------------------------------------------------------------


class CertificateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["credit_report", "no_dishonesty_record"] = Field(
        description="A signed credit report, or a certificate of no dishonesty record."
    )
    format: Literal["json", "html"] = Field(
        default="html", description="The file's form: a printable HTML page or JSON."
    )


class IssuedCertificateView(BaseModel):
    code: str = Field(description="Verification code, for the online check.")
    kind: str
    subject: str = Field(description="Masked ID number or credit code.")
    as_of: dt.date
    issued_at: str = Field(description="UTC, YYYY-MM-DDTHH:MM:SSZ.")
    valid_until: dt.date
    key_id: str
    verify_url: str
    filename: str
    media_type: str
    file: str = Field(
        description="The certificate file, to be saved exactly as given (UTF-8): offline "
        "verification checks every byte of it."
    )


class SigningKeyView(BaseModel):
    algorithm: str
    key_id: str
    public_key_pem: str = Field(description="SubjectPublicKeyInfo, PEM.")
    public_key_base64: str = Field(description="The raw 32-byte public key, base64.")


def _signing_key() -> SigningKey:
    try:
        return load_signing_key(key_path())
    except SigningKeyError as exc:
        raise ApiError(503, "signing_unavailable", "certificates cannot be signed now") from exc


@router.post(
    "/subjects/{subject_id}/certificates",
    response_model=IssuedCertificateView,
    tags=["certificates"],
    summary="Issue a signed certificate to a subject about itself (free)",
    responses={**_ERRORS, **_NOT_ELIGIBLE},
    openapi_extra=audited("certificates.issue"),
)
def issue(
    request: Request,
    principal: CertificateHolder,
    engine: EngineDep,
    auditor: AuditorDep,
    subject_id: SubjectIdPath,
    body: CertificateRequest,
) -> IssuedCertificateView:
    n = note(request, subject=mask(subject_id), kind=body.kind, format=body.format)
    check_own_file(principal, subject_id)
    key = _signing_key()
    with engine.begin() as conn:
        row = resolve_subject(conn, subject_id)
        if row is None:
            raise _unknown_subject()
        n.subject_id = row.id
        try:
            issued = issue_certificate(conn, row.id, body.kind, key, issued_by=principal.prefix)
        except NotEligibleError as exc:
            raise ApiError(409, "not_eligible", str(exc)) from None
        n.detail["code"] = issued.payload["code"]
        # With the certificate's row: both commit, or neither.
        auditor.record_in(conn, request, principal, "ok")
    n.written = True
    p = issued.payload
    html = body.format == "html"
    return IssuedCertificateView(
        code=p["code"],
        kind=p["kind"],
        subject=p["subject"]["id"],
        as_of=p["as_of"],
        issued_at=p["issued_at"],
        valid_until=p["valid_until"],
        key_id=p["key_id"],
        verify_url=p["verify_url"],
        filename=f"certificate-{p['code']}.{body.format}",
        media_type="text/html" if html else "application/json",
        file=(issued.html_bytes() if html else issued.json_bytes()).decode("utf-8"),
    )


class CertificateStatus(BaseModel):
    """What the code alone reveals: validity and masked content."""

    code: str
    kind: str
    title: dict[str, str]
    status: str = Field(description="valid or expired")
    valid: bool
    subject_kind: str
    subject: str = Field(description="Masked ID number or credit code.")
    name: str = Field(description="Masked for persons (surname only).")
    as_of: dt.date
    issued_at: str
    valid_until: dt.date
    content_digest: str = Field(description="sha256 of the certified content, as signed.")
    key_id: str


@router.get(
    "/public/certificates/{code}",
    response_model=CertificateStatus,
    tags=["public"],
    summary="Check a certificate online by its verification code",
    responses=responses(404, 422, 503),
    openapi_extra=audited("public.certificates.verify"),
)
async def verify_online(
    request: Request,
    engine: EngineDep,
    auditor: AuditorDep,
    code: Annotated[str, Path(max_length=40, description="XXXX-XXXX-XXXX-XXXX")],
) -> CertificateStatus:
    if normalise_code(code) is None:
        raise ApiError(
            422,
            "malformed_code",
            "a verification code has 16 characters: digits and letters other than I, L, O, U",
        )

    def read() -> Any:
        with engine.connect() as conn:
            return lookup(conn, code)

    found = await run_in_threadpool(read)
    if found is None:
        raise ApiError(404, "unknown_certificate", "no certificate has this verification code")
    n = note(request, code=found.code)
    n.subject_id = found.subject_id
    # Whoever checks a certificate reads something about its holder: on record, as every
    # public read is; the holder sees it in the report's access history.
    await auditor.record_async(request, None, "ok")
    return CertificateStatus.model_validate(found.as_dict())


@router.get(
    "/public/signing-key",
    response_model=SigningKeyView,
    tags=["public"],
    summary="The platform's public key, for verifying certificates offline",
    responses=responses(503),
)
async def signing_key() -> SigningKeyView:
    key = await run_in_threadpool(_signing_key)
    return SigningKeyView(
        algorithm=ALGORITHM,
        key_id=key.key_id,
        public_key_pem=key.public.pem(),
        public_key_base64=key.public.raw_base64(),
    )
