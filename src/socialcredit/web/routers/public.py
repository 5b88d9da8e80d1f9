"""The public disclosure site: no login, nothing but what the law publishes.

Black and red list entries (masked IDs), the published catalogues and policies, list
statistics and the providers' accuracy figures. Reading list entries is personal data
even when published: each page of entries is written to the audit log before it is
answered, like the API's public list, and reading them is rate-limited per client
address (the bulk API, with a key, is for those who need more).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from socialcredit.api import services
from socialcredit.api.auditing import Auditor, audited, note
from socialcredit.identity.regions import YRD_PROVINCES
from socialcredit.lists import LIST_NAMES
from socialcredit.policy import load_policies
from socialcredit.records.catalogue import default_catalogue
from socialcredit.reports import OnlineStatus, lookup
from socialcredit.reports.codes import normalise_code
from socialcredit.web import charts
from socialcredit.web.errors import WebError
from socialcredit.web.i18n import LANGUAGES
from socialcredit.web.labels import label, province_name
from socialcredit.web.public_data import (
    EntryDetail,
    ListStatistics,
    ProviderAccuracy,
    PublicRow,
    entry_detail,
    list_statistics,
    parse_search,
    provider_accuracy,
    search_entries,
)
from socialcredit.web.templating import render, translator

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
ListName = Annotated[str, Path(pattern="^(black|red)$")]


def today() -> dt.date:
    return dt.date.today()


def client_address(request: Request) -> str:
    """Whose allowance a request draws on (search and login rate limits).

    The peer address; a deployment behind a proxy runs uvicorn with --proxy-headers so
    that this is the reader's address, not the proxy's. An IPv6 client is limited by its
    /64 prefix: one subscriber or site usually holds a whole /64 and could otherwise take
    a fresh address, and a fresh allowance, for every request. IPv4 by the address.
    """
    return rate_key(request.client.host if request.client else "unknown")


def rate_key(host: str) -> str:
    """``host`` as a rate-limit key: an IPv4 address itself, an IPv6 address its /64
    (an IPv4-mapped IPv6 address counts as the IPv4 address); anything else as given."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def check_rate(request: Request) -> None:
    wait = request.app.state.web.search_limiter.take(client_address(request))
    if wait is not None:
        raise WebError(429, "rate_limited", headers={"Retry-After": str(max(1, round(wait)))})


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go back to; anything else (another site, a scheme) is refused."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


@router.get("/")
async def home(request: Request) -> Response:
    t = translator(request)
    return render(request, "home.html", title=t.plain("Public credit information"))


@router.get("/lang/{language}")
async def switch_language(request: Request, language: str, next: str | None = None) -> Response:
    if language not in LANGUAGES:
        raise WebError(404, "unknown_language")
    target = safe_next(next)
    # The target may carry its own ?lang=; the new choice must win over it.
    path, _, query = target.partition("?")
    kept = "&".join(p for p in query.split("&") if p and not p.startswith("lang="))
    response = RedirectResponse(path + ("?" + kept if kept else ""), status_code=303)
    request.app.state.web.cookies.set_language(response, language)
    return response


@router.get("/lists/{list_name}", openapi_extra=audited("web.public.list"))
async def public_list(
    request: Request,
    list_name: ListName,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    t = translator(request)
    check_rate(request)
    try:
        search = parse_search(q)
    except ValueError:
        raise WebError(
            422, "invalid_query", t.plain("Search by a name, a masked ID or a credit code.")
        ) from None
    engine = request.app.state.engine
    day = today()

    def read() -> tuple[list[PublicRow], int]:
        with engine.connect() as conn:
            return search_entries(
                conn, list_name, search, today=day, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )

    rows, total = await run_in_threadpool(read)
    # Who browsed or searched is recorded (not the search term: it may be a name).
    note(request, list=list_name, page=page, returned=len(rows), search=search is not None)
    auditor: Auditor = request.app.state.auditor
    await auditor.record_async(request, None, "ok")
    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        request,
        "public/list.html",
        title=label(t, "list", list_name),
        list_name=list_name,
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        query=search.echo if search else "",
        # The pager continues this very search (the echo of a code is masked: searching
        # for it again would be another search).
        link=search.link if search else "",
    )


@router.get("/lists/{list_name}/{entry_id}", openapi_extra=audited("web.public.entry"))
async def public_entry(
    request: Request,
    list_name: ListName,
    entry_id: Annotated[int, Path(ge=1, le=2**62)],
) -> Response:
    t = translator(request)
    check_rate(request)
    engine = request.app.state.engine
    day = today()

    def read() -> EntryDetail | None:
        with engine.connect() as conn:
            return entry_detail(conn, list_name, entry_id, today=day)

    detail = await run_in_threadpool(read)
    if detail is None:
        # Not published (under notice, exited, past its exit date) or no such entry:
        # the same answer, so the site says nothing about unpublished entries.
        raise WebError(404, "not_published")
    n = note(request, list=list_name, entry=entry_id)
    n.subject_id = detail.subject_id
    auditor: Auditor = request.app.state.auditor
    await auditor.record_async(request, None, "ok")
    return render(
        request,
        "public/entry.html",
        title=t.plain("List entry"),
        list_name=list_name,
        d=detail,
    )


@router.get("/statistics")
async def statistics_page(request: Request) -> Response:
    t = translator(request)
    engine = request.app.state.engine
    day = today()

    def read() -> ListStatistics:
        with engine.connect() as conn:
            return list_statistics(conn, today=day)

    stats = await run_in_threadpool(read)
    figures = []
    for list_name in LIST_NAMES:
        per_province = stats.by_province.get(list_name, {})
        per_criterion = stats.by_criterion.get(list_name, {})
        list_label = label(t, "list", list_name)
        if not per_province:
            figures.append(
                {
                    "list_name": list_name,
                    "province": None,
                    "criterion": None,
                    "current": stats.current.get(list_name, {}),
                }
            )
            continue
        figures.append(
            {
                "list_name": list_name,
                "province": charts.columns(
                    stats.months,
                    [
                        charts.Series(province_name(code, t.language), values)
                        for code, values in per_province.items()
                    ],
                    charts.Labels(
                        title=t.plain("%(list)s: entries published per month, by province")
                        % {"list": list_label},
                        description=t.plain(
                            "Stacked columns, one per month; each colour is a province."
                        ),
                        table=t.plain("Data table"),
                        category=t.plain("Month"),
                        total=t.plain("Total"),
                    ),
                ),
                "criterion": charts.columns(
                    stats.months,
                    [
                        charts.Series(label(t, "criterion", code), values)
                        for code, values in per_criterion.items()
                    ],
                    charts.Labels(
                        title=t.plain("%(list)s: entries published per month, by category")
                        % {"list": list_label},
                        description=t.plain(
                            "Stacked columns, one per month; each colour is a listing category."
                        ),
                        table=t.plain("Data table"),
                        category=t.plain("Month"),
                        total=t.plain("Total"),
                    ),
                ),
                "current": stats.current.get(list_name, {}),
            }
        )
    return render(
        request,
        "public/statistics.html",
        title=t.plain("Statistics"),
        figures=figures,
        provinces=list(YRD_PROVINCES),
    )


@router.get("/catalogues")
async def catalogues(request: Request) -> Response:
    t = translator(request)
    day = today()
    catalogue = default_catalogue()
    measure_catalogues = [c for c in services.measure_catalogues() if c.in_force(day)]
    return render(
        request,
        "public/catalogues.html",
        title=t.plain("Published catalogues"),
        catalogue=catalogue,
        measure_catalogues=measure_catalogues,
        purposes=services.purpose_catalogue(),
    )


@router.get("/policies")
async def policies(request: Request) -> Response:
    t = translator(request)
    day = today()
    every = load_policies()
    in_force = [p for p in every if p.in_force(day)]
    upcoming = [p for p in every if p.effective_from > day]
    return render(
        request,
        "public/policies.html",
        title=t.plain("Scoring policies in force"),
        in_force=in_force,
        upcoming=upcoming,
        today=day,
    )


@router.get("/accuracy")
async def accuracy(request: Request) -> Response:
    t = translator(request)
    engine = request.app.state.engine

    def read() -> list[ProviderAccuracy]:
        with engine.connect() as conn:
            return provider_accuracy(conn)

    rows = await run_in_threadpool(read)
    return render(request, "public/accuracy.html", title=t.plain("Accuracy of the data"), rows=rows)


@router.get("/verify", openapi_extra=audited("web.public.certificate"))
async def verify_certificate(
    request: Request, code: Annotated[str | None, Query(max_length=40)] = None
) -> Response:
    """Check a certificate by the code printed on it (what its QR code leads to)."""
    t = translator(request)
    found: OnlineStatus | None = None
    if code and code.strip():
        check_rate(request)
        if normalise_code(code) is None:
            raise WebError(
                422,
                "malformed_code",
                t.plain("A verification code has 16 letters and digits, e.g. ABCD-EFGH-JKMN-PQRS."),
            )
        engine = request.app.state.engine

        def read() -> OnlineStatus | None:
            with engine.connect() as conn:
                return lookup(conn, code)

        found = await run_in_threadpool(read)
        if found is not None:
            # Whoever checks a certificate learns something about its holder: on record,
            # and the holder sees it among the accesses to their file.
            n = note(request, code=found.code)
            n.subject_id = found.subject_id
            auditor: Auditor = request.app.state.auditor
            await auditor.record_async(request, None, "ok")
    return render(
        request,
        "public/verify.html",
        title=t.plain("Verify a certificate"),
        code=code or "",
        found=found,
        checked=bool(code and code.strip()),
    )
