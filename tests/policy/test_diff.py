"""`policy diff`: the rule diff, and the impact of a draft over the stored population.

The population is small and hand-built so that every number below can be checked by
hand against the shipped Shanghai policy (OLD) and a draft (NEW) that raises speeding
to -30 with no repeat surcharge and tightens the traffic cap from -100 to -80.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine
from typer.testing import CliRunner

from socialcredit.cli.app import app
from socialcredit.db.engine import session_scope
from socialcredit.identity.ids import mask
from socialcredit.identity.registry import register_person, register_profession
from socialcredit.policy import GradeBand, ResolvedPolicy, Rule, load_policies, load_policy_files
from socialcredit.policy.diff import grade_order, rule_changes, simulate
from socialcredit.policy.select import find_policy
from socialcredit.records.ingest import import_feed
from socialcredit.records.providers import add_provider
from socialcredit.synth.ids import make_ric, random_birth
from socialcredit.synth.names import person_name
from tests.conftest import TODAY, People, register_people
from tests.records.conftest import row, write_csv

from .conftest import shipped_raw

POLICE = "上海市公安局交通警察总队"
SHANGHAI = "cn-31-shanghai@2026.1"
SH_LAW = "《中华人民共和国道路交通安全法》第四十二条、第九十条；《上海市道路交通管理条例》"
runner = CliRunner()


@dataclass
class Town:
    """Who is who in the test population (resident ID numbers)."""

    one_speeding: str  # -5 -> -30: 995 A -> 970 A
    two_speedings: str  # -15 (with the repeat surcharge) -> -60: 985 A -> 940 B
    capped: str  # 4 speedings + drunk driving: 915 C -> 920 C thanks to the tighter cap
    red_light: str  # untouched by the draft: 995 A both times
    clean: str  # no records: 1000 A both times
    doctor: str  # a doctor with one speeding: 995 A -> 970 A
    jiangsu: str  # a speeder outside the region: never in a Shanghai diff
    people: People  # random extra subjects from the shared helper

    @property
    def population(self) -> int:
        """Shanghai subjects: the six above plus any random ones born or registered there."""
        extra = sum(n[:2] == "31" for n, _ in self.people.persons)
        extra += sum(code[2:4] == "31" for code, _ in self.people.orgs)
        return 6 + extra


def _day(days_ago: int) -> str:
    return (dt.date.today() - dt.timedelta(days=days_ago)).isoformat()


def _person(rng: random.Random, province: str) -> str:
    return make_ric(
        rng, birth=random_birth(rng, today=TODAY, min_age=18, max_age=80), province=province
    )


@pytest.fixture
def town(engine: Engine, rng: random.Random, tmp_path: Path) -> Town:
    people = register_people(engine, rng, n_persons=4, n_orgs=1)
    shanghai = [_person(rng, "31") for _ in range(6)]
    jiangsu = _person(rng, "32")
    with session_scope(engine) as s:
        # Registered in this order, so subject ids grow down the list: movers with the same
        # change are listed by id.
        for number in [*shanghai, jiangsu]:
            register_person(s, number=number, name=person_name(rng))
        add_provider(
            s,
            name=POLICE,
            kind="traffic_police",
            region_code="31",
            record_types=["traffic.speeding", "traffic.red_light", "traffic.drunk_driving"],
        )
        register_profession(
            s,
            number=shanghai[5],
            profession="doctor",
            licence_no="110310000012345",
            employer=None,
            on=dt.date(2026, 5, 1),
        )
    one, two, capped, red, clean, doctor = shanghai
    t = Town(one, two, capped, red, clean, doctor, jiangsu=jiangsu, people=people)
    records = [
        (t.one_speeding, "traffic.speeding", 10),
        (t.two_speedings, "traffic.speeding", 40),
        (t.two_speedings, "traffic.speeding", 20),
        *[(t.capped, "traffic.speeding", d) for d in (70, 50, 30, 10)],
        (t.capped, "traffic.drunk_driving", 60),
        (t.red_light, "traffic.red_light", 15),
        (t.doctor, "traffic.speeding", 5),
        (t.jiangsu, "traffic.speeding", 10),
    ]
    rows = [
        row(provider_record_id=f"SH-{i}", subject_id=who, record_type=rt, decided_on=_day(ago))
        for i, (who, rt, ago) in enumerate(records)
    ]
    result = import_feed(engine, write_csv(tmp_path / "traffic.csv", rows), provider=POLICE)
    assert result.accepted == len(rows)
    return t


def _draft(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(shipped_raw("cn-31-shanghai-2026.1.yaml"))
    doc.update(
        version="2026.2",
        effective_from="2026-12-01",
        effective_until="2027-01-01",
        category_caps={"traffic": -80},
    )
    doc["rollout"] = {**doc["rollout"], "commendation": "2026-12-01"}
    doc["rules"] = [
        *doc["rules"],
        {"record_type": "traffic.speeding", "points": -30, "legal_basis": SH_LAW},
    ]
    doc.update(changes)
    return doc


@pytest.fixture
def draft_file(tmp_path: Path) -> Path:
    path = tmp_path / "cn-31-shanghai-2026.2.yaml"
    path.write_text(yaml.safe_dump(_draft(), allow_unicode=True, sort_keys=False), "utf-8")
    return path


def _shanghai() -> ResolvedPolicy:
    return find_policy(load_policies(), SHANGHAI)


def _load(path: Path) -> ResolvedPolicy:
    (policy,) = load_policy_files([path])
    return policy


# --- the rule diff --------------------------------------------------------------------------


def test_rule_changes_of_the_draft(draft_file: Path) -> None:
    changes = rule_changes(_shanghai(), _load(draft_file))
    assert [(c.section, c.key, c.change) for c in changes] == [
        ("rollout", "commendation", "changed"),
        ("category_cap", "traffic", "changed"),
        ("rule", "traffic.speeding", "changed"),
    ]
    rollout, cap, speeding = (c.as_dict() for c in changes)
    assert rollout["fields"] == [{"field": "counts_from", "old": "2027-01-01", "new": "2026-12-01"}]
    assert cap["fields"] == [{"field": "min_points", "old": -100, "new": -80}]
    assert speeding["profession"] is None
    assert speeding["fields"][:2] == [
        {"field": "points", "old": -5, "new": -30},
        {"field": "repeat", "old": {"window_days": 90, "extra_points": -5}, "new": None},
    ]
    assert [f["field"] for f in speeding["fields"]] == ["points", "repeat", "legal_basis"]


def test_rule_changes_added_removed_bands_and_settings() -> None:
    old = _shanghai()
    by_key = {(r.record_type, r.profession): r for r in old.rules}
    drunk_ps = by_key[("traffic.drunk_driving", "public_servant")]
    extra = dataclasses.replace(by_key[("tax.arrears", None)], profession="doctor", points=-15)
    new = dataclasses.replace(
        old,
        base_score=900,
        grades=(GradeBand("AAAA", 1100, None), GradeBand("AAA", 1050, 1099), *old.grades[1:]),
        rules=(*(r for r in old.rules if r is not drunk_ps), extra),
        sanctions=old.sanctions[1:],
    )
    changes = {(c.section, c.label, c.change): c for c in rule_changes(old, new)}
    assert list(changes) == [
        ("setting", "base_score", "changed"),
        ("grade_band", "AAAA", "added"),
        ("grade_band", "AAA", "changed"),
        ("rule", "tax.arrears (doctor)", "added"),
        ("rule", "traffic.drunk_driving (public_servant)", "removed"),
        ("sanction", old.sanctions[0].id, "removed"),
    ]
    removed = changes[("rule", "traffic.drunk_driving (public_servant)", "removed")]
    fields = {f.field: (f.old, f.new) for f in removed.fields}
    assert fields["points"] == (-80, None) and fields["grade_cap"] == ("C", None)
    assert "repeat" not in fields  # empty settings are not listed as removed
    aaa = changes[("grade_band", "AAA", "changed")]
    assert [(f.field, f.old, f.new) for f in aaa.fields] == [("max_score", None, 1099)]
    assert grade_order(old, new) == ("AAAA", "AAA", "AA", "A", "B", "C", "D")
    assert rule_changes(old, old) == ()


# --- the simulation -------------------------------------------------------------------------


def test_simulation_over_the_region(engine: Engine, town: Town, draft_file: Path) -> None:
    old, new = _shanghai(), _load(draft_file)
    seen: list[int] = []
    report = simulate(engine, old, new, as_of=dt.date.today(), top=10, progress=seen.append)
    n = town.population
    assert sum(seen) == n and report.summary.subjects == n

    assert report.grades == ("AAA", "AA", "A", "B", "C", "D")
    moves = {(o, g): k for o, row_ in report.transitions.items() for g, k in row_.items() if k}
    assert moves == {("A", "A"): n - 2, ("A", "B"): 1, ("C", "C"): 1}
    before, after = report.grade_counts()
    assert before["A"] == n - 1 and after["A"] == n - 2 and after["B"] == 1

    s = report.summary
    assert (s.changed, s.up, s.down, s.score_up, s.score_down) == (1, 0, 1, 1, 3)
    assert s.new_total - s.old_total == -25 - 45 + 5 - 25

    # Biggest first; equal changes by registration order; unchanged subjects are no movers.
    assert [(m.masked_id, m.change) for m in report.movers] == [
        (mask(town.two_speedings), -45),
        (mask(town.one_speeding), -25),
        (mask(town.doctor), -25),
        (mask(town.capped), 5),
    ]
    two, _one, doctor, capped = report.movers
    assert (two.old_score, two.old_grade, two.new_score, two.new_grade) == (985, "A", 940, "B")
    assert [c.as_dict() for c in two.causes] == [
        {
            "item": "traffic.speeding",
            "records": 2,
            "old_points": -15,
            "new_points": -60,
            "change": -45,
        }
    ]
    # 4 speedings (-5, then -10 each with the repeat) and drunk driving: -85, within the old
    # cap of -100; under the draft -120 - 50 = -170 is held at -80. The grade stays capped at C.
    assert (capped.old_score, capped.old_grade, capped.new_score, capped.new_grade) == (
        915,
        "C",
        920,
        "C",
    )
    assert [(c.item, c.records, c.old_points, c.new_points) for c in capped.causes] == [
        ("cap:traffic", 0, 0, 90),
        ("traffic.speeding", 4, -35, -120),
    ]
    assert doctor.professions == ("doctor",)

    assert [(g.key, g.subjects) for g in report.by_province] == [("31", n)]
    assert report.by_province[0].name == "上海市"
    assert sum(g.subjects for g in report.by_city) == n
    assert all(g.key is not None and g.key.startswith("31") for g in report.by_city)
    professions = {g.key: g for g in report.by_profession}
    assert set(professions) == {"doctor", None}
    assert professions["doctor"].subjects == 1 and professions["doctor"].mean_change == -25
    assert professions[None].subjects == n - 1 and professions[None].changed == 1

    out = report.as_dict()
    json.dumps(out, ensure_ascii=False)  # all plain data
    assert town.jiangsu not in json.dumps(out) and "subject_id" not in json.dumps(out)

    shortlist = simulate(engine, old, new, as_of=dt.date.today(), top=1)
    assert [m.masked_id for m in shortlist.movers] == [mask(town.two_speedings)]


def test_population_follows_the_region(engine: Engine, town: Town) -> None:
    policies = load_policies()
    jiangsu = find_policy(policies, "cn-32-jiangsu@2026.1")
    report = simulate(engine, jiangsu, jiangsu, as_of=dt.date.today())
    expected = 1 + sum(n[:2] == "32" for n, _ in town.people.persons)
    expected += sum(code[2:4] == "32" for code, _ in town.people.orgs)
    assert report.summary.subjects == expected
    assert report.movers == () and report.rule_changes == ()
    assert report.transitions["A"]["A"] == expected  # the speeder is still A (995)

    national = find_policy(policies, "cn-national@2026.1")
    everyone = simulate(engine, national, national, as_of=dt.date.today())
    assert everyone.summary.subjects == 7 + len(town.people.persons) + len(town.people.orgs)
    assert {g.key for g in everyone.by_province} >= {"31", "32"}


def test_grade_only_movers_are_explained(engine: Engine, town: Town) -> None:
    old, today = _shanghai(), dt.date.today()

    def lenient(r: Rule) -> Rule:
        generic_drunk = (r.record_type, r.profession) == ("traffic.drunk_driving", None)
        return dataclasses.replace(r, grade_cap="B") if generic_drunk else r

    # Same score, better grade: a mover with no score change, explained by the grade cap.
    report = simulate(
        engine, old, dataclasses.replace(old, rules=tuple(map(lenient, old.rules))), as_of=today
    )
    (m,) = report.movers
    assert (m.masked_id, m.old_grade, m.new_grade, m.change) == (mask(town.capped), "C", "B", 0)
    assert [c.as_dict() for c in m.causes] == [
        {
            "item": "traffic.drunk_driving",
            "records": 1,
            "old_points": -50,
            "new_points": -50,
            "change": 0,
            "old_grade_cap": "C",
            "new_grade_cap": "B",
        }
    ]
    assert (report.summary.up, report.summary.down) == (1, 0)
    assert report.transitions["C"]["B"] == 1

    # Grade A raised to start at 990: 985 falls to B with no rule touching the subject.
    bands = tuple(
        GradeBand("A", 990, 1029)
        if g.grade == "A"
        else GradeBand("B", 850, 989)
        if g.grade == "B"
        else g
        for g in old.grades
    )
    report = simulate(engine, old, dataclasses.replace(old, grades=bands), as_of=today)
    (m,) = report.movers
    assert (m.masked_id, m.old_grade, m.new_grade) == (mask(town.two_speedings), "A", "B")
    (cause,) = m.causes
    assert cause.item == "grade_bands" and cause.note is not None and "985" in cause.note


# --- the command ----------------------------------------------------------------------------


def _diff(db_url: str, *args: str) -> Any:
    return runner.invoke(app, ["--database-url", db_url, "policy", "diff", *args])


def test_cli_json(db_url: str, engine: Engine, town: Town, draft_file: Path) -> None:
    result = _diff(db_url, SHANGHAI, str(draft_file), "--json", "--top", "2")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["old"]["ref"] == SHANGHAI and out["new"]["ref"] == "cn-31-shanghai@2026.2"
    assert out["new"]["source"] == str(draft_file)
    assert out["region"] == {"code": "31", "name": "上海市"}
    assert out["as_of"] == dt.date.today().isoformat()
    assert out["summary"]["subjects"] == town.population
    assert out["summary"]["changed_grade"] == 1
    assert out["transitions"]["A"]["B"] == 1 and out["transitions"]["C"]["C"] == 1
    assert [(m["subject"], m["change"]) for m in out["movers"]] == [
        (mask(town.two_speedings), -45),
        (mask(town.one_speeding), -25),
    ]
    assert out["movers"][0]["old"] == {"score": 985, "grade": "A"}
    assert out["movers"][0]["new"] == {"score": 940, "grade": "B"}
    assert [c["key"] for c in out["rule_changes"]] == [
        "commendation",
        "traffic",
        "traffic.speeding",
    ]
    assert {row_["code"] for row_ in out["by_profession"]} == {"doctor", None}
    # OLD may be a file too, and the as-of date is honoured.
    shipped = Path(_shanghai().source)
    again = _diff(db_url, str(shipped), str(draft_file), "--json", "--as-of", "2026-12-01")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["as_of"] == "2026-12-01"


def test_cli_human_output(db_url: str, engine: Engine, town: Town, draft_file: Path) -> None:
    result = _diff(db_url, SHANGHAI, str(draft_file))
    assert result.exit_code == 0, result.output
    for heading in ("Rule changes", "Grade transitions", "By province", "By city", "Biggest"):
        assert heading in result.output
    assert mask(town.two_speedings) in result.output
    assert "traffic.speeding" in result.output


def test_cli_refuses_a_broken_draft(db_url: str, engine: Engine, tmp_path: Path) -> None:
    rules = [{"record_type": "traffic.speeding", "points": "lots", "legal_basis": SH_LAW}]
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(_draft(rules=rules), allow_unicode=True), "utf-8")
    result = _diff(db_url, SHANGHAI, str(broken), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "NEW policy" in result.output
    assert f"{broken}: rules[0].points [invalid-value]" in result.output


def test_cli_refuses_other_regions_and_unknown_refs(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    result = _diff(db_url, SHANGHAI, "cn-32-jiangsu@2026.1", "--json")
    assert result.exit_code == 2
    assert "region 31" in result.output and "region 32" in result.output
    result = _diff(db_url, "cn-31-shanghai@1999.1", SHANGHAI)
    assert result.exit_code == 2 and "no policy cn-31-shanghai@1999.1" in result.output
    result = _diff(db_url, str(tmp_path / "missing.yaml"), SHANGHAI)
    assert result.exit_code == 2 and "neither a policy file" in " ".join(result.output.split())
    result = _diff(db_url, SHANGHAI, SHANGHAI, "--as-of", "soon")
    assert result.exit_code == 2
