"""`policy check` findings: each with its code and key path, on broken files of every kind."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from socialcredit.policy import check_paths
from socialcredit.records.catalogue import Catalogue, default_catalogue

from .conftest import FIXTURES, Writer, regional

LAW = "《上海市社会信用条例》"


def _expected(path: Path) -> set[tuple[str, str, str]]:
    """The findings a fixture announces in its ``# -> code path [(warning)]`` comments."""
    out = set()
    for line in path.read_text("utf-8").splitlines():
        m = re.search(r"# -> (\S+) (\S+)( \(warning\))?", line)
        if m:
            out.add(("warning" if m.group(3) else "error", m.group(1), m.group(2)))
    return out


def _found(path: Path, **kwargs: Any) -> set[tuple[str, str, str]]:
    return {(f.severity, f.code, f.path) for f in check_paths([path], **kwargs).findings}


def _codes(path: Path, **kwargs: Any) -> list[tuple[str, str]]:
    return [(f.code, f.path) for f in check_paths([path], **kwargs).findings]


@pytest.mark.parametrize("name", ["cn-31-broken-2026.1.yaml", "cn-31-typos-2026.1.yaml"])
def test_broken_fixture_reports_exactly_the_announced_findings(name: str) -> None:
    path = FIXTURES / "broken" / name
    expected = _expected(path)
    assert len(expected) >= 5
    assert _found(path) == expected


def test_findings_name_the_file_and_carry_helpful_messages() -> None:
    path = FIXTURES / "broken" / "cn-31-typos-2026.1.yaml"
    by_path = {f.path: f for f in check_paths([path]).findings}
    assert all(f.file == str(path) for f in by_path.values())
    assert "did you mean 'effective_until'" in by_path["efective_until"].message
    assert "did you mean 'repeat'" in by_path["rules[1].repat"].message
    assert "quote the version" in by_path["version"].message
    assert "2026-13-01" in by_path["effective_from"].message
    assert str(by_path["rules[1].points"]) == (
        f"{path}: rules[1].points: Input should be a valid integer"
    )


def test_a_rule_without_legal_basis_is_a_lint_finding_not_a_schema_one(write: Writer) -> None:
    rules = [
        {"record_type": "traffic.speeding", "points": -5, "legal_basis": LAW},
        {"record_type": "traffic.red_light", "points": -5},
        {"record_type": "traffic.jaywalking", "points": -1, "legal_basis": ""},
    ]
    path = write("p.yaml", regional(rules=rules))
    assert _codes(path) == [
        ("rule-without-legal-basis", "rules[1].legal_basis"),
        ("rule-without-legal-basis", "rules[2].legal_basis"),
    ]


# --- grade bands -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grades", "expected"),
    [
        (
            [{"grade": "A", "min": 100}, {"grade": "B", "min": 0, "max": 100}, {"grade": "C"}],
            [
                ("grade-bands-overlap", "grades[1].max"),
                ("grade-bands-overlap", "grades[2].max"),
            ],
        ),
        (
            [{"grade": "A", "min": 100}, {"grade": "B", "max": 90}],
            [("grade-bands-gap", "grades[1].max")],
        ),
        (
            [{"grade": "A", "min": 100}, {"grade": "A", "max": 99}],
            [("duplicate-grade", "grades[1].grade")],
        ),
        (
            [{"grade": "A", "min": 100}, {"grade": "B", "min": 99, "max": 50}, {"grade": "C"}],
            [
                ("grade-band-inverted", "grades[1]"),
                ("grade-bands-gap", "grades[1].max"),
                ("grade-bands-overlap", "grades[2].max"),
            ],
        ),
        # Listed worst first: the hint says bands are listed best first.
        (
            [{"grade": "D", "max": 599}, {"grade": "A", "min": 600}],
            [
                ("grade-bands-gap", "grades[0].max"),
                ("grade-bands-gap", "grades[1].min"),
                ("grade-bands-overlap", "grades[0].min"),
                ("grade-bands-overlap", "grades[1].max"),
            ],
        ),
        # A bound of the wrong type is the schema's finding; coverage is not guessed at.
        (
            [{"grade": "A", "min": "high"}, {"grade": "B", "max": 5}],
            [("invalid-value", "grades[0].min")],
        ),
    ],
)
def test_grade_bands(
    write: Writer, grades: list[dict[str, Any]], expected: list[tuple[str, str]]
) -> None:
    assert sorted(_codes(write("p.yaml", regional(grades=grades)))) == sorted(expected)


# --- amount bands ------------------------------------------------------------------------


def _arrears(bands: list[dict[str, Any]], record_type: str = "tax.arrears") -> dict[str, Any]:
    return regional(
        rules=[
            {"record_type": record_type, "points": -10, "amount_bands": bands, "legal_basis": LAW}
        ]
    )


@pytest.mark.parametrize(
    ("bands", "expected"),
    [
        (
            [{"min_cny": 100, "max_cny": 200, "points": -1}, {"min_cny": 200, "points": -2}],
            [("amount-bands-gap", "rules[0].amount_bands[0].min_cny")],
        ),
        (
            [{"min_cny": 0, "max_cny": 200, "points": -1}, {"min_cny": 150, "points": -2}],
            [("amount-bands-overlap", "rules[0].amount_bands[1].min_cny")],
        ),
        (
            [{"min_cny": 0, "max_cny": 200, "points": -1}],
            [("amount-bands-gap", "rules[0].amount_bands[0].max_cny")],
        ),
        (
            [{"min_cny": 0, "points": -1}, {"min_cny": 10, "points": -2}],
            [("amount-bands-overlap", "rules[0].amount_bands[0].max_cny")],
        ),
        (
            [{"min_cny": 0, "max_cny": 0, "points": -1}, {"min_cny": 0, "points": -2}],
            [("amount-band-inverted", "rules[0].amount_bands[0]")],
        ),
        ([], [("invalid-value", "rules[0].amount_bands")]),
    ],
)
def test_amount_bands(
    write: Writer, bands: list[dict[str, Any]], expected: list[tuple[str, str]]
) -> None:
    assert sorted(_codes(write("p.yaml", _arrears(bands)))) == sorted(expected)


def test_amount_bands_on_a_record_without_amount_warn(write: Writer) -> None:
    doc = _arrears([{"min_cny": 0, "points": -1}], record_type="traffic.speeding")
    assert _found(write("p.yaml", doc)) == {
        ("warning", "amount-bands-without-amount", "rules[0].amount_bands")
    }


# --- rules -------------------------------------------------------------------------------


def test_rule_for_a_profession_the_record_never_lands_on_warns(write: Writer) -> None:
    rule = {
        "record_type": "medical.malpractice",
        "profession": "public_servant",
        "points": -50,
        "legal_basis": LAW,
    }
    assert _found(write("p.yaml", regional(rules=[rule]))) == {
        ("warning", "rule-profession-mismatch", "rules[0].profession")
    }


def test_baseline_missing_record_types_warns(write: Writer) -> None:
    doc = regional(region="00", id="cn-test", rollout={"traffic": "2026-04-01"})
    del doc["extends"]
    doc["rules"] = [{"record_type": "traffic.speeding", "points": -5, "legal_basis": LAW}]
    findings = check_paths([write("p.yaml", doc)]).findings
    assert [(f.severity, f.code, f.path) for f in findings] == [
        ("warning", "record-type-without-rule", "rules")
    ]
    assert "traffic.red_light" in findings[0].message


def test_record_type_without_a_lawful_maximum_window(write: Writer) -> None:
    # A catalogue that lets minor speeding records be shown for ten years.
    base = default_catalogue()
    types = [
        rt.model_copy(update={"window_months": (0, 120)}) if rt.code == "traffic.speeding" else rt
        for rt in base.record_types
    ]
    catalogue = Catalogue.model_validate({**base.model_dump(), "record_types": types})
    rules = [
        {"record_type": "traffic.red_light", "points": -5, "legal_basis": LAW},
        {"record_type": "traffic.speeding", "points": -5, "legal_basis": LAW},
    ]
    doc = regional(region="00", id="cn-test", rollout={"traffic": "2026-04-01"}, rules=rules)
    del doc["extends"]
    findings = [
        f
        for f in check_paths([write("p.yaml", doc)], catalogue=catalogue).findings
        if f.code != "record-type-without-rule"
    ]
    assert [(f.code, f.path) for f in findings] == [
        ("record-type-without-max-window", "rules[1].record_type")
    ]
    assert "120 months" in findings[0].message


# --- sanctions ---------------------------------------------------------------------------


def test_sanction_triggers(write: Writer) -> None:
    sanctions = [
        {"id": "ok", "legal_basis": LAW, "trigger": {"list": "black"}},
        {"id": "two", "legal_basis": LAW, "trigger": {"list": "black", "grade": "D"}},
        {"id": "none", "legal_basis": LAW, "trigger": {}},
        {"id": "grey", "legal_basis": LAW, "trigger": {"list": "grey"}},
        {"id": "ok", "legal_basis": LAW, "trigger": {"list": "black"}},
    ]
    assert _codes(write("p.yaml", regional(sanctions=sanctions))) == [
        ("invalid-value", "sanctions[1].trigger"),
        ("invalid-value", "sanctions[2].trigger"),
        ("invalid-value", "sanctions[3].trigger.list"),
        ("sanction-on-score-or-grade", "sanctions[1].trigger.grade"),
        ("duplicate-sanction", "sanctions[4].id"),
    ]


# --- document shape ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"region": "99"}, [("invalid-value", "region")]),
        ({"region": 31}, [("invalid-value", "region")]),
        ({"extends": "cn-national"}, [("invalid-value", "extends")]),
        ({"version": "2026.01"}, [("invalid-value", "version")]),
        ({"id": "CN_31"}, [("invalid-value", "id")]),
        ({"effective_from": 20260401}, [("invalid-value", "effective_from")]),
        ({"effective_until": "2026-03-01"}, [("empty-effective-period", "effective_until")]),
        ({"category_caps": {"traffic": 0}}, [("invalid-value", "category_caps.traffic")]),
        ({"rollout": {"traffic": "soon"}}, [("invalid-value", "rollout.traffic")]),
        ({"rollout": {7: "2026-04-01"}}, [("invalid-key", "rollout[7]")]),
        ({"legal_basis": None}, [("policy-without-legal-basis", "legal_basis")]),
        ({"title": None}, [("invalid-value", "title")]),
        ({"grades": [{"grade": "A"}]}, [("invalid-value", "grades")]),
        (
            {
                "rules": [
                    {
                        "record_type": "traffic.speeding",
                        "points": -5,
                        "legal_basis": LAW,
                        "repeat": {"windows_days": 3, "extra_points": -1},
                    }
                ]
            },
            [
                ("missing-key", "rules[0].repeat.window_days"),
                ("unknown-key", "rules[0].repeat.windows_days"),
            ],
        ),
    ],
)
def test_document_shape(
    write: Writer, fields: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert _codes(write("p.yaml", regional(**fields))) == expected


def test_missing_keys(write: Writer) -> None:
    doc = regional()
    del doc["id"], doc["effective_from"]
    assert _codes(write("p.yaml", doc)) == [
        ("missing-key", "id"),
        ("missing-key", "effective_from"),
    ]


@pytest.mark.parametrize(
    ("text", "code", "needle"),
    [
        ("id: a\nid: b\n", "yaml-syntax", "duplicate key 'id' (line 2"),
        ("- a\n- b\n", "not-a-mapping", "this is a list"),
        ("", "not-a-mapping", "this is empty"),
        ("id: 'unterminated\n", "yaml-syntax", "line"),
    ],
)
def test_unreadable_yaml(write: Writer, text: str, code: str, needle: str) -> None:
    (finding,) = check_paths([write("p.yaml", text)]).findings
    assert (finding.code, finding.path) == (code, "")
    assert needle in finding.message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes("id: 上海".encode("gb18030"))
    (finding,) = check_paths([path]).findings
    assert finding.code == "unreadable-file"


# --- across files and after resolution ---------------------------------------------------


def test_unknown_base_lists_the_versions_available(write: Writer) -> None:
    path = write("p.yaml", regional(extends="cn-national@1999.1"))
    (finding,) = check_paths([path]).findings
    assert (finding.code, finding.path) == ("unknown-base", "extends")
    assert "available: cn-national@2026.1" in finding.message


def test_extension_of_a_broken_base_says_so(write: Writer, national_raw: dict[str, Any]) -> None:
    national_raw["rules"][0]["points"] = "lots"
    write("national.yaml", national_raw)
    regional_path = write("regional.yaml", regional())
    findings = check_paths([regional_path.parent]).findings
    assert [(f.code, f.path, Path(f.file).name) for f in findings] == [
        ("invalid-value", "rules[0].points", "national.yaml"),
        ("base-has-errors", "extends", "regional.yaml"),
    ]


def test_extends_cycle_and_other_region(write: Writer) -> None:
    write("a.yaml", regional(id="cn-31-a", extends="cn-31-b@2026.2"))
    write("b.yaml", regional(id="cn-31-b", version="2026.2", extends="cn-31-a@2026.1"))
    c = write("c.yaml", regional(id="cn-32-c", region="32", extends="cn-31-shanghai@2026.1"))
    assert sorted(
        (f.code, f.path, Path(f.file).name) for f in check_paths([c.parent]).findings
    ) == [
        ("extends-cycle", "extends", "a.yaml"),
        ("extends-cycle", "extends", "b.yaml"),
        ("extends-other-region", "extends", "c.yaml"),
    ]


def test_duplicate_and_ambiguous_versions(write: Writer) -> None:
    write("a.yaml", regional())
    write("b.yaml", regional())
    write("c.yaml", regional(id="cn-31-other", effective_from="2026-06-01"))
    # Same region and version but one ends before the other starts: unambiguous.
    write(
        "d.yaml",
        regional(id="cn-31-old", effective_from="2025-01-01", effective_until="2026-04-01"),
    )
    findings = check_paths([write("e.yaml", regional(version="2026.2")).parent]).findings
    assert sorted((f.code, f.path, Path(f.file).name) for f in findings) == [
        ("ambiguous-policy", "version", "c.yaml"),
        ("duplicate-policy", "version", "b.yaml"),
        ("extends-outdated-baseline", "extends", "d.yaml"),
    ]


def test_grade_caps_must_name_a_resolved_grade(write: Writer) -> None:
    rule = {"record_type": "fraud.telecom", "points": -30, "grade_cap": "CC", "legal_basis": LAW}
    finding = check_paths([write("p.yaml", regional(rules=[rule]))]).findings[0]
    assert (finding.code, finding.path) == ("unknown-grade", "rules[0].grade_cap")
    assert "did you mean 'C'" in finding.message
    # New bands without C orphan the baseline's drunk-driving cap.
    grades = [{"grade": "A", "min": 900}, {"grade": "B", "max": 899}]
    findings = check_paths([write("q.yaml", regional(id="cn-31-q", grades=grades))]).findings
    assert {(f.code, f.path) for f in findings} == {("unknown-grade", "grades")}
    assert any("traffic.drunk_driving" in f.message for f in findings)


def test_rule_in_a_category_never_rolled_out_warns(write: Writer) -> None:
    doc = regional(region="00", id="cn-test", rollout={"traffic": "2026-04-01"})
    del doc["extends"]
    doc["rules"] = [
        {"record_type": "traffic.speeding", "points": -5, "legal_basis": LAW},
        {"record_type": "tax.arrears", "points": -5, "legal_basis": LAW},
    ]
    codes = [c for c in _codes(write("p.yaml", doc)) if c[0] != "record-type-without-rule"]
    assert codes == [("rule-never-counts", "rules[1].record_type")]


def test_regional_file_is_checked_against_the_shipped_baseline(write: Writer) -> None:
    report = check_paths([write("p.yaml", regional())])
    assert report.findings == ()
    (policy,) = report.policies
    assert policy.lineage == ("cn-31-test@2026.1", "cn-national@2026.1")
