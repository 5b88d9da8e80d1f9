"""The subject portal: a person or organisation logged in with its own key.

My report and my score in plain words, who accessed my file, my objections and repair
applications with their deadlines, filing new ones, and signed certificates. All of it
is free of charge. Every page that shows the file is written to the audit log in the
transaction that reads it, before it is answered; filing goes through the casework
services, which audit each attempt (accepted or refused) themselves, and a form this
page refuses before asking them (a missing field, a bad evidence file) is on record as a
refused attempt too.

Evidence files are written under a temporary name and take their place only once the
objection naming them has committed; a refused filing leaves nothing behind. A subject
may send evidence with at most ``WebSettings.evidence_per_day`` objections a day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from sqlalchemy import Engine, func, select
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from socialcredit.access import Principal, Role
from socialcredit.api.auditing import AuditNote, Auditor, audited, note
from socialcredit.audit.query import Access, accesses
from socialcredit.casework.common import Actor, CaseworkError
from socialcredit.casework.objections import ObjectionView, file_objection, list_objections
from socialcredit.casework.repair import RepairView, apply_for_repair, list_repairs
from socialcredit.db.models import Objection
from socialcredit.policy import load_policies
from socialcredit.reports import (
    CREDIT_REPORT,
    KINDS,
    NotEligibleError,
    SigningKeyError,
    SubjectReport,
    build_report,
    issue_certificate,
    load_signing_key,
)
from socialcredit.reports.keys import key_path
from socialcredit.web.errors import WebError
from socialcredit.web.i18n import N_, Translator
from socialcredit.web.portal_data import explain, objectable, record_dates, repairable_now
from socialcredit.web.routers.auth import require
from socialcredit.web.session import PageUser, csrf_valid
from socialcredit.web.settings import evidence_dir_for
from socialcredit.web.templating import render, translator

router = APIRouter(prefix="/portal", include_in_schema=False)

# Evidence a subject may attach: documents and photos, recognised by their first bytes
# (a browser's declared type is not trusted).
EVIDENCE_TYPES = {b"%PDF-": ".pdf", b"\x89PNG\r\n\x1a\n": ".png", b"\xff\xd8\xff": ".jpg"}
# How the case file names an evidence file (``StagedEvidence.line``).
EVIDENCE_MARK = "[evidence: "
MAX_OBLIGATIONS_TEXT = 2000


def today() -> dt.date:
    return dt.date.today()


def actor_of(principal: Principal) -> Actor:
    return Actor(name=principal.prefix, role=principal.role.value, subject_id=principal.subject_id)


def _subject_id(user: PageUser) -> int:
    sid = user.principal.subject_id
    if sid is None:  # pragma: no cover - a subject key is always bound to a subject
        raise WebError(403, "forbidden_role")
    return sid


def _read_report(
    request: Request, user: PageUser, day: dt.date, *, again: str | None = None
) -> SubjectReport:
    """The subject's report; its audit entry commits in the reading transaction.

    The entry is the request's own (its route's action), unless ``again`` names why the
    report is read a second time in the request (a form shown again after a refusal):
    that read gets an entry of its own.
    """
    engine: Engine = request.app.state.engine
    auditor: Auditor = request.app.state.auditor
    sid = _subject_id(user)
    with engine.begin() as conn:
        report = build_report(conn, sid, day, policies=load_policies())
        if again is None:
            n = note(request, as_of=day.isoformat())
            n.subject_id = sid
            auditor.record_in(conn, request, user.principal, "ok")
        else:
            extra = AuditNote("web.portal.report", subject_id=sid, detail={"form": again})
            auditor.append_in(conn, auditor.event(user.principal, extra, "ok"))
    if again is None:
        note(request).written = True
    return report


def _check_csrf(request: Request, token: str) -> None:
    if not csrf_valid(request, token):
        raise WebError(
            403, "csrf_failed", translator(request).plain("The form has expired. Please try again.")
        )


@router.get("", openapi_extra=audited("web.portal.report"))
async def report_page(request: Request) -> Response:
    user = await require(request, Role.SUBJECT)
    t = translator(request)
    day = today()
    report = await run_in_threadpool(_read_report, request, user, day)
    policy = next((p for p in load_policies() if p.ref == report.policies.score_policy), None)
    current = [r for r in report.records if r.status != "corrected"]
    return render(
        request,
        "portal/report.html",
        title=t.plain("My credit report"),
        private=True,
        report=report,
        policy=policy,
        explained=explain(report, day),
        records=current,
        dates={r.record_id: record_dates(r, day) for r in current},
        today=day,
    )


@router.get("/accesses", openapi_extra=audited("web.portal.accesses"))
async def accesses_page(request: Request) -> Response:
    user = await require(request, Role.SUBJECT)
    t = translator(request)
    engine: Engine = request.app.state.engine
    auditor: Auditor = request.app.state.auditor
    n = note(request)
    n.subject_id = _subject_id(user)

    def read() -> list[Access]:
        with engine.begin() as conn:
            rows = accesses(conn, n.subject_id or 0, limit=500)
            auditor.record_in(conn, request, user.principal, "ok")
        return rows

    rows = await run_in_threadpool(read)
    n.written = True
    return render(
        request,
        "portal/accesses.html",
        title=t.plain("Who accessed my file"),
        private=True,
        rows=rows,
        own_prefix=user.principal.prefix,
    )


@dataclass(frozen=True)
class Cases:
    objections: list[ObjectionView]
    repairs: list[RepairView]


@router.get("/cases", openapi_extra=audited("web.portal.cases"))
async def cases_page(request: Request, filed: str | None = None) -> Response:
    user = await require(request, Role.SUBJECT)
    t = translator(request)
    engine: Engine = request.app.state.engine
    auditor: Auditor = request.app.state.auditor
    n = note(request)
    n.subject_id = _subject_id(user)

    def read() -> Cases:
        with engine.begin() as conn:
            found = Cases(
                objections=list_objections(conn, subject_id=n.subject_id),
                repairs=list_repairs(conn, subject_id=n.subject_id),
            )
            auditor.record_in(conn, request, user.principal, "ok")
        return found

    cases = await run_in_threadpool(read)
    n.written = True
    return render(
        request,
        "portal/cases.html",
        title=t.plain("My cases"),
        private=True,
        objections=sorted(cases.objections, key=lambda c: -c.id),
        repairs=sorted(cases.repairs, key=lambda c: -c.id),
        filed=filed,
        today=today(),
    )


# --- objections ---------------------------------------------------------------------------


@router.get("/objections/new", openapi_extra=audited("web.portal.report"))
async def objection_form(
    request: Request, record: Annotated[int | None, Query(ge=1, le=2**62)] = None
) -> Response:
    user = await require(request, Role.SUBJECT)
    t = translator(request)
    report = await run_in_threadpool(_read_report, request, user, today())
    return render(
        request,
        "portal/objection.html",
        title=t.plain("File an objection"),
        private=True,
        records=objectable(report),
        selected=record,
        error=None,
        reason="",
        max_mb=request.app.state.web.settings.evidence_max_bytes // (1024 * 1024),
    )


def _safe_filename(name: str | None) -> str:
    base = Path(name or "evidence").name
    cleaned = re.sub(r"[^\w.\-]+", "_", base)[:80]
    return cleaned or "evidence"


def evidence_suffix(data: bytes) -> str:
    """The file's kind by its first bytes; ValueError unless it is a PDF, PNG or JPEG."""
    for magic, suffix in EVIDENCE_TYPES.items():
        if data.startswith(magic):
            return suffix
    raise ValueError("evidence must be a PDF, PNG or JPEG file")


@dataclass(frozen=True)
class StagedEvidence:
    """An evidence file written under a temporary name, not yet part of any case: kept
    (``keep``) once the case that names it has committed, dropped (``drop``) if the
    filing is refused, so a refused filing leaves no file behind."""

    temporary: Path
    target: Path
    line: str  # what the case file says about it

    def keep(self) -> None:
        if self.target.exists():  # the same file sent before: kept once, by digest
            self.temporary.unlink(missing_ok=True)
        else:
            self.temporary.replace(self.target)

    def drop(self) -> None:
        self.temporary.unlink(missing_ok=True)


def stage_evidence(directory: Path, data: bytes, name: str | None) -> StagedEvidence:
    """Write an evidence file beside its final place, under a temporary name.

    Kept under its SHA-256 once the case commits, so the same file sent twice is kept
    once, and the digest in the case file proves which file was sent.
    """
    suffix = evidence_suffix(data)
    digest = hashlib.sha256(data).hexdigest()
    directory.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{digest[:16]}.", suffix=".part")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return StagedEvidence(
        temporary=Path(temporary),
        target=directory / f"{digest}{suffix}",
        line=f"{EVIDENCE_MARK}{_safe_filename(name)}, {len(data)} bytes, sha256:{digest}]",
    )


def evidence_filed_today(engine: Engine, subject_id: int, day: dt.date) -> int:
    """How many objections the subject filed on ``day`` with an evidence file."""
    with engine.connect() as conn:
        return int(
            conn.scalar(
                select(func.count()).where(
                    Objection.subject_id == subject_id,
                    Objection.filed_on == day,
                    Objection.reason.contains(EVIDENCE_MARK, autoescape=True),
                )
            )
            or 0
        )


async def _refused_here(
    request: Request, user: PageUser, code: str, field: str, **detail: object
) -> None:
    """A form the page itself refused (nothing reached the casework service): on record
    as the refused attempt it is, against the subject's file, with the route's action."""
    n = note(request, field=field, **detail)
    n.subject_id = _subject_id(user)
    auditor: Auditor = request.app.state.auditor
    await auditor.record_async(request, user.principal, code)


@router.post("/objections", openapi_extra=audited("web.portal.objection"))
async def file_objection_page(
    request: Request,
    csrf: Annotated[str, Form(max_length=200)] = "",
    record_id: Annotated[int, Form(ge=1, le=2**62)] = 0,
    reason: Annotated[str, Form(max_length=4000)] = "",
    evidence: Annotated[UploadFile | None, File()] = None,
) -> Response:
    user = await require(request, Role.SUBJECT)
    _check_csrf(request, csrf)
    t = translator(request)
    settings = request.app.state.web.settings
    engine: Engine = request.app.state.engine
    day = today()
    # (message, audit code, field) of a refusal by this page, before the service is asked.
    local: tuple[str, str, str] | None = None
    data = b""
    if evidence is not None and evidence.filename:
        data = await evidence.read(settings.evidence_max_bytes + 1)
        if len(data) > settings.evidence_max_bytes:
            local = (t.plain("The evidence file is too large."), "evidence_too_large", "evidence")
        elif data:
            try:
                evidence_suffix(data)
            except ValueError:
                local = (
                    t.plain("Evidence must be a PDF, PNG or JPEG file."),
                    "bad_evidence",
                    "evidence",
                )
    if not reason.strip():
        local = local or (t.plain("Please say why the record is wrong."), "missing_value", "reason")
    if record_id == 0:
        local = local or (
            t.plain("Please choose the record you object to."),
            "missing_value",
            "record_id",
        )
    if local is None and data:
        sent = await run_in_threadpool(evidence_filed_today, engine, _subject_id(user), day)
        if sent >= settings.evidence_per_day:
            local = (
                t.plain(
                    "You have sent evidence with %(count)s objections today, the most in one "
                    "day. File this objection without the file, or send it tomorrow."
                )
                % {"count": sent},
                "evidence_limit",
                "evidence",
            )
    problem = None
    if local is not None:
        problem, code, field = local
        await _refused_here(request, user, code, field, record_id=record_id or None)
    else:
        text = reason.strip()
        staged: StagedEvidence | None = None
        if data and evidence is not None:
            directory = settings.evidence_dir or evidence_dir_for(engine)
            staged = await run_in_threadpool(stage_evidence, directory, data, evidence.filename)
            text += f"\n{staged.line}"
        try:
            view = await run_in_threadpool(
                lambda: file_objection(
                    engine, actor=actor_of(user.principal), reason=text, on=day, record_id=record_id
                )
            )
        except Exception as exc:
            # Refused (or failed): the file is no part of any case.
            if staged is not None:
                await run_in_threadpool(staged.drop)
            if not isinstance(exc, CaseworkError):
                raise
            # The casework service audited the refusal; nothing more to write.
            note(request).written = True
            problem = casework_message(t, exc)
        else:
            # The case and its audit entry have committed: now its evidence takes its place.
            note(request).written = True
            if staged is not None:
                await run_in_threadpool(staged.keep)
            return RedirectResponse(f"/portal/cases?filed=objection-{view.id}", status_code=303)
    report = await run_in_threadpool(lambda: _read_report(request, user, day, again="objection"))
    return render(
        request,
        "portal/objection.html",
        title=t.plain("File an objection"),
        status=422,
        private=True,
        records=objectable(report),
        selected=record_id or None,
        error=problem,
        reason=reason,
        max_mb=settings.evidence_max_bytes // (1024 * 1024),
    )


# Refusals the reader can act on, in their words; other codes show the service's message.
CASEWORK_MESSAGES = {
    "objection_open": N_("An objection about this record is already open."),
    "record_not_active": N_("This record no longer counts against you."),
    "unknown_record": N_("There is no such record in your file."),
    "out_of_scope": N_("There is no such record in your file."),
    "not_repairable": N_("This record cannot be repaired."),
    "too_early": N_("This record cannot be repaired yet."),
    "application_open": N_("A repair application for this record is already open."),
    "missing_value": N_("Please fill in every field."),
}


def casework_message(t: Translator, exc: CaseworkError) -> str:
    message = CASEWORK_MESSAGES.get(exc.code)
    return t.plain(message) if message else exc.message


# --- credit repair ------------------------------------------------------------------------

# The credit commitment the applicant gives by ticking the box (NDRC credit-repair
# measures: a written commitment to keep faith from now on), in the reader's language.
COMMITMENT = N_(
    "I commit to abide by the law, to meet my obligations in good faith, and accept that "
    "a false statement in this application annuls the repair."
)


def _repair_form(
    request: Request,
    report: SubjectReport,
    *,
    selected: int | None,
    error: str | None = None,
    obligations: str = "",
    status: int = 200,
) -> Response:
    t = translator(request)
    day = today()
    current = [r for r in report.records if r.status == "active" and r.polarity == "negative"]
    return render(
        request,
        "portal/repair.html",
        title=t.plain("Apply for credit repair"),
        status=status,
        private=True,
        eligible=repairable_now(report, day),
        later=[r for r in current if not record_dates(r, day).repair_open],
        dates={r.record_id: record_dates(r, day) for r in current},
        selected=selected,
        error=error,
        obligations=obligations,
        commitment=COMMITMENT,
    )


@router.get("/repair/new", openapi_extra=audited("web.portal.report"))
async def repair_form(
    request: Request, record: Annotated[int | None, Query(ge=1, le=2**62)] = None
) -> Response:
    user = await require(request, Role.SUBJECT)
    report = await run_in_threadpool(_read_report, request, user, today())
    return _repair_form(request, report, selected=record)


@router.post("/repair", openapi_extra=audited("web.portal.repair"))
async def apply_repair_page(
    request: Request,
    csrf: Annotated[str, Form(max_length=200)] = "",
    record_id: Annotated[int, Form(ge=1, le=2**62)] = 0,
    obligations: Annotated[str, Form(max_length=MAX_OBLIGATIONS_TEXT)] = "",
    commitment: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    user = await require(request, Role.SUBJECT)
    _check_csrf(request, csrf)
    t = translator(request)
    day = today()
    stated = [line.strip() for line in obligations.splitlines() if line.strip()]
    problem = None
    # A refusal by this page, before the service is asked: on record all the same.
    if record_id == 0:
        problem = t.plain("Please choose the record to repair.")
        await _refused_here(request, user, "missing_value", "record_id")
    elif not stated:
        problem = t.plain("Please state the obligations you have met, one per line.")
        await _refused_here(request, user, "missing_value", "obligations", record_id=record_id)
    elif commitment != "yes":
        problem = t.plain("Credit repair needs your credit commitment.")
        await _refused_here(request, user, "missing_value", "commitment", record_id=record_id)
    if problem is None:
        engine = request.app.state.engine
        try:
            view = await run_in_threadpool(
                lambda: apply_for_repair(
                    engine,
                    actor=actor_of(user.principal),
                    obligations=stated,
                    commitment=t.plain(COMMITMENT),
                    on=day,
                    record_id=record_id,
                )
            )
        except CaseworkError as exc:
            # The casework service audited the refusal; nothing more to write.
            note(request).written = True
            problem = casework_message(t, exc)
        else:
            note(request).written = True
            return RedirectResponse(f"/portal/cases?filed=repair-{view.id}", status_code=303)
    report = await run_in_threadpool(lambda: _read_report(request, user, day, again="repair"))
    return _repair_form(
        request,
        report,
        selected=record_id or None,
        error=problem,
        obligations=obligations,
        status=422,
    )


# --- certificates -------------------------------------------------------------------------


def _certificate_page(
    request: Request, *, error: list[str] | None = None, status: int = 200
) -> Response:
    t = translator(request)
    return render(
        request,
        "portal/certificate.html",
        title=t.plain("Download a certificate"),
        status=status,
        private=True,
        kinds=KINDS,
        error=error,
    )


@router.get("/certificate")
async def certificate_form(request: Request) -> Response:
    await require(request, Role.SUBJECT)
    return _certificate_page(request)


@router.post("/certificate", openapi_extra=audited("web.portal.certificate"))
async def issue_certificate_page(
    request: Request,
    csrf: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=40)] = CREDIT_REPORT,
    format: Annotated[str, Form(max_length=10)] = "html",
) -> Response:
    user = await require(request, Role.SUBJECT)
    _check_csrf(request, csrf)
    if kind not in KINDS or format not in ("html", "json"):
        raise WebError(422, "invalid_choice")
    engine: Engine = request.app.state.engine
    auditor: Auditor = request.app.state.auditor
    n = note(request, kind=kind, format=format)
    n.subject_id = _subject_id(user)

    def issue() -> tuple[str, bytes]:
        try:
            key = load_signing_key(key_path())
        except SigningKeyError as exc:
            raise WebError(503, "signing_unavailable") from exc
        with engine.begin() as conn:
            issued = issue_certificate(
                conn, n.subject_id or 0, kind, key, issued_by=user.principal.prefix
            )
            n.detail["code"] = issued.payload["code"]
            # With the certificate's row: both commit, or neither.
            auditor.record_in(conn, request, user.principal, "ok")
        body = issued.html_bytes() if format == "html" else issued.json_bytes()
        return str(issued.payload["code"]), body

    try:
        code, body = await run_in_threadpool(issue)
    except NotEligibleError as exc:
        # Refused: the file holds a dishonesty record. Nothing was issued; the refusal is
        # on record with its own outcome, and the page says what stands in the way.
        await auditor.record_async(request, user.principal, "not_eligible")
        return _certificate_page(request, error=list(exc.reasons), status=409)
    n.written = True
    media = "text/html; charset=utf-8" if format == "html" else "application/json"
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="certificate-{code}.{format}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
