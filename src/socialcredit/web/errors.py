"""Errors on pages are pages: the API keeps its JSON errors, everything else gets HTML.

The API's exception handlers are wrapped, not replaced: a request under ``/v1`` goes to
them unchanged. A page's refusal is still written to the audit log the same way the
API's are (``Auditor.refusal``), under the logged-in user's name even when the page
refused before looking them up, and if that fails the reader gets a 503, not the page.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from socialcredit.access import Role
from socialcredit.api.auditing import Auditor, note, route_action
from socialcredit.api.errors import ApiError
from socialcredit.web.i18n import N_
from socialcredit.web.session import current_user
from socialcredit.web.templating import page_url, render, translator

log = logging.getLogger(__name__)

# As Starlette keeps them: a handler may be a coroutine function or a plain one.
Handler = Callable[[Request, Any], Response | Awaitable[Response]]

API_PREFIX = "/v1"

# The audit actions of pages behind a login: their refusals name the logged-in user. (The
# public pages are read anonymously, whoever happens to be logged in.)
_LOGGED_IN_PAGES = ("web.portal.", "web.regulator.")

# What a reader is told for each status; the code in the audit log says more.
MESSAGES = {
    400: N_("The request could not be understood."),
    403: N_("You may not see this page."),
    404: N_("There is no such page."),
    405: N_("This page cannot be used that way."),
    413: N_("The upload is too large."),
    422: N_("Some of what was entered is not valid."),
    429: N_("Too many requests from your address. Please wait a moment and try again."),
    500: N_("Something went wrong on our side. It has been logged."),
    503: N_("The service cannot record this request in its audit log, so it gives no answer."),
}
TITLES = {
    400: N_("Bad request"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not allowed"),
    413: N_("Too large"),
    422: N_("Invalid input"),
    429: N_("Too many requests"),
    500: N_("Error"),
    503: N_("Unavailable"),
}


class WebError(Exception):
    """A page's refusal: the status, a stable code for the audit log, and (optionally) a
    message id to show instead of the status's standard one."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


class LoginRequired(Exception):
    """The page needs a login: the reader is sent to the login form, then back."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def is_page(request: Request) -> bool:
    """Whether an error is answered as a page: anything a page route raised, and, for a
    path no route matched, a request from a browser (it accepts HTML). An API client
    asking for a path that does not exist still gets the API's JSON error."""
    path = request.url.path
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        return False
    if request.scope.get("route") is not None:
        return True
    return "text/html" in request.headers.get("accept", "")


async def error_page(
    request: Request,
    status: int,
    code: str,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    auditor: Auditor = request.app.state.auditor
    if (route_action(request) or "").startswith(_LOGGED_IN_PAGES):
        await _identify(request)
    if not await auditor.refusal(request, code, status):
        status, message, headers = 503, None, None
    t = translator(request)
    known = status if status in MESSAGES else (500 if status >= 500 else 400)
    shown = t.plain(message) if message else t.plain(MESSAGES[known])
    return render(
        request,
        "error.html",
        title=t.plain(TITLES[known]),
        status=status,
        private=True,
        headers=headers,
        message=shown,
        status_code=status,
        retry_after=(headers or {}).get("Retry-After"),
    )


async def _identify(request: Request) -> None:
    """Name who is refused. A page learns its user in ``require``; a refusal before that
    (a form that fails validation) must still be on record as that user's, against their
    own file when they are a subject (it is part of what they see of their file)."""
    if getattr(request.state, "principal", None) is not None:
        return
    try:
        user = await current_user(request)
    except Exception:  # no sessions (an app without pages) or the key store is down
        log.warning("could not identify the user of a refused page", exc_info=True)
        return
    if user is not None and user.principal.role is Role.SUBJECT:
        n = note(request)
        if n.subject_id is None:
            n.subject_id = user.principal.subject_id


async def _web_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WebError)
    return await error_page(request, exc.status, exc.code, exc.message, exc.headers)


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(page_url(request, "/login", next=exc.next_path), status_code=303)


def _page_or_api(original: Handler) -> Handler:
    async def handler(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            answer = original(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        if isinstance(exc, StarletteHTTPException):
            return await error_page(request, exc.status_code, f"http_{exc.status_code}")
        if isinstance(exc, ApiError):
            return await error_page(request, exc.status, exc.code, headers=exc.headers)
        if isinstance(exc, RequestValidationError):
            return await error_page(request, 422, "validation_error")
        log.exception("page failed: %s", request.url.path, exc_info=exc)
        return await error_page(request, 500, "internal_error")

    return handler


def install(app: FastAPI) -> None:
    """Wrap the API's handlers (installed before this) and add the pages' own."""
    for exc_type, original in list(app.exception_handlers.items()):
        app.exception_handlers[exc_type] = _page_or_api(original)
    app.add_exception_handler(WebError, _web_error)
    app.add_exception_handler(LoginRequired, _login_required)
