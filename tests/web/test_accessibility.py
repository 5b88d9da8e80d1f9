"""Accessibility basics on every page: a title, the language, one heading, a skip link,
and a label for every form field."""

from __future__ import annotations

from html.parser import HTMLParser

from fastapi.testclient import TestClient

from tests.web.conftest import WebWorld, login

FIELDS = ("input", "select", "textarea")
UNLABELLED_TYPES = ("hidden", "submit", "button")


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.lang: str | None = None
        self.h1 = 0
        self.skip_link = False
        self.labelled: set[str] = set()
        self.fields: list[dict[str, str | None]] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "title":
            self._in_title = True
        elif tag == "h1":
            self.h1 += 1
        elif tag == "a" and a.get("href") == "#main":
            self.skip_link = True
        elif tag == "label" and a.get("for"):
            self.labelled.add(str(a["for"]))
        elif tag in FIELDS and a.get("type") not in UNLABELLED_TYPES:
            self.fields.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def check(path: str, html: str) -> None:
    page = Page()
    page.feed(html)
    assert page.title.strip(), f"{path}: no title"
    assert page.lang in ("zh-Hans", "en"), f"{path}: lang {page.lang}"
    assert page.h1 == 1, f"{path}: {page.h1} h1 elements"
    assert page.skip_link, f"{path}: no skip link"
    for field in page.fields:
        named = field.get("id") in page.labelled or field.get("aria-label")
        assert named, f"{path}: a {field.get('name')} field without a label"


def test_public_pages(client: TestClient, world: WebWorld) -> None:
    paths = [
        "/",
        "/lists/black",
        "/lists/red",
        "/statistics",
        "/catalogues",
        "/policies",
        "/accuracy",
        "/login",
        f"/lists/black/{world.entry_id(world.subject)}",
        "/nope",
    ]
    for path in paths:
        check(path, client.get(path, headers={"Accept": "text/html"}).text)


def test_portal_pages(client: TestClient, world: WebWorld) -> None:
    login(client, world.keys["subject"])
    for path in (
        "/portal",
        "/portal/accesses",
        "/portal/cases",
        "/portal/objections/new",
        "/portal/repair/new",
        "/portal/certificate",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        check(path, response.text)


def test_regulator_pages(client: TestClient, world: WebWorld) -> None:
    login(client, world.keys["regulator"])
    for path in ("/regulator", "/regulator/objections", "/regulator/impact", "/regulator/feeds"):
        response = client.get(path)
        assert response.status_code == 200, path
        check(path, response.text)


def test_the_check_finds_an_unlabelled_field() -> None:
    page = '<html lang="en"><title>t</title><h1>x</h1><a href="#main">s</a><input name="q">'
    try:
        check("/x", page)
    except AssertionError as exc:
        assert "without a label" in str(exc)
    else:
        raise AssertionError("an unlabelled field was not found")
