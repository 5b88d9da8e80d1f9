"""The FastAPI application: routers under ``/v1``, one error shape, audit before answer."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from socialcredit import __version__
from socialcredit.api import services
from socialcredit.api.auditing import Auditor
from socialcredit.api.bodylimit import BodyLimitMiddleware
from socialcredit.api.errors import ApiError, error_body
from socialcredit.api.keycache import KeyCache
from socialcredit.api.ratelimit import RateLimiter
from socialcredit.api.reads import StoreReads
from socialcredit.api.routers import (
    casework,
    health,
    measures,
    public,
    realname,
    records,
    reports,
    subjects,
)
from socialcredit.api.settings import ApiSettings

DESCRIPTION = """\
Public credit information platform (Yangtze River Delta pilot).

Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>`; each key has one
role (provider, relying_party, caseworker, regulator, subject, admin) and one scope.
Every request that reads or writes personal data is written to the hash-chained audit
log before it is answered (routes marked `x-audit-action`). Errors are always
`{"error": {"code": "...", "message": "..."}}` with a stable `code`.
"""

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}


async def _respond(
    request: Request,
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    auditor: Auditor = request.app.state.auditor
    if not await auditor.refusal(request, code, status):
        return JSONResponse(
            error_body("audit_unavailable", "the audit log cannot record this request"),
            status_code=503,
        )
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return await _respond(request, exc.status, exc.code, exc.message, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _HTTP_CODES.get(status, f"http_{status}")
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    return await _respond(request, status, code, message, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return await _respond(request, 400, "invalid_json", "the request body is not valid JSON")
    # The offending input is not echoed back: it may be someone's ID number or name.
    details = [
        {
            "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors
    ]
    where = ", ".join(".".join(str(p) for p in d["loc"]) for d in details[:3])
    return await _respond(
        request, 422, "validation_error", f"invalid request: {where}", details=details
    )


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    return await _respond(request, 500, "internal_error", "internal error; it has been logged")


_frozen = False


def _freeze_once() -> None:
    """Exempt what exists at startup from garbage collection, once per process.

    Modules, catalogues, policies and routes live as long as the process. The cyclic
    collector walked all of them in every full collection: ~100 ms, during which every
    request in flight waited, often enough under load to set the p99 latency. Frozen
    (after a last collection, so no garbage is kept), later collections skip them.
    Once per process: served, there is one app; a test session starts hundreds, and a
    full collection for each would add up to seconds.
    """
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


def create_app(engine: Engine, settings: ApiSettings | None = None) -> FastAPI:
    """The API over ``engine`` (an initialised store)."""
    settings = settings or ApiSettings.from_env()
    auditor = Auditor(engine, group_commit=settings.audit_group_commit)
    reads = StoreReads(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Loaded now rather than by the first requests, which would wait for them.
        services.warm_up()
        _freeze_once()
        yield
        # Entries already queued are written before the process stops.
        auditor.close()
        reads.close()

    app = FastAPI(
        title="socialcredit",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url="/v1/redoc",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.auditor = auditor
    app.state.reads = reads
    app.state.key_cache = KeyCache(settings.key_cache_seconds)
    app.state.key_lookups = {}  # key hash → the lookup under way (deps._lookup_once)
    app.state.realname_limiter = RateLimiter(
        per_minute=settings.realname_per_minute, burst=settings.realname_burst
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _internal_error)

    # Each router goes straight under /v1 rather than through a shared /v1 router:
    # FastAPI matches a request level by level, and the extra level was a measurable
    # part of every request's cost. Routes are tried in this order and no two paths
    # overlap, so the busiest (the liveness probe, then relying parties' queries) come
    # first; the order changes nothing else.
    for module in (health, measures, records, subjects, realname, public, reports, casework):
        app.include_router(module.router, prefix="/v1")
    # The pages (public site, subject portal, regulator) after the API: they wrap its
    # error handlers so that /v1 keeps its JSON errors and pages get HTML ones.
    from socialcredit.web import mount

    mount(app)
    return app
