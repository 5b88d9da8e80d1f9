"""Rendering a page: one Jinja2 environment, autoescaped, and the headers every page gets.

Autoescaping is on for every template, and nothing from the store is ever marked safe:
names, reasons and decision references are text. The one exception is the charts,
which ``charts.py`` builds with every label escaped. The Content-Security-Policy allows
scripts and styles from this site only, so even a missed escape could not run a script
injected into the data.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

from socialcredit.identity.ids import compact, mask
from socialcredit.web import labels
from socialcredit.web.i18n import (
    HTML_LANG,
    LANGUAGES,
    NATIVE_NAMES,
    Translator,
    bilingual,
    localised,
    pick_language,
)
from socialcredit.web.session import LANG_COOKIE, PageUser, csrf_token

TEMPLATE_DIR = Path(__file__).parent / "templates"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["mask"] = mask
    env.filters["num"] = lambda n: f"{n:,}" if isinstance(n, int) else n
    env.filters["day"] = _day
    env.filters["minute"] = lambda t: t.strftime("%Y-%m-%d %H:%M") if t else "—"
    env.filters["signed"] = lambda n: f"{n:+d}" if isinstance(n, int) else n
    env.filters["plain"] = plain_value
    return env


def _day(value: Any) -> Markup | str:
    """A date as YYYY-MM-DD, never broken across lines at its hyphens."""
    if isinstance(value, dt.date):
        return Markup('<span class="nowrap">%s</span>') % value.isoformat()
    return str(value) if value else "—"


def plain_value(value: Any) -> str:
    """A policy value (as ``policy diff`` reports it) written for people, not as JSON."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k} {plain_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(plain_value(v) for v in value) or "—"
    return str(value)


def language_of(request: Request) -> str:
    cached: str | None = getattr(request.state, "language", None)
    if cached is None:
        cached = pick_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))
        request.state.language = cached
    return cached


def translator(request: Request) -> Translator:
    return Translator(language_of(request))


def page_url(request: Request, path: str, **query: Any) -> str:
    """A local URL with the non-empty query values given."""
    values = {k: v for k, v in query.items() if v not in (None, "")}
    return path + ("?" + urlencode(values) if values else "")


def _masked_query(request: Request) -> dict[str, str]:
    """The request's query, with any whole ID number masked: links built from it (the
    language switch) must not put a number the reader searched for back on the page."""
    out = {}
    for name, value in request.query_params.items():
        code = compact(value)
        whole = len(code) == 18 and code.isascii() and code.isalnum()
        out[name] = mask(code) if whole else value
    return out


def render(
    request: Request,
    template: str,
    *,
    title: str,
    status: int = 200,
    private: bool = False,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page, in the reader's language, with the security headers.

    ``title`` is already translated (the page's ``<title>`` and ``<h1>``). ``private``
    pages (the portal, the dashboard) are never stored by a cache.
    """
    t = translator(request)
    language = t.language
    user: PageUser | bool | None = getattr(request.state, "web_user", False)
    here = page_url(request, request.url.path, **_masked_query(request))
    values: dict[str, Any] = {
        "request": request,
        "title": title,
        "lang": language,
        "html_lang": HTML_LANG[language],
        "languages": [(code, NATIVE_NAMES[code]) for code in LANGUAGES],
        "switch_url": lambda code: page_url(request, f"/lang/{code}", next=here),
        "user": user if isinstance(user, PageUser) else None,
        "csrf": lambda: csrf_token(request),
        "label": lambda kind, code: labels.label(t, kind, code),
        "province": lambda code: labels.province_name(code, language),
        "city": labels.city_name,
        "bi": lambda text: bilingual(text, language),
        "loc": lambda titles: localised(titles, language),
        "url": lambda path, **q: page_url(request, path, **q),
        "path": request.url.path,
        **t.callables(),
    }
    values.update(context)
    html = environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    if private:
        response.headers["Cache-Control"] = "no-store"
    if headers:
        response.headers.update(headers)
    anon: str | None = getattr(request.state, "new_anon", None)
    if anon:
        request.app.state.web.cookies.set_anonymous(response, anon)
    return response
