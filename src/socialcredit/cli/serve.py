"""``socialcredit serve``: the API over the configured store, with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from socialcredit.cli.common import console, store


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    log_level: Annotated[
        str, typer.Option("--log-level", help="uvicorn log level: info, warning, error...")
    ] = "info",
) -> None:
    """Serve the web pages and the REST API (docs at /v1/docs, OpenAPI at /v1/openapi.json)."""
    import uvicorn

    from socialcredit.api import create_app

    app = create_app(store())
    site = f"http://{host}:{port}"
    console.print(
        f"Serving the site on {site}/ (public lists, /login for the subject portal and the "
        f"regulator dashboard) and the API on {site}/v1 (docs: {site}/v1/docs)",
        highlight=False,
    )
    # One process: the rate limits and the audit group commit live in it.
    uvicorn.run(app, host=host, port=port, log_level=log_level)
