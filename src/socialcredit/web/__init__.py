"""Server-rendered pages, served by the API's app: the public disclosure site, the
subject portal and the regulator's dashboard, in simplified Chinese and English.

``mount`` adds them to an app built by ``api.create_app``; the API under ``/v1`` is left
as it was (its routes, its JSON errors, its OpenAPI document).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from socialcredit.web.settings import WebSettings

STATIC_DIR = Path(__file__).parent / "static"


def mount(app: FastAPI, settings: WebSettings | None = None) -> None:
    """Add the pages, their static files and their error pages to ``app``."""
    # Imported here: the API package imports this one, and the routers import the API's
    # audit helpers.
    from socialcredit.web import errors
    from socialcredit.web.routers.auth import router as auth_router
    from socialcredit.web.routers.portal import router as portal_router
    from socialcredit.web.routers.public import router as public_router
    from socialcredit.web.routers.regulator import router as regulator_router
    from socialcredit.web.state import WebState

    app.state.web = WebState.create(settings or WebSettings.from_env())
    errors.install(app)
    for router in (public_router, auth_router, portal_router, regulator_router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


__all__ = ["WebSettings", "mount"]
