"""``socialcredit report`` and ``socialcredit certificate``, through the real command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from socialcredit.cli.app import app
from socialcredit.db.models import AuditEntry, Certificate, Score
from socialcredit.identity.ids import mask, ric_check_char
from socialcredit.reports import SigningKey
from tests.api.conftest import break_audit_log, repair_audit_log
from tests.reports.conftest import COURT, POLICE, TODAY, D, Subj, World, object_to

runner = CliRunner()


def _run(db_url: str, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["--database-url", db_url, *args])
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout


def _audit(world: World) -> list[tuple[str, str, int | None, str]]:
    t = AuditEntry.__table__
    with world.engine.connect() as conn:
        return [
            (r.action, r.outcome, r.subject_id, r.detail)
            for r in conn.execute(select(t).order_by(t.c.seq))
            if r.action.startswith(("reports.", "certificates."))
        ]


@pytest.fixture
def person(world: World) -> Subj:
    p = world.person()
    world.record(POLICE, p, "traffic.speeding", D(2026, 11, 2), prid="TP-1")
    object_to(world.engine, p, "TP-1", TODAY)
    return p


def test_report_json_and_html(db_url: str, world: World, person: Subj, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    out = _run(
        db_url, "report", person.number, "--as-of", "2026-11-27", "--json", "--html", str(page)
    )
    report = json.loads(out)
    assert report["identity"]["id"] == mask(person.number) and person.number not in out
    (record,) = report["records"]
    assert record["disputed"] and record["provider_record_id"] == "TP-1"
    assert report["score"]["as_of"] == "2026-11-27"
    assert person.name in page.read_text("utf-8")
    ((action, outcome, sid, detail),) = _audit(world)
    assert (action, outcome, sid) == ("reports.read", "ok", person.id)
    assert json.loads(detail) == {
        "subject": mask(person.number),
        "as_of": "2026-11-27",
        "html": True,
    }
    # Reading stored nothing: no score was written by the report.
    with world.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Score)) == 0
    human = _run(db_url, "report", person.number, "--as-of", "2026-11-27")
    assert "disputed" in human and mask(person.number) in human


def test_no_report_without_its_audit_entry(
    db_url: str, world: World, person: Subj, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    break_audit_log(world.engine)
    result = runner.invoke(
        app, ["--database-url", db_url, "report", person.number, "--json", "--html", str(page)]
    )
    assert result.exit_code != 0
    assert result.stdout == "" and not page.exists()
    repair_audit_log(world.engine)
    assert _audit(world) == []


def test_bad_input_is_refused_clearly_and_audited(db_url: str, world: World, person: Subj) -> None:
    unregistered = person.number[:14] + ("0000" if person.number[14:] != "0000" else "1111")
    # An unregistered number with a valid check character, and one with a wrong one.
    valid = unregistered[:17] + ric_check_char(unregistered[:17])
    wrong = valid[:17] + ("0" if valid[17] != "0" else "1")
    runner_out = runner.invoke(app, ["--database-url", db_url, "report", valid])
    assert runner_out.exit_code == 2 and "no subject registered" in runner_out.stderr
    assert valid not in runner_out.stderr
    bad = runner.invoke(app, ["--database-url", db_url, "report", wrong])
    assert bad.exit_code == 2 and "check character" in bad.stderr
    date = runner.invoke(
        app, ["--database-url", db_url, "report", person.number, "--as-of", "27/11/2026"]
    )
    assert date.exit_code == 2 and "YYYY-MM-DD" in date.stderr
    kind = runner.invoke(
        app,
        ["--database-url", db_url, "certificate", "issue", person.number, "--kind", "good_conduct"],
    )
    assert kind.exit_code == 2 and "--kind must be one of" in kind.stderr
    outcomes = [(a, o) for a, o, _, _ in _audit(world)]
    assert outcomes == [
        ("reports.read", "not_found"),
        ("reports.read", "invalid"),
        ("reports.read", "invalid"),
        ("certificates.issue", "invalid"),
    ]
    with world.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Certificate)) == 0


def test_certificate_issue_verify_and_public_key(
    db_url: str, world: World, person: Subj, tmp_path: Path, key_file: Path
) -> None:
    pem = tmp_path / "platform.pem"
    result = runner.invoke(app, ["certificate", "public-key"])
    assert result.exit_code == 0 and "key id ed25519:" in result.stderr
    pem.write_text(result.stdout)
    assert key_file.exists()

    for form in ("html", "json"):
        path = tmp_path / f"cert.{form}"
        summary = json.loads(
            _run(
                db_url,
                "certificate",
                "issue",
                person.number,
                "--kind",
                "no_dishonesty_record",
                "--format",
                form,
                "--out",
                str(path),
                "--json",
            )
        )
        assert summary["file"] == str(path) and summary["subject"] == mask(person.number)
        checked = json.loads(
            _run(db_url, "certificate", "verify", str(path), "--public-key", str(pem), "--json")
        )
        assert checked["valid"] and checked["code"] == summary["code"]
        # Without --public-key: the platform's own key, on the platform's machine.
        assert "valid" in _run(db_url, "certificate", "verify", str(path))

        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        altered = tmp_path / f"altered.{form}"
        altered.write_bytes(bytes(data))
        failed = runner.invoke(
            app, ["certificate", "verify", str(altered), "--public-key", str(pem)]
        )
        assert failed.exit_code == 1 and "not valid" in failed.stderr

    other = tmp_path / "other.pem"
    other.write_text(SigningKey.generate().public.pem())
    wrong_key = runner.invoke(
        app, ["certificate", "verify", str(tmp_path / "cert.json"), "--public-key", str(other)]
    )
    assert wrong_key.exit_code == 1 and "not with the platform key" in wrong_key.stderr
    missing = runner.invoke(app, ["certificate", "verify", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2
    assert [o for a, o, _, _ in _audit(world)] == ["ok", "ok"]


def test_no_dishonesty_refused_with_reasons(db_url: str, world: World, tmp_path: Path) -> None:
    p = world.person()
    world.record(COURT, p, "court.dishonest_debtor", D(2026, 7, 15), prid="EXEC-1")
    world.update(D(2026, 7, 15), p)
    world.update(TODAY, p)
    path = tmp_path / "cert.html"
    result = runner.invoke(
        app,
        [
            "--database-url",
            db_url,
            "certificate",
            "issue",
            p.number,
            "--kind",
            "no_dishonesty_record",
            "--out",
            str(path),
        ],
    )
    assert result.exit_code == 2 and "black-list entry" in result.stderr
    assert not path.exists()
    assert [(a, o, s) for a, o, s, _ in _audit(world)] == [
        ("certificates.issue", "not_eligible", p.id)
    ]
    # The signed credit report is theirs to have.
    _run(db_url, "certificate", "issue", p.number, "--kind", "credit_report", "--out", str(path))
    assert path.exists()
