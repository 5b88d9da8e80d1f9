"""Public, without a key: the published lists and the catalogues the rules come from.

Open to everyone because publication is the point: the black and red lists are
disclosed by law (with masked IDs), and the purposes, measures and record types
are the published rules that make every decision contestable.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from socialcredit.api import services
from socialcredit.api.auditing import audited, note
from socialcredit.api.deps import AuditorDep, EngineDep
from socialcredit.api.errors import ApiError, responses
from socialcredit.api.schemas import (
    MeasureCatalogues,
    MeasureCatalogueView,
    PublicListEntry,
    PublicListPage,
    Purpose,
    PurposeCatalogue,
    RecordTypeCatalogue,
)
from socialcredit.records.catalogue import default_catalogue

router = APIRouter(prefix="/public", tags=["public"])

LISTS = ("black", "red")


@router.get(
    "/lists/{list_name}",
    response_model=PublicListPage,
    summary="Published entries of the black or red list",
    responses=responses(404, 422, 503),
    openapi_extra=audited("public.lists.read"),
)
async def public_list(
    request: Request,
    engine: EngineDep,
    auditor: AuditorDep,
    list_name: Annotated[str, Path(description="black or red")],
    q: Annotated[
        str | None, Query(max_length=100, description="Part of a name, or a full ID number.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PublicListPage:
    if list_name not in LISTS:
        raise ApiError(404, "unknown_list", f"no list {list_name!r}; one of: {', '.join(LISTS)}")
    search = q.strip() if q and q.strip() else None
    if search is not None and not search.isprintable():
        raise ApiError(422, "invalid_query", "q must not contain control characters")

    def page() -> tuple[list[services.PublicEntry], int]:
        with engine.connect() as conn:
            return services.public_page(conn, list_name, limit=limit, offset=offset, search=search)

    entries, total = await run_in_threadpool(page)
    # Published data is still personal data: who browsed or searched the lists is
    # recorded (not the search term, which may be a name or an ID), like any other read.
    note(request, list=list_name, offset=offset, returned=len(entries), search=bool(search))
    await auditor.record_async(request, None, "ok")
    return PublicListPage(
        list_name=list_name,
        limit=limit,
        offset=offset,
        total=total,
        entries=[PublicListEntry.model_validate(e.as_dict()) for e in entries],
    )


@router.get("/purposes", response_model=PurposeCatalogue, summary="Published query purposes")
async def purposes() -> PurposeCatalogue:
    return PurposeCatalogue(
        purposes=[Purpose.model_validate(p.as_dict()) for p in services.purpose_catalogue()]
    )


@lru_cache(maxsize=1)
def _measures() -> MeasureCatalogues:
    return MeasureCatalogues(
        catalogues=[
            MeasureCatalogueView.model_validate(c.as_dict()) for c in services.measure_catalogues()
        ]
    )


@router.get(
    "/measures",
    response_model=MeasureCatalogues,
    summary="Published measures catalogues (national and regional, every version)",
)
async def measures() -> MeasureCatalogues:
    return _measures()


@lru_cache(maxsize=1)
def _record_types() -> RecordTypeCatalogue:
    return RecordTypeCatalogue.model_validate(default_catalogue())


@router.get(
    "/record-types", response_model=RecordTypeCatalogue, summary="Published record catalogue"
)
async def record_types() -> RecordTypeCatalogue:
    return _record_types()
