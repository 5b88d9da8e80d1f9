"""The printable pages: bilingual labels, everything escaped, no full ID number."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from socialcredit.db.engine import session_scope
from socialcredit.db.models import Record, Subject
from socialcredit.reports import (
    CREDIT_REPORT,
    NO_DISHONESTY_RECORD,
    SigningKey,
    build_report,
    issue_certificate,
    render_report,
    verify_file,
)
from socialcredit.reports.certificate import read_document
from tests.reports.conftest import POLICE, TODAY, World, object_to

D = dt.date
EVIL = '<script>alert("x")</script>&'


def test_report_page(world: World) -> None:
    p = world.person()
    world.record(POLICE, p, "traffic.speeding", D(2026, 11, 2), prid="TP-5")
    object_to(world.engine, p, "TP-5", TODAY)
    # Text from feeds and people is data, never markup.
    with session_scope(world.engine) as s:
        s.execute(update(Record).values(decision_ref=EVIL))
    with world.engine.connect() as conn:
        page = render_report(build_report(conn, p.id, TODAY))
    assert page.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in page
    assert "<script>" not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;" in page
    for label in ("身份信息", "Identity", "信用记录", "Records", "查询记录", "Access history"):
        assert label in page
    assert "异议中 Disputed" in page
    assert p.name in page and p.number not in page and p.number[6:14] not in page
    assert "免费 Free of charge" in page


def test_certificate_page_cannot_be_broken_out_of(world: World) -> None:
    p = world.person()
    with session_scope(world.engine) as s:
        s.execute(update(Subject).where(Subject.id == p.id).values(name="张" + EVIL))
    key = SigningKey.generate()
    for kind in (CREDIT_REPORT, NO_DISHONESTY_RECORD):
        with world.engine.begin() as conn:
            issued = issue_certificate(conn, p.id, kind, key, issued_by="test")
        page = issued.html_bytes().decode()
        # One <script> element only: the embedded data, whose "<" are JSON escapes.
        assert page.count("<script") == 1 and page.count("</script>") == 1
        assert "<svg" in page and issued.payload["code"] in page
        form, document = read_document(issued.html_bytes())
        assert form == "html" and document == issued.document
        assert verify_file(issued.html_bytes(), key.public).ok
