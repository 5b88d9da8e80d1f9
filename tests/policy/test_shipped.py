"""The shipped policies: they load, check clean, and say what DESIGN.md promises."""

from __future__ import annotations

import datetime as dt

from typer.testing import CliRunner

from socialcredit.policy import check_paths, load_policies, shipped_policy_dir
from socialcredit.policy.select import find_policy
from socialcredit.records.catalogue import default_catalogue

from .conftest import make_app


def test_shipped_policies_load_and_resolve() -> None:
    refs = [p.ref for p in load_policies()]
    assert refs == [
        "cn-national@2026.1",
        "cn-31-shanghai@2026.1",
        "cn-31-shanghai@2027.1",
        "cn-32-jiangsu@2026.1",
        "cn-33-zhejiang@2026.1",
        "cn-34-anhui@2026.1",
    ]
    # The shipped set is cached and immutable: every caller shares it.
    assert load_policies() is load_policies()


def test_shipped_policies_check_clean() -> None:
    report = check_paths([shipped_policy_dir()])
    assert report.findings == ()
    assert len(report.files) == 6
    result = CliRunner().invoke(make_app(), ["policy", "check", str(shipped_policy_dir())])
    assert result.exit_code == 0, result.output
    assert "6 files checked: clean." in result.output


def test_every_regional_policy_extends_the_national_baseline() -> None:
    for policy in load_policies():
        assert policy.effective_from >= dt.date(2026, 4, 1)
        if policy.region != "00":
            assert policy.lineage[-1] == "cn-national@2026.1"
            assert policy.extends == "cn-national@2026.1"


def test_baseline_scores_every_catalogue_record_type_with_a_legal_basis() -> None:
    national = find_policy(load_policies(), "cn-national@2026.1")
    catalogue = default_catalogue()
    for spec in catalogue.record_types:
        rule = national.rule_for(spec.code)
        assert rule is not None, spec.code
        assert rule.legal_basis.strip()
        assert rule.category == spec.category
        assert (rule.min_window_months, rule.max_window_months) == spec.window_months
        assert (rule.points > 0) == (spec.polarity == "positive"), spec.code
    assert {c.category for c in national.categories} == set(catalogue.categories)
    assert national.catalogue_version == catalogue.version


def test_baseline_has_the_reference_shape() -> None:
    national = find_policy(load_policies(), "cn-national@2026.1")
    assert national.base_score == 1000
    assert national.bar_years == 5
    shape = [(g.grade, g.min_score, g.max_score) for g in national.grades]
    assert shape == [
        ("AAA", 1050, None),
        ("AA", 1030, 1049),
        ("A", 960, 1029),
        ("B", 850, 959),
        ("C", 600, 849),
        ("D", None, 599),
    ]
    points = {r.record_type: r.points for r in national.rules if r.profession is None}
    assert points["traffic.speeding"] == -5
    assert points["debt.contract_default"] == -20
    assert points["debt.loan_arrears"] == -10
    assert points["finance.illegal_fundraising"] == -40
    assert points["fraud.contract"] == -30
    assert points["commendation.heroic_act"] == 30
    drunk = national.rule_for("traffic.drunk_driving")
    assert drunk is not None and drunk.grade_cap == "C"
    # Traffic and tax count first; the other categories later.
    assert national.category("traffic").counts_from == dt.date(2026, 4, 1)
    assert national.category("tax").counts_from == dt.date(2026, 4, 1)
    assert national.category("fraud").counts_from == dt.date(2026, 10, 1)
    assert national.category("traffic").min_points == -100
    assert national.category("commendation").max_points == 50
    # Sanctions follow list membership only.
    assert national.sanctions
    assert all(s.trigger.on_list == "black" for s in national.sanctions)


def test_tax_arrears_bands_are_in_fen() -> None:
    national = find_policy(load_policies(), "cn-national@2026.1")
    arrears = national.rule_for("tax.arrears")
    assert arrears is not None
    assert [(b.min_fen, b.max_fen, b.points) for b in arrears.amount_bands] == [
        (0, 1_000_000, -10),
        (1_000_000, 10_000_000, -30),
        (10_000_000, 100_000_000, -60),
        (100_000_000, None, -100),
    ]
    assert arrears.points_for(None) == -10
    assert arrears.points_for(999_999) == -10  # 9,999.99 yuan
    assert arrears.points_for(1_000_000) == -30  # exactly 10,000 yuan: the next band
    assert arrears.points_for(5_000_000_000) == -100


def test_regional_differences() -> None:
    policies = {p.ref: p for p in load_policies()}
    national = policies["cn-national@2026.1"]
    shanghai = policies["cn-31-shanghai@2026.1"]
    assert shanghai.category("market").counts_from == dt.date(2026, 7, 1)
    assert national.category("market").counts_from == dt.date(2026, 10, 1)
    zhejiang = policies["cn-33-zhejiang@2026.1"]
    assert zhejiang.category("traffic").min_points == -60
    anhui = policies["cn-34-anhui@2026.1"]
    assert anhui.category("debt").counts_from == dt.date(2027, 1, 1)
    jiangsu = policies["cn-32-jiangsu@2026.1"]
    doctor_rule = jiangsu.rule_for("fraud.insurance", {"doctor"})
    generic = jiangsu.rule_for("fraud.insurance")
    assert doctor_rule is not None and generic is not None
    assert (doctor_rule.profession, doctor_rule.points) == ("doctor", -60)
    assert (generic.profession, generic.points) == (None, -30)
    shanghai_2027 = policies["cn-31-shanghai@2027.1"]
    speeding = shanghai_2027.rule_for("traffic.speeding")
    assert speeding is not None and speeding.repeat is not None
    assert speeding.repeat.extra_points == -10
    assert shanghai_2027.category("traffic").min_points == -80
