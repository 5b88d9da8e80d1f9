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
    """Serve the REST API (docs at /v1/docs, OpenAPI at /v1/openapi.json)."""
    import uvicorn

    from socialcredit.api import create_app

    app = create_app(store())
    console.print(f"Serving the API on http://{host}:{port}/v1 (docs: /v1/docs)")
    # One process: the rate limits and the audit group commit live in it.
    uvicorn.run(app, host=host, port=port, log_level=log_level)
