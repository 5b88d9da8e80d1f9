"""End to end in Chromium: the public site, the language switch, a subject's objection
reaching the regulator's queue, the charts, and a script in a name staying text."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.web.browser.conftest import LiveSite
from tests.web.conftest import XSS_NAME

pytestmark = pytest.mark.browser

MASKED = re.compile(r"^[0-9A-Z]{4}\*{10}[0-9A-Z]{4}$")


def test_search_the_black_list_and_open_an_entry(page: Page, live_site: LiveSite) -> None:
    page.goto(live_site.url + "/")
    live_site.shot(page, "01-home")
    page.get_by_role("link", name="黑名单").first.click()
    expect(page.locator("h1")).to_have_text("黑名单")
    first = page.locator("table.data tbody tr").first
    name = first.locator("td").first.inner_text()
    masked = first.locator("td.mono").inner_text()
    assert MASKED.match(masked), masked
    # Search by the masked ID as the page shows it.
    page.get_by_label("姓名、打码的证件号码或信用代码").fill(masked)
    page.get_by_role("button", name="搜索").click()
    expect(page.locator("p.count")).to_contain_text("1")
    live_site.shot(page, "02-black-list-search")
    page.get_by_role("link", name=name).first.click()
    expect(page.locator("h1")).to_have_text("名单条目")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(masked)
    expect(facts).to_contain_text("法")  # the legal basis and the issuing court
    live_site.shot(page, "03-entry")


def test_switch_to_english_and_back(page: Page, live_site: LiveSite) -> None:
    page.goto(live_site.url + "/statistics")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    # The keyboard reaches the skip link first, and it leads to the content.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Statistics")
    assert page.url.endswith("/statistics")
    page.goto(live_site.url + "/lists/black")
    expect(page.locator("h1")).to_have_text("Black list")
    live_site.shot(page, "04-black-list-en")
    page.get_by_role("link", name="中文").click()
    expect(page.locator("h1")).to_have_text("黑名单")


def _log_in(page: Page, live_site: LiveSite, role: str) -> None:
    page.goto(live_site.url + "/login")
    page.get_by_label("您的密钥").fill(live_site.pilot.keys[role])
    page.get_by_role("button", name="登录").click()


def test_subject_objects_and_the_regulator_sees_it(page: Page, live_site: LiveSite) -> None:
    _log_in(page, live_site, "subject")
    expect(page).to_have_url(re.compile(r"/portal$"))
    expect(page.locator(".score-number")).to_have_text(re.compile(r"^\d+$"))
    live_site.shot(page, "05-portal-report")
    page.locator(".sub-nav").get_by_role("link", name="提出异议").click()
    page.locator("input[name=record_id]").first.check()
    page.get_by_label("为什么有误？").fill("该判决已于上月履行完毕，附法院结案通知书。")
    page.get_by_label(re.compile("证据")).set_input_files(
        files=[
            {
                "name": "结案通知书.pdf",
                "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4\n% case closed\n",
            }
        ]
    )
    live_site.shot(page, "06-objection-form")
    page.get_by_role("button", name="提交异议").click()
    expect(page.locator(".notice.success")).to_be_visible()
    case = page.locator("#objections tbody tr").first.locator("td").first.inner_text()
    assert re.fullmatch(r"#\d+", case), case
    live_site.shot(page, "07-portal-cases")
    page.get_by_role("button", name="退出").click()

    _log_in(page, live_site, "regulator")
    expect(page).to_have_url(re.compile(r"/regulator$"))
    page.locator(".sub-nav").get_by_role("link", name="异议与修复").click()
    queue = page.locator("#objection-queue")
    expect(queue).to_contain_text(case)
    live_site.shot(page, "08-regulator-objections")


def test_regulator_charts_render_with_data(page: Page, live_site: LiveSite) -> None:
    _log_in(page, live_site, "regulator")
    charts = page.locator("figure.chart svg")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 3
    bars = page.locator("figure.chart svg rect[data-value]")
    assert bars.count() > 0
    values = [int(v) for v in bars.evaluate_all("els => els.map(e => e.dataset.value)")]
    assert sum(values) > 0
    box = bars.first.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    live_site.shot(page, "09-regulator-dashboard")
    page.locator(".sub-nav").get_by_role("link", name="政策草案影响").click()
    live_site.shot(page, "10-regulator-impact")
    page.locator(".sub-nav").get_by_role("link", name="数据报送状况").click()
    expect(page.locator("#feed-health")).to_be_visible()
    live_site.shot(page, "11-regulator-feeds")
    page.goto(live_site.url + "/statistics")
    assert page.locator("figure.chart svg rect[data-value]").count() > 0
    live_site.shot(page, "12-statistics")


def test_a_script_in_a_name_is_shown_as_text(page: Page, live_site: LiveSite) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live_site.url}/lists/black/{live_site.pilot.xss_entry}")
    expect(page.locator(".subject-name")).to_have_text(XSS_NAME)
    assert page.locator("main script").count() == 0
    page.goto(live_site.url + "/lists/black?q=script")
    expect(page.locator("table.data")).to_contain_text(XSS_NAME)
    assert dialogs == []
    live_site.shot(page, "13-escaped-name")
