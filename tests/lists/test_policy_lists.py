"""The ``lists`` section of policy: shipped criteria, merging along ``extends``, and lint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from socialcredit.policy import check_paths, find_policy, load_policies
from socialcredit.policy.diff import rule_changes
from tests.policy.conftest import regional

LAW = "《上海市社会信用条例》"


def _codes(tmp_path: Path, doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    return [(f.severity, f.code, f.path) for f in check_paths([path]).findings]


def _black(*entry: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {"black": {**settings, "entry": list(entry)}}


def test_shipped_lists() -> None:
    policies = {p.ref: p for p in load_policies()}
    national = policies["cn-national@2026.1"]
    black, red = national.lists.black, national.lists.red
    assert (black.notice_working_days, black.min_age, red.notice_working_days) == (5, 18, 5)
    court = black.criterion_for("court.dishonest_debtor")
    assert court is not None and court.id == "court-dishonest-debtor"
    assert (court.duration_months, court.extra_months_with_reason) == (24, (12, 36))
    for code in (
        "court.consumption_restriction",
        "finance.illegal_fundraising",
        "fraud.contract",
        "fraud.telecom",
        "tax.evasion",
        "tax.invoice_fraud",
        "market.food_safety",
    ):
        criterion = black.criterion_for(code)
        assert criterion is not None and criterion.legal_basis.strip(), code
    assert black.criterion_for("traffic.drunk_driving") is None
    (aaa,) = red.criteria
    assert (aaa.grade, aaa.clean_years) == ("AAA", 3)
    # Regional additions and overrides, by id; the rest inherited.
    jiangsu = policies["cn-32-jiangsu@2026.1"].lists.black
    bribery = jiangsu.criterion_for("medical.kickbacks")
    assert bribery is not None and bribery.defined_in == "cn-32-jiangsu@2026.1"
    food = policies["cn-31-shanghai@2026.1"].lists.black.criterion_for("market.food_safety")
    assert food is not None and "上海市食品安全条例" in food.legal_basis
    assert policies["cn-33-zhejiang@2026.1"].lists == national.lists


def test_a_regional_file_overrides_settings_and_criteria(tmp_path: Path) -> None:
    doc = regional(
        lists={
            "black": {
                "notice_working_days": 7,
                "entry": [
                    {
                        "id": "serious-fraud",
                        "record_types": ["fraud.contract", "fraud.telecom", "fraud.insurance"],
                        "duration_months": 24,
                        "legal_basis": LAW,
                    }
                ],
            },
            "red": {
                "entry": [{"id": "aa-clean", "grade": "AA", "clean_years": 5, "legal_basis": LAW}]
            },
        }
    )
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    report = check_paths([path])
    assert report.findings == ()
    (policy,) = report.policies
    black = policy.lists.black
    assert (black.notice_working_days, black.min_age) == (7, 18)
    fraud = black.criterion_for("fraud.insurance")
    assert fraud is not None and fraud.duration_months == 24
    assert black.criterion_for("court.dishonest_debtor") is not None  # inherited
    assert [c.id for c in policy.lists.red.criteria] == ["aa-clean", "aaa-clean-record"]
    national = find_policy(load_policies(), "cn-national@2026.1")
    changes = {(c.section, c.key, c.change) for c in rule_changes(national, policy)}
    assert ("list_setting", "black.notice_working_days", "changed") in changes
    assert ("list_criterion", "black:serious-fraud", "changed") in changes
    assert ("list_criterion", "red:aa-clean", "added") in changes


def test_black_list_criteria_lint(tmp_path: Path) -> None:
    doc = regional(
        lists=_black(
            {"id": "no-basis", "record_types": ["fraud.telecom"]},
            {
                "id": "by-grade",
                "record_types": ["fraud.contract"],
                "grade": "D",
                "legal_basis": LAW,
            },
            {
                "id": "by-score",
                "record_types": ["tax.evasion"],
                "score_below": 600,
                "legal_basis": LAW,
            },
            {"id": "minor-type", "record_types": ["traffic.speeding"], "legal_basis": LAW},
            {"id": "typo", "record_types": ["fraud.telecon"], "legal_basis": LAW},
            {
                "id": "too-long",
                "record_types": ["court.dishonest_debtor"],
                "duration_months": 36,
                "extra_months_with_reason": [36, 12],
                "legal_basis": LAW,
            },
            {"id": "no-basis", "record_types": ["fraud.telecom"], "legal_basis": " "},
            min_age=16,
        )
    )
    assert _codes(tmp_path, doc) == [
        ("error", "black-list-admits-minors", "lists.black.min_age"),
        ("error", "list-criterion-without-legal-basis", "lists.black.entry[0].legal_basis"),
        ("error", "black-list-on-score-or-grade", "lists.black.entry[1].grade"),
        ("error", "black-list-on-score-or-grade", "lists.black.entry[2].score_below"),
        ("error", "black-list-record-not-serious", "lists.black.entry[3].record_types[0]"),
        ("error", "unknown-record-type", "lists.black.entry[4].record_types[0]"),
        ("error", "list-duration-beyond-window", "lists.black.entry[5].duration_months"),
        ("error", "list-extra-months-inverted", "lists.black.entry[5].extra_months_with_reason"),
        ("error", "list-criterion-without-legal-basis", "lists.black.entry[6].legal_basis"),
        ("error", "duplicate-list-criterion", "lists.black.entry[6].id"),
    ]


def test_merged_list_checks(tmp_path: Path) -> None:
    twice = regional(
        lists=_black({"id": "telecom", "record_types": ["fraud.telecom"], "legal_basis": LAW})
    )
    assert _codes(tmp_path, twice) == [
        ("error", "list-record-type-twice", "lists.black.entry[0].record_types")
    ]
    red = regional(
        lists={
            "red": {"entry": [{"id": "x", "grade": "AAAA", "clean_years": 3, "legal_basis": LAW}]}
        }
    )
    assert _codes(tmp_path, red) == [("error", "unknown-grade", "lists.red.entry[0].grade")]
    blank = regional(lists={"red": {"entry": [{"id": "x", "grade": "AAA", "clean_years": 3}]}})
    assert _codes(tmp_path, blank) == [
        ("error", "list-criterion-without-legal-basis", "lists.red.entry[0].legal_basis")
    ]
