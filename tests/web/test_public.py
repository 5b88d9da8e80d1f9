"""The public disclosure site, on both stores."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from socialcredit.identity.ids import mask
from tests.web.conftest import (
    COURT,
    XSS_NAME,
    WebWorld,
    assert_no_full_ids,
    audit_rows,
    make_client,
)

PUBLIC_PAGES = (
    "/",
    "/lists/black",
    "/lists/red",
    "/statistics",
    "/catalogues",
    "/policies",
    "/accuracy",
    "/login",
)


def test_every_public_page_renders_with_title_and_headers(
    client: TestClient, world: WebWorld
) -> None:
    for path in PUBLIC_PAGES:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert re.search(r"<title>[^<]+</title>", response.text), path
        assert '<html lang="zh-Hans">' in response.text
        assert_no_full_ids(response.text, world.full_ids)


def test_black_list_shows_published_entries_masked(client: TestClient, world: WebWorld) -> None:
    html = client.get("/lists/black").text
    assert world.subject.name in html
    assert mask(world.subject.number) in html
    assert world.clean.name not in html  # no record, no entry
    assert re.search(r'role="status">[^<]*\b2\b', html), "two entries found"


def test_search_by_name_masked_id_and_code(client: TestClient, world: WebWorld) -> None:
    by_name = client.get("/lists/black", params={"q": world.subject.name[1:]}).text
    assert mask(world.subject.number) in by_name
    assert mask(world.xss.number) not in by_name
    by_mask = client.get("/lists/black", params={"q": mask(world.xss.number)}).text
    assert mask(world.xss.number) in by_mask
    assert mask(world.subject.number) not in by_mask
    # A whole number finds its holder, and is not echoed back whole.
    by_number = client.get("/lists/black", params={"q": world.subject.number})
    assert mask(world.subject.number) in by_number.text
    assert_no_full_ids(by_number.text, world.full_ids)
    nobody = client.get("/lists/black", params={"q": world.clean.number}).text
    assert world.clean.name not in nobody
    bad = client.get("/lists/black", params={"q": "31**1"})
    assert bad.status_code == 422
    assert "text/html" in bad.headers["content-type"]


def test_entry_page_shows_the_decision(client: TestClient, world: WebWorld) -> None:
    entry = world.entry_id(world.subject)
    response = client.get(f"/lists/black/{entry}")
    assert response.status_code == 200
    html = response.text
    assert mask(world.subject.number) in html
    assert COURT in html  # issuing body
    assert "沪01执1200号" in html  # decision reference
    assert "法释〔2017〕7号" in html  # legal basis of the listing criterion
    assert "限制乘坐飞机" in html  # a measure that follows from it
    assert_no_full_ids(html, world.full_ids)
    # The same entry is not on the red list, and unknown entries are 404 pages.
    assert client.get(f"/lists/red/{entry}").status_code == 404
    missing = client.get("/lists/black/999999")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]


def test_reading_entries_is_audited(client: TestClient, world: WebWorld) -> None:
    before = len(audit_rows(world.engine, "web.public.entry"))
    entry = world.entry_id(world.xss)
    assert client.get(f"/lists/black/{entry}").status_code == 200
    rows = audit_rows(world.engine, "web.public.entry")
    assert len(rows) == before + 1
    assert rows[-1].subject_id == world.xss.id
    assert rows[-1].role == "public"
    client.get("/lists/black", params={"q": world.subject.name})
    listed = audit_rows(world.engine, "web.public.list")
    assert listed and world.subject.name not in listed[-1].detail  # the term is not kept


def test_names_are_escaped(client: TestClient, world: WebWorld) -> None:
    for path in ("/lists/black", f"/lists/black/{world.entry_id(world.xss)}"):
        html = client.get(path).text
        assert XSS_NAME not in html
        assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in html


def test_public_reads_are_rate_limited(world: WebWorld, tmp_path: Path) -> None:
    with make_client(world.engine, tmp_path, search_per_minute=1.0, search_burst=2) as c:
        assert c.get("/lists/black").status_code == 200
        assert c.get("/lists/black", params={"q": "张"}).status_code == 200
        limited = c.get("/lists/black")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert "/v1/docs" in limited.text  # the bulk API is the way for many entries
        # Catalogues and statistics carry no personal data and are not limited.
        assert c.get("/catalogues").status_code == 200


def test_language_switch(client: TestClient) -> None:
    zh = client.get("/lists/black").text
    assert "失信" in zh or "黑名单" in zh
    switched = client.get("/lang/en", params={"next": "/lists/black?q=x"}, follow_redirects=False)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/lists/black?q=x"
    en = client.get("/lists/black").text
    assert '<html lang="en">' in en
    assert "Black list" in en
    # Only local targets: another site is never a redirect target.
    away = client.get("/lang/zh_Hans", params={"next": "//evil.example/"}, follow_redirects=False)
    assert away.headers["location"] == "/"
    assert '<html lang="zh-Hans">' in client.get("/").text
    assert client.get("/lang/fr").status_code == 404


def test_catalogues_policies_and_accuracy(client: TestClient, world: WebWorld) -> None:
    catalogues = client.get("/catalogues").text
    assert "traffic.speeding" in catalogues and "transport_ticketing" in catalogues
    policies = client.get("/policies").text
    assert "cn-national@2026.1" in policies
    assert "《" in policies  # legal bases are shown
    accuracy = client.get("/accuracy").text
    assert COURT in accuracy


def test_statistics_draw_charts(client: TestClient) -> None:
    html = client.get("/statistics").text
    assert html.count("<svg") == 2  # the black list by province and by category
    assert "这几个月本名单没有公示条目" in html  # the red list has no entries
    assert re.search(r'<rect [^>]*data-value="2"', html), "the two black-list entries"


def test_api_errors_stay_json(client: TestClient) -> None:
    response = client.get("/v1/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    # A path nobody serves: a page for a browser, the API's error for an API client.
    page = client.get("/nope", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert client.get("/nope").json()["error"]["code"] == "not_found"


def test_no_entry_is_shown_when_the_audit_log_fails(client: TestClient, world: WebWorld) -> None:
    from tests.api.conftest import break_audit_log, repair_audit_log

    entry = world.entry_id(world.subject)
    break_audit_log(world.engine)
    try:
        for path in ("/lists/black", f"/lists/black/{entry}"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert world.subject.name not in response.text
            assert mask(world.subject.number) not in response.text
    finally:
        repair_audit_log(world.engine)
    assert client.get(f"/lists/black/{entry}").status_code == 200


def _same_mask_other_number(number: str) -> str:
    """Another 18-character number with the same printed mask (the middle changed)."""
    middle = "".join(str((int(c) + 1) % 10) for c in number[4:14])
    return number[:4] + middle + number[14:]


def test_the_search_is_no_oracle_for_id_numbers(client: TestClient, world: WebWorld) -> None:
    number = world.subject.number
    # Extending the known prefix one character at a time is refused outright...
    for guess in (number[:5] + "*" * 9 + number[-4:], number[:13] + "*" + number[-4:]):
        response = client.get("/lists/black", params={"q": guess})
        assert response.status_code == 422, guess
        assert world.subject.name not in response.text
    # ...and a whole number finds what its mask finds, whether it is right or not: a
    # guess is never confirmed.
    right = client.get("/lists/black", params={"q": number}).text
    wrong = client.get("/lists/black", params={"q": _same_mask_other_number(number)}).text
    by_mask = client.get("/lists/black", params={"q": mask(number)}).text
    for html in (right, wrong, by_mask):
        assert world.subject.name in html
        assert_no_full_ids(html, world.full_ids)


def test_the_pager_goes_on_with_the_same_search(
    client: TestClient, world: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Page 2 of a search by credit code is page 2 of that search, not of its masked echo."""
    from sqlalchemy import update

    from socialcredit.db.models import ListEntry

    monkeypatch.setattr("socialcredit.web.routers.public.PAGE_SIZE", 1)
    with world.engine.begin() as conn:  # the organisation holds both published entries
        conn.execute(
            update(ListEntry)
            .where(ListEntry.status == "published", ListEntry.list_name == "black")
            .values(subject_id=world.org.id)
        )
    code = world.org.number
    first = client.get("/lists/black", params={"q": code})
    assert first.status_code == 200
    assert f'value="{mask(code)}"' in first.text  # the box echoes it masked
    following = re.search(r'rel="next" href="([^"]+)"', first.text)
    assert following, "a second page"
    link = following.group(1).replace("&amp;", "&")
    assert link == f"/lists/black?{urlencode({'q': code, 'page': 2})}"
    second = client.get(link)
    assert second.status_code == 200 and world.org.name in second.text


def test_ipv6_clients_are_limited_by_their_64(world: WebWorld, tmp_path: Path) -> None:
    from socialcredit.api import ApiSettings, create_app
    from socialcredit.web.routers.public import rate_key
    from socialcredit.web.state import WebState
    from tests.web.conftest import web_settings

    assert rate_key("2001:db8:1:2::10") == rate_key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert rate_key("2001:db8:1:3::10") != rate_key("2001:db8:1:2::10")
    assert rate_key("203.0.113.7") == rate_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert rate_key("203.0.113.8") != rate_key("203.0.113.7")

    app = create_app(world.engine, ApiSettings())
    app.state.web = WebState.create(web_settings(tmp_path, search_per_minute=1.0, search_burst=1))

    def at(host: str) -> TestClient:
        return TestClient(app, base_url="https://testserver", client=(host, 50000))

    with at("2001:db8:1:2::10") as first:
        assert first.get("/lists/black").status_code == 200
        # A fresh address in the same /64 is the same reader...
        assert at("2001:db8:1:2::11").get("/lists/black").status_code == 429
        # ...another /64 is another one.
        assert at("2001:db8:1:3::10").get("/lists/black").status_code == 200
