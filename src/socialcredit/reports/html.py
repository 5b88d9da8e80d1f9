"""Printable HTML: the subject report and certificates, from Jinja2 templates.

Autoescaped throughout: names, decision references and reasons come from feeds and
people, and must never become markup. The only markup inserted as is is what this module
makes itself (the QR code's SVG, the embedded certificate data with ``<``, ``>`` and
``&`` escaped as JSON ``\\u`` sequences, so it cannot end its ``<script>`` element).

Rendering is deterministic — the same document gives the same bytes — because offline
verification re-renders an HTML certificate and compares it byte for byte.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import segno
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from socialcredit.reports.model import SubjectReport

# Chinese labels for the codes a report shows (the English is the code itself).
LABELS: dict[str, str] = {
    "person": "自然人 person",
    "organisation": "法人和非法人组织 organisation",
    "minor": "轻微 minor",
    "general": "一般 general",
    "serious": "严重 serious",
    "negative": "失信 negative",
    "positive": "守信 positive",
    "active": "有效 active",
    "annulled": "已撤销 annulled",
    "corrected": "已更正 corrected",
    "repaired": "已修复 repaired",
    "expired": "已到期 expired",
    "black": "黑名单 black list",
    "red": "红名单 red list",
    "pending_notice": "告知期 under notice",
    "published": "已公布 published",
    "exited": "已移出 exited",
    "reward": "激励 reward",
    "sanction": "惩戒 sanction",
    "counted": "计分 counted",
    "category_not_in_force": "类别未启用 category not in force",
    "no_rule": "无规则 no rule",
    "cap": "类别上下限 category cap",
}


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("socialcredit.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_report(report: SubjectReport) -> str:
    return environment().get_template("report.html").render(r=report, labels=LABELS)


def qr_svg(text: str) -> Markup:
    """A QR code (always a full-size one, never a Micro QR) as inline SVG."""
    # Safe as markup: segno draws the code's modules as paths; the text is never copied in.
    return Markup(segno.make_qr(text, error="m").svg_inline(scale=3, border=2))


def embedded_json(document: dict[str, Any]) -> Markup:
    data = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    # Safe inside <script>: nothing left can end the element or start a comment.
    return Markup(data)


def render_certificate(document: dict[str, Any]) -> str:
    """The HTML form of a certificate document (``reports.certificate``)."""
    payload = document["payload"]
    content = document["content"]
    report: SubjectReport | None = None
    if payload["kind"] == "credit_report":
        # The signed content is the report without its access history.
        report = SubjectReport.model_validate({**content, "accesses": []})
    return (
        environment()
        .get_template("certificate.html")
        .render(
            p=payload,
            content=content,
            r=report,
            labels=LABELS,
            qr=qr_svg(str(payload["verify_url"])),
            data=embedded_json(document),
        )
    )
