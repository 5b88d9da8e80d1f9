"""`policy check PATH [--json]`: findings, JSON shape and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from socialcredit.policy import shipped_policy_dir

from .conftest import FIXTURES, NATIONAL_FILE, Writer, make_app, regional

runner = CliRunner()


def test_clean_file_exits_0_with_json() -> None:
    path = shipped_policy_dir() / NATIONAL_FILE
    result = runner.invoke(make_app(), ["policy", "check", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"files": [str(path)], "findings": []}


def test_warnings_only_exit_1(write: Writer) -> None:
    rule = {"record_type": "commendation.blood_donation", "points": -5, "legal_basis": "法"}
    path = write("warn.yaml", regional(rules=[rule]))
    result = runner.invoke(make_app(), ["policy", "check", str(path), "--json"])
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["findings"]
    assert findings == [
        {
            "severity": "warning",
            "code": "points-sign-mismatch",
            "file": str(path),
            "path": "rules[0].points",
            "message": "commendation.blood_donation is a positive record but scores -5",
        }
    ]
    human = runner.invoke(make_app(), ["policy", "check", str(path)])
    assert human.exit_code == 1
    assert "rules[0].points: warning [points-sign-mismatch]" in human.output
    assert "1 file checked: 0 errors, 1 warning." in human.output


def test_broken_directory_exits_2_with_every_file() -> None:
    folder = FIXTURES / "broken"
    result = runner.invoke(make_app(), ["policy", "check", str(folder), "--json"])
    assert result.exit_code == 2, result.output
    out = json.loads(result.stdout)
    assert out["files"] == [
        str(folder / "cn-31-broken-2026.1.yaml"),
        str(folder / "cn-31-typos-2026.1.yaml"),
    ]
    assert {f["file"] for f in out["findings"]} == set(out["files"])
    assert all(set(f) == {"severity", "code", "file", "path", "message"} for f in out["findings"])
    human = runner.invoke(make_app(), ["policy", "check", str(folder)])
    assert human.exit_code == 2
    assert "rules[1].points: error [invalid-value] Input should be a valid integer" in human.output


def test_unparseable_file_is_a_finding_not_a_traceback(write: Writer) -> None:
    path = write("bad.yaml", "id: [unclosed\n")
    result = runner.invoke(make_app(), ["policy", "check", str(path), "--json"])
    assert result.exit_code == 2
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["code"] == "yaml-syntax"
    assert "line 2" in finding["message"]


def test_missing_path_or_empty_directory_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(make_app(), ["policy", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "no such file" in result.output
    result = runner.invoke(make_app(), ["policy", "check", str(tmp_path)])
    assert result.exit_code == 2
    assert "no policy files" in " ".join(result.output.split())  # rich wraps the message
