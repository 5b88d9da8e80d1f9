"""Registry commands end to end: exit codes, messages, masking, JSON."""

from __future__ import annotations

import datetime as dt
import json
import random

from typer.testing import CliRunner

from socialcredit.cli.app import app
from socialcredit.synth.ids import make_ric, make_uscc

runner = CliRunner()


def run(db_url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database-url", db_url, *args])
    return result.exit_code, result.output


def test_registry_flow(db_url: str) -> None:
    rng = random.Random(11)
    person = make_ric(rng, birth=dt.date(1984, 9, 12), sex="F", province="33")
    rep = make_ric(rng, birth=dt.date(1970, 2, 1), sex="M", province="33")
    org = make_uscc(rng, province="33")

    code, out = run(db_url, "person", "register", "--id", person, "--name", "周晓燕")
    assert code == 2 and "socialcredit init" in out
    for _ in range(2):  # init twice is harmless
        code, out = run(db_url, "init", "--json")
        assert code == 0 and json.loads(out)["record_types_total"] >= 25

    code, out = run(db_url, "person", "register", "--id", person, "--name", "周晓燕", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["id"] == person[:4] + "*" * 10 + person[-4:]
    assert (shown["birth_date"], shown["sex"], shown["province"]) == ("1984-09-12", "F", "浙江省")
    bad = person[:-1] + ("0" if person[-1] != "0" else "1")
    code, out = run(db_url, "person", "register", "--id", bad, "--name", "周晓燕")
    assert code == 2 and "check character" in out and bad not in out
    code, _ = run(db_url, "person", "register", "--id", rep, "--name", "吴建国")
    assert code == 0

    code, out = run(
        db_url,
        "org",
        "register",
        "--uscc",
        org,
        "--name",
        "浙江钱塘科技有限公司",
        "--legal-rep",
        rep,
    )
    assert code == 0, out
    legacy = org[:-1] + ("0" if org[-1] != "0" else "1")
    code, out = run(
        db_url, "org", "register", "--uscc", legacy, "--name", "浙江旧码公司", "--legal-rep", rep
    )
    assert code == 2 and "override" in out
    code, out = run(
        db_url,
        "org",
        "register",
        "--uscc",
        legacy,
        "--name",
        "浙江旧码公司",
        "--legal-rep",
        rep,
        "--override-check",
        "2015年前颁发的旧证",
    )
    assert code == 0 and "reason recorded" in out

    code, out = run(
        db_url, "provider", "add", "中国电信浙江分公司", "--kind", "telecom", "--region", "33"
    )
    assert code == 0
    code, out = run(db_url, "provider", "add", "某机关", "--kind", "oracle", "--region", "33")
    assert code == 2 and "unknown provider kind" in out
    code, out = run(
        db_url,
        "provider",
        "add",
        "浙江省公安厅交警总队",
        "--kind",
        "traffic_police",
        "--region",
        "33",
        "--types",
        "traffic.flying",
    )
    assert code == 2 and "traffic.flying" in out
    code, out = run(
        db_url,
        "account",
        "link",
        "--provider",
        "中国电信浙江分公司",
        "--account",
        "18957100001",
        "--id",
        person,
        "--name",
        "周晓艳",
    )
    assert code == 2 and "do not match" in out
    code, out = run(
        db_url,
        "account",
        "link",
        "--provider",
        "中国电信浙江分公司",
        "--account",
        "18957100001",
        "--id",
        person,
        "--name",
        "周晓燕",
    )
    assert code == 0
    code, out = run(
        db_url,
        "profession",
        "register",
        "--id",
        person,
        "--profession",
        "doctor",
        "--licence",
        "110330000012001",
        "--employer",
        org,
        "--on",
        "2026-06-01",
    )
    assert code == 0, out

    code, out = run(db_url, "subject", "show", person, "--json")
    shown = json.loads(out)
    assert person not in out and shown["accounts"] == [
        {"provider": "中国电信浙江分公司", "account": "18957100001"}
    ]
    assert shown["professions"] == [{"profession": "doctor", "licence": "110330000012001"}]
    code, out = run(db_url, "subject", "show", person, "--full", "--json")
    assert json.loads(out)["id"] == person
    code, out = run(db_url, "subject", "show", org)
    assert code == 0 and rep not in out and "浙江钱塘科技有限公司" in out
    code, out = run(db_url, "subject", "show", make_ric(rng, birth=dt.date(1990, 1, 1)))
    assert code == 2 and "no subject" in out
