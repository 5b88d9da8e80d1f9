"""Resolving ``extends``: overrides and additions, by key, into one flat policy."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from socialcredit.policy import (
    CategoryPolicy,
    PolicyError,
    ResolvedPolicy,
    load_policies,
    load_policy_files,
)
from socialcredit.policy.select import find_policy

from .conftest import Writer, regional

LAW = "《上海市社会信用条例》"


def _one(write: Writer, doc: dict[str, Any]) -> ResolvedPolicy:
    (policy,) = load_policy_files([write("policy.yaml", doc)])
    return policy


def test_extension_overrides_and_adds_rules(write: Writer) -> None:
    policy = _one(
        write,
        regional(
            rules=[
                {"record_type": "traffic.speeding", "points": -8, "legal_basis": LAW},
                {
                    "record_type": "debt.contract_default",
                    "profession": "public_servant",
                    "points": -40,
                    "legal_basis": LAW,
                },
            ]
        ),
    )
    national = find_policy(load_policies(), "cn-national@2026.1")
    speeding = policy.rule_for("traffic.speeding")
    assert speeding is not None
    # Replaced whole: the baseline's repeat clause does not leak into the new rule.
    assert (speeding.points, speeding.repeat, speeding.legal_basis) == (-8, None, LAW)
    assert speeding.defined_in == "cn-31-test@2026.1"
    added = policy.rule_for("debt.contract_default", {"public_servant"})
    assert added is not None and added.points == -40
    generic = policy.rule_for("debt.contract_default", {"doctor"})
    assert generic is not None and generic.points == -20
    assert generic.defined_in == "cn-national@2026.1"
    assert len(policy.rules) == len(national.rules) + 1
    # Untouched settings are inherited.
    assert policy.grades == national.grades
    assert policy.base_score == national.base_score
    assert policy.sanctions == national.sanctions
    assert policy.lineage == ("cn-31-test@2026.1", "cn-national@2026.1")


def test_rules_are_in_a_stable_order(write: Writer) -> None:
    policy = _one(write, regional())
    keys = [(r.record_type, r.profession is not None, r.profession or "") for r in policy.rules]
    assert keys == sorted(keys)


def test_settings_merge_per_category(write: Writer) -> None:
    policy = _one(
        write,
        regional(
            base_score=900,
            bar_years=3,
            rollout={"medical": "2026-05-01"},
            category_caps={"traffic": -30, "market": -70, "commendation": 80},
        ),
    )
    assert (policy.base_score, policy.bar_years) == (900, 3)
    assert policy.category("medical").counts_from == dt.date(2026, 5, 1)
    assert policy.category("traffic") == CategoryPolicy("traffic", dt.date(2026, 4, 1), -30, None)
    assert policy.category("market").min_points == -70
    assert policy.category("commendation").max_points == 80
    assert policy.category("tax").min_points == -200  # inherited


def test_grades_are_replaced_as_a_whole(write: Writer) -> None:
    grades = [
        {"grade": "A", "min": 1000},
        {"grade": "B", "min": 900, "max": 999},
        {"grade": "C", "max": 899},
    ]
    policy = _one(write, regional(grades=grades))
    assert [g.grade for g in policy.grades] == ["A", "B", "C"]
    assert policy.grade_for(1000) == "A"
    assert policy.grade_for(999) == "B"
    assert policy.grade_for(-5000) == "C"
    assert policy.worse_grade("A", "C") == "C"


def test_default_grades_when_no_file_gives_any(write: Writer, tmp_path: Any) -> None:
    doc = regional(region="00", id="cn-test")
    del doc["extends"]
    doc["rollout"] = {"traffic": "2026-04-01"}
    doc["rules"] = [{"record_type": "traffic.speeding", "points": -5, "legal_basis": "法"}]
    write("base.yaml", doc)
    (policy,) = load_policies(tmp_path)
    top = policy.grades[0]
    assert (top.grade, top.min_score, top.max_score) == ("AAA", 1050, None)
    assert (policy.base_score, policy.bar_years) == (1000, 5)
    assert policy.grade_for(1049) == "AA"
    assert policy.grade_for(599) == "D"
    assert policy.category("tax").counts_from is None  # never switched on


def test_a_version_can_extend_an_earlier_version_of_its_own_region(write: Writer) -> None:
    write(
        "a.yaml",
        regional(rules=[{"record_type": "traffic.speeding", "points": -8, "legal_basis": LAW}]),
    )
    b = write(
        "b.yaml",
        regional(
            version="2026.2",
            extends="cn-31-test@2026.1",
            rules=[{"record_type": "traffic.red_light", "points": -9, "legal_basis": LAW}],
        ),
    )
    policies = {p.ref: p for p in load_policy_files([b.parent])}
    v2 = policies["cn-31-test@2026.2"]
    assert v2.lineage == ("cn-31-test@2026.2", "cn-31-test@2026.1", "cn-national@2026.1")
    speeding, red = v2.rule_for("traffic.speeding"), v2.rule_for("traffic.red_light")
    assert speeding is not None and speeding.points == -8
    assert speeding.defined_in == "cn-31-test@2026.1"
    assert red is not None and red.points == -9


def test_profession_rule_wins_and_ties_break_alphabetically(write: Writer) -> None:
    rules = [
        {
            "record_type": "traffic.speeding",
            "profession": profession,
            "points": points,
            "legal_basis": LAW,
        }
        for profession, points in (("public_servant", -15), ("doctor", -12))
    ]
    policy = _one(write, regional(rules=rules))
    assert policy.rule_for("traffic.speeding", ["public_servant"]).points == -15  # type: ignore[union-attr]
    assert policy.rule_for("traffic.speeding", ["public_servant", "doctor"]).points == -12  # type: ignore[union-attr]
    assert policy.rule_for("traffic.speeding", ["teacher"]).points == -5  # type: ignore[union-attr]
    assert policy.rule_for("no.such_type") is None


def test_resolved_policy_is_immutable_hashable_and_plain() -> None:
    policy = find_policy(load_policies(), "cn-31-shanghai@2026.1")
    with pytest.raises(AttributeError):
        policy.base_score = 0  # type: ignore[misc]
    assert hash(policy) == hash(find_policy(load_policies(), "cn-31-shanghai@2026.1"))
    data = policy.as_dict()
    assert data["effective_until"] == "2027-01-01"
    assert data["lineage"] == ["cn-31-shanghai@2026.1", "cn-national@2026.1"]
    assert not any(key.startswith("_") for key in data)


def test_load_refuses_a_broken_file_naming_file_and_key(write: Writer) -> None:
    rules = [
        {"record_type": "traffic.speeding", "points": -5, "legal_basis": LAW},
        {"record_type": "traffic.red_light", "points": -5, "legal_basis": LAW},
        {"record_type": "traffic.jaywalking", "points": -1, "legal_basis": LAW},
        {"record_type": "tax.arrears", "points": "five", "legal_basis": LAW},
    ]
    path = write("shanghai.yaml", regional(rules=rules))
    with pytest.raises(PolicyError) as info:
        load_policy_files([path])
    assert str(info.value) == f"{path}: rules[3].points: Input should be a valid integer"
    assert [(f.code, f.path) for f in info.value.findings] == [("invalid-value", "rules[3].points")]


def test_load_policies_of_an_incomplete_directory_fails(write: Writer, tmp_path: Any) -> None:
    # A directory passed to load_policies is a complete set: bases are not borrowed.
    write("shanghai.yaml", regional())
    with pytest.raises(PolicyError, match=r"extends: no policy cn-national@2026.1"):
        load_policies(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PolicyError, match="no policy files"):
        load_policies(empty)
