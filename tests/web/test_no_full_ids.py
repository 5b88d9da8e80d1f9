"""Every public page of a demo-like pilot, in both languages, without one full ID number.

The crawl starts at the home page and follows every local link that needs no login
(list pages, every entry, catalogues, statistics...), so a page added later is checked
as soon as something links to it.
"""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

from sqlalchemy import select

from socialcredit.db.models import Subject
from tests.web.conftest import DemoPilot, assert_no_full_ids, make_client

LINK = re.compile(r'href="([^"]+)"')
# Not public pages: logins, the API (its own tests), files, the language switch.
SKIP = ("/login", "/logout", "/portal", "/regulator", "/v1", "/static", "/lang/")


def crawl(client: object, start: str = "/") -> dict[str, str]:
    seen: dict[str, str] = {}
    queue = deque([start])
    while queue:
        path = queue.popleft()
        if path in seen:
            continue
        response = client.get(path)  # type: ignore[attr-defined]
        assert response.status_code == 200, (path, response.status_code)
        seen[path] = response.text
        for href in LINK.findall(response.text):
            href = urldefrag(href.replace("&amp;", "&"))[0]
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not href.startswith("/"):
                continue
            if href.startswith(SKIP) or href in seen:
                continue
            queue.append(href)
    return seen


def test_no_public_page_shows_a_full_id(demo_pilot: DemoPilot, tmp_path: Path) -> None:
    with demo_pilot.engine.connect() as conn:
        numbers = list(conn.scalars(select(Subject.code)))
    with make_client(
        demo_pilot.engine, tmp_path, search_per_minute=100_000.0, search_burst=100_000
    ) as client:
        pages = crawl(client)
        client.cookies.set("sc_lang", "en")
        pages_en = crawl(client)
    entries = [p for p in pages if re.fullmatch(r"/lists/black/\d+", p)]
    assert len(entries) >= 10, "the crawl reached the entry pages"
    assert any(p.startswith("/lists/black?") for p in pages) or len(entries) <= 20
    for path, html in [*pages.items(), *pages_en.items()]:
        try:
            assert_no_full_ids(html, numbers)
        except AssertionError as exc:
            raise AssertionError(f"{path}: {exc}") from None
