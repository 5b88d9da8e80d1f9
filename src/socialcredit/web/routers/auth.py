"""Logging in with an API key, and out.

One form for subjects and regulators: the key's role decides where it leads. Keys of
other roles (providers, relying parties...) have no pages and are refused here, so a
relying party cannot use the portal to read a file it may only ask measures about.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from socialcredit.access import Principal, Role
from socialcredit.api.auditing import Auditor, audited, note
from socialcredit.web.errors import LoginRequired, WebError
from socialcredit.web.routers.public import client_address, safe_next
from socialcredit.web.session import PageUser, csrf_valid, current_user, principal_for_key
from socialcredit.web.templating import render, translator

router = APIRouter(include_in_schema=False)

# Where each role's pages start; a key of any other role cannot log in.
HOMES = {Role.SUBJECT: "/portal", Role.REGULATOR: "/regulator"}


def login_form(
    request: Request, *, next_path: str | None, error: str | None = None, status: int = 200
) -> Response:
    t = translator(request)
    return render(
        request,
        "login.html",
        title=t.plain("Log in"),
        status=status,
        private=True,
        next_path=next_path or "",
        error=error,
    )


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    user = await current_user(request)
    if user is not None and user.principal.role in HOMES:
        return RedirectResponse(HOMES[user.principal.role], status_code=303)
    return login_form(request, next_path=safe_next(next, ""))


@router.post("/login", openapi_extra=audited("web.login"))
async def login(
    request: Request,
    key: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    t = translator(request)
    state = request.app.state.web
    if not csrf_valid(request, csrf):
        raise WebError(403, "csrf_failed", t.plain("The form has expired. Please try again."))
    wait = state.login_limiter.take(client_address(request))
    if wait is not None:
        raise WebError(429, "rate_limited", headers={"Retry-After": str(max(1, round(wait)))})
    key = key.strip()
    principal = await principal_for_key(request, key) if key else None
    if principal is None:
        # One answer for unknown, malformed and revoked keys, as the API gives.
        return login_form(
            request,
            next_path=next,
            error=t.plain("This key is unknown or has been revoked."),
            status=401,
        )
    home = HOMES.get(principal.role)
    if home is None:
        return login_form(
            request,
            next_path=next,
            error=t.plain("Only subjects and regulators log in here; other keys use the API."),
            status=403,
        )
    # A new session id at every login: an id planted before the login is worth nothing.
    old = state.cookies.session_id(request)
    if old:
        state.sessions.drop(old)
    session = state.sessions.create(key)
    n = note(request)
    n.subject_id = principal.subject_id
    auditor: Auditor = request.app.state.auditor
    await auditor.record_async(request, principal, "ok")
    target = safe_next(next, home)
    if not target.startswith(home):
        target = home
    response = RedirectResponse(target, status_code=303)
    state.cookies.set_session(response, session)
    return response


@router.post("/logout")
async def logout(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    user = await current_user(request)
    if user is not None and not csrf_valid(request, csrf):
        raise WebError(403, "csrf_failed")
    state = request.app.state.web
    sid = state.cookies.session_id(request)
    if sid:
        state.sessions.drop(sid)
    response = RedirectResponse("/", status_code=303)
    state.cookies.clear_session(response)
    return response


async def require(request: Request, role: Role) -> PageUser:
    """The logged-in user of ``role``; to the login form if nobody is logged in."""
    user = await current_user(request)
    if user is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(here)
    if user.principal.role is not role:
        raise WebError(403, "forbidden_role")
    return user


def actor_name(principal: Principal) -> str:
    """How a page's actions are signed in case files and the audit log."""
    return principal.prefix
