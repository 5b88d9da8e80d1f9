"""``GET /v1/health``: the process answers. Touches no store, so it is the benchmark's
baseline for what the framework alone costs."""

from __future__ import annotations

from fastapi import APIRouter

from socialcredit.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Liveness")
async def health() -> Health:
    return Health()
