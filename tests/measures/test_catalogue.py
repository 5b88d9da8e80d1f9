"""The measures catalogue: shipped data, selection by region and date, and its lint."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from socialcredit.cli.policy import policy_app
from socialcredit.measures import (
    CatalogueError,
    NoCatalogueInForceError,
    check_measures,
    load_measures,
    select_catalogue,
    shipped_measures_dir,
)
from socialcredit.policy import shipped_policy_dir

LAW = "《上海市社会信用条例》"
NATIONAL = "cn-national-2026.1.yaml"


def _national() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((shipped_measures_dir() / NATIONAL).read_text("utf-8"))
    return copy.deepcopy(data)


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def _measure(**fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": "m",
        "title": {"zh": "措施", "en": "Measure"},
        "category": "sanction",
        "legal_basis": LAW,
        "trigger": {"list": "black"},
        "target": ["person"],
        "purposes": ["employment"],
    }
    out.update(fields)
    return out


def _regional(*measures: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "cn-33-test-measures",
        "version": "2026.1",
        "region": "33",
        "extends": "cn-national-measures@2026.1",
        "title": "Test",
        "legal_basis": LAW,
        "effective_from": "2026-04-01",
        "measures": list(measures),
    }


def test_shipped_catalogues_check_clean() -> None:
    report = check_measures()
    assert report.findings == ()
    refs = [c.ref for c in load_measures()]
    assert refs == ["cn-national-measures@2026.1", "cn-31-shanghai-measures@2026.1"]


def test_shipped_measures_say_what_the_design_promises() -> None:
    national, shanghai = load_measures()
    by_id = {m.id: m for m in national.measures}
    for ban in (
        "debtor-no-flights",
        "debtor-no-soft-sleepers",
        "debtor-no-g-series-trains",
        "debtor-no-star-hotels",
        "debtor-no-private-school-fees",
    ):
        m = by_id[ban]
        assert m.category == "sanction" and m.trigger.on_list == "black"
        assert m.trigger.criteria == ("court-dishonest-debtor", "court-consumption-restriction")
        assert "legal_representative" in m.targets
    for exclusion in (
        "no-government-procurement",
        "no-civil-service-hiring",
        "no-financial-institution-founding",
    ):
        assert by_id[exclusion].trigger.on_list == "black"
        assert by_id[exclusion].trigger.criteria is None
    assert by_id["green-channel"].trigger.on_list == "red"
    assert by_id["reduced-inspections"].trigger.grades == ("AAA", "AA")
    for m in national.measures:
        assert m.legal_basis.strip()
        # Sanctions follow lists; grades only ever earn rewards.
        assert m.category == "reward" or m.trigger.on_list == "black"
    assert {m.id for m in national.measures} < {m.id for m in shanghai.measures}
    assert national.for_purpose("transport_ticketing")


def test_selection_by_region_and_date() -> None:
    catalogues = load_measures()
    on = dt.date(2026, 11, 1)
    assert select_catalogue(catalogues, "31", on).ref == "cn-31-shanghai-measures@2026.1"
    assert select_catalogue(catalogues, "33", on).ref == "cn-national-measures@2026.1"
    assert select_catalogue(catalogues, None, on).ref == "cn-national-measures@2026.1"
    with pytest.raises(NoCatalogueInForceError):
        select_catalogue(catalogues, "31", dt.date(2026, 1, 1))


def test_lint(tmp_path: Path) -> None:
    doc = _regional(
        _measure(id="on-grade", trigger={"grade": ["D"]}),
        _measure(id="on-score", trigger={"list": "black", "score_below": 600}),
        _measure(id="reward-score", category="reward", trigger={"grade": ["AAA"], "score": 1}),
        _measure(id="no-basis", legal_basis=""),
        _measure(id="bad-purpose", purposes=["employmnt"]),
        _measure(id="reward-black", category="reward"),
        _measure(id="sanction-red", trigger={"list": "red"}),
        _measure(id="criteria", trigger={"list": "black", "criteria": ["court-debtor"]}),
        _measure(
            id="rep-grade",
            category="reward",
            trigger={"grade": ["AAAA"]},
            target=["legal_representative"],
        ),
        _measure(id="on-grade"),
    )
    findings = check_measures([_write(tmp_path / "m.yaml", doc)]).findings
    assert [(f.code, f.path) for f in findings] == [
        ("sanction-on-score-or-grade", "measures[0].trigger.grade"),
        ("sanction-on-score-or-grade", "measures[1].trigger.score_below"),
        ("measure-on-score", "measures[2].trigger.score"),
        ("measure-without-legal-basis", "measures[3].legal_basis"),
        ("unknown-purpose", "measures[4].purposes[0]"),
        ("reward-on-black-list", "measures[5].trigger.list"),
        ("sanction-on-red-list", "measures[6].trigger.list"),
        ("unknown-list-criterion", "measures[7].trigger.criteria[0]"),
        ("legal-representative-without-list", "measures[8].trigger.grade"),
        ("unknown-grade", "measures[8].trigger.grade[0]"),
        ("duplicate-measure", "measures[9].id"),
    ]
    by_path = {f.path: f for f in findings}
    assert "did you mean 'employment'" in by_path["measures[4].purposes[0]"].message
    assert "did you mean" in by_path["measures[7].trigger.criteria[0]"].message


def test_a_broken_catalogue_does_not_load(tmp_path: Path) -> None:
    doc = _national()
    doc["measures"][0]["trigger"] = {"grade": ["C", "D"]}
    _write(tmp_path / NATIONAL, doc)
    with pytest.raises(CatalogueError) as info:
        load_measures(tmp_path)
    assert [f.code for f in info.value.findings] == [
        "sanction-on-score-or-grade",
        "legal-representative-without-list",  # the debtor bans reach legal representatives
    ]


def test_policy_check_also_checks_measures(tmp_path: Path) -> None:
    app = typer.Typer()
    app.add_typer(policy_app, name="policy")
    runner = CliRunner()
    shipped = ["policy", "check", str(shipped_policy_dir())]
    result = runner.invoke(app, [*shipped, "--measures", str(shipped_measures_dir())])
    assert result.exit_code == 0, result.output
    assert "8 files checked: clean." in result.output
    bad = _write(tmp_path / "m.yaml", _regional(_measure(trigger={"grade": ["D"]})))
    result = runner.invoke(app, [*shipped, "--measures", str(bad)])
    assert result.exit_code == 2
    assert "sanction-on-score-or-grade" in result.output
