"""Browser tests: Debian's Chromium driven by Playwright, against one live server.

The server is uvicorn in a thread of the test process, on a free port, over a
demo-like pilot built once (``demo_pilot``). Chromium is the system one
(``/usr/bin/chromium``): Playwright never downloads a browser here. Without it the
tests skip locally, and fail under CI, where ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.web.conftest import DemoPilot, web_settings

CHROMIUM = Path(os.environ.get("SOCIALCREDIT_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is required in CI (apt-get install chromium)")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveSite:
    url: str
    pilot: DemoPilot

    def shot(self, page: Any, name: str) -> None:
        """A full-page screenshot under test-artifacts/, for people to look at."""
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="session")
def live_site(
    demo_pilot: DemoPilot, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveSite]:
    from socialcredit.api import ApiSettings, create_app
    from socialcredit.web.state import WebState

    work = tmp_path_factory.mktemp("site")
    env = pytest.MonkeyPatch()
    env.setenv("SOCIALCREDIT_SIGNING_KEY", str(work / "signing-key.pem"))
    app = create_app(demo_pilot.engine, ApiSettings())
    app.state.web = WebState.create(web_settings(work))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield LiveSite(f"http://127.0.0.1:{port}", demo_pilot)
    server.should_exit = True
    thread.join(timeout=10)
    env.undo()
