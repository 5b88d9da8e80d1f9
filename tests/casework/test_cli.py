"""The casework commands end to end through the ``socialcredit`` app (SQLite and
PostgreSQL): every step with --as-of and --json, the escalation list's exit code, bad
input exiting 2 with the field and the reason, and ``maintain`` run twice."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from socialcredit.cli.app import app

from .conftest import COURT, POLICE, TAX, Casework, D

runner = CliRunner()


def _run(db_url: str, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["--database-url", db_url, *args])
    assert result.exit_code == code, (result.output, result.stderr if code == 0 else "")
    return result.stdout if code == 0 else result.output


def _json(db_url: str, *args: str, code: int = 0) -> Any:
    return json.loads(_run(db_url, *args, "--json", code=code))


def test_objection_commands(db_url: str, world: Casework) -> None:
    driver = world.person()
    world.record(POLICE, driver, "traffic.speeding", D(2026, 9, 14), prid="SP-1")
    filed = _json(
        db_url,
        "objections", "file", "--provider", POLICE, "--provider-record-id", "SP-1",
        "--reason", "号牌被套用", "--by", "王芳", "--as-of", "2026-09-30",
    )  # fmt: skip
    oid = str(filed["id"])
    assert filed["deadlines"] == {
        "flag": "2026-10-08",
        "forward": "2026-10-09",
        "decision": "2026-10-15",
    }
    overdue = _json(db_url, "objections", "overdue", "--as-of", "2026-10-09", code=1)
    assert [(c["id"], c["waiting_for"], c["working_days_late"]) for c in overdue["overdue"]] == [
        (int(oid), "flag", 1)
    ]
    assert _json(db_url, "objections", "overdue", "--as-of", "2026-10-08")["overdue"] == []
    _run(db_url, "objections", "flag", oid, "--by", "王芳", "--as-of", "2026-10-09")
    _run(db_url, "objections", "forward", oid, "--by", "王芳", "--as-of", "2026-10-09")
    decided = _json(
        db_url,
        "objections", "decide", oid, "--outcome", "deleted", "--reason", "确认号牌被套用",
        "--by", "王芳", "--as-of", "2026-10-13",
    )  # fmt: skip
    assert (decided["status"], decided["outcome"]) == ("decided", "deleted")
    out = _run(db_url, "objections", "show", oid)
    assert "deleted" in out and "王芳" in out
    listed = _json(db_url, "objections", "list", "--subject", driver.number, "--full")
    assert [o["subject"] for o in listed] == [driver.number]

    # Bad input: exit 2, the field and the reason, nothing stored.
    before = world.counts()
    out = _run(
        db_url,
        "objections", "decide", oid, "--outcome", "upheld", "--reason", "再议",
        "--as-of", "2026-10-14",
        code=2,
    )  # fmt: skip
    assert "objection_id" in out and "already_decided" in out
    out = _run(db_url, "objections", "file", "--record-id", "99999", "--reason", "x", code=2)
    assert "unknown_record" in out
    assert world.counts() == before

    notes = _json(db_url, "notifications", "list", "--subject", driver.number)
    assert [n["recipient"] for n in notes] == [f"subject:{driver.id}"]
    cascades = _json(db_url, "annulments")
    assert [(c["action"], c["source"]) for c in cascades] == [("annulled", "objection")]


def test_repair_annul_and_maintain_commands(db_url: str, world: Casework) -> None:
    taxpayer, debtor = world.person(), world.person()
    world.record(TAX, taxpayer, "tax.evasion", D(2025, 10, 10), prid="TE-1", amount_cny=48600)
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 1), prid="E-1")
    out = _run(
        db_url,
        "repair", "apply", "--provider", TAX, "--provider-record-id", "TE-1",
        "--obligation", "税款已补缴", "--commitment", "承诺依法纳税", "--as-of", "2026-10-09",
        code=2,
    )  # fmt: skip
    assert "too_early" in out and "2026-10-10" in out
    app_json = _json(
        db_url,
        "repair", "apply", "--provider", TAX, "--provider-record-id", "TE-1",
        "--obligation", "税款已补缴", "--obligation", "滞纳金已缴清",
        "--commitment", "承诺依法纳税", "--as-of", "2026-10-12",
    )  # fmt: skip
    assert (app_json["decision_due"], app_json["obligations"]) == (
        "2026-10-15",
        ["税款已补缴", "滞纳金已缴清"],
    )
    decided = _json(
        db_url,
        "repair", "decide", str(app_json["id"]), "--approve", "--reason", "凭证齐全",
        "--as-of", "2026-10-13",
    )  # fmt: skip
    assert decided["status"] == "approved"
    assert [a["status"] for a in _json(db_url, "repair", "list")] == ["approved"]

    annulled = _json(
        db_url,
        "records", "annul", "E-1", "--provider", COURT, "--reason", "已履行完毕",
        "--as-of", "2026-11-02",
    )  # fmt: skip
    assert (annulled["removal_due"], annulled["late"]) == ("2026-11-05", False)
    out = _run(db_url, "records", "annul", "E-404", "--provider", COURT, "--reason", "x", code=2)
    assert "unknown_record" in out

    first = _json(db_url, "maintain", "--as-of", "2026-12-30")
    assert [d["day"] for d in first["days"]] == ["2026-12-30"]
    caught_up = _json(db_url, "maintain", "--as-of", "2027-01-04")
    assert [d["day"] for d in caught_up["days"]] == [
        "2026-12-31",
        "2027-01-01",
        "2027-01-02",
        "2027-01-03",
        "2027-01-04",
    ]
    assert "nothing to do" in _run(db_url, "maintain", "--as-of", "2027-01-04")


def test_refused_reads_are_audited(db_url: str, world: Casework) -> None:
    """An unknown case, subject, provider or party, or a bad status: exit 2 with the
    reason, and the refusal on record (without the full number asked about)."""
    from socialcredit.db.models import AuditEntry
    from socialcredit.synth.ids import make_ric

    def audited(action: str) -> list[Any]:
        t = AuditEntry.__table__
        with world.engine.connect() as conn:
            return list(conn.execute(select(t).where(t.c.action == action).order_by(t.c.seq)))

    stranger = make_ric(world.rng, birth=D(1990, 1, 1), province="31")
    refusals = [
        (("objections", "show", "999999"), "objection.read", "unknown_objection"),
        (("objections", "list", "--subject", stranger), "objection.list", "unknown_subject"),
        (("objections", "list", "--status", "bogus"), "objection.list", "bad_status"),
        (("repair", "list", "--subject", stranger), "repair.list", "unknown_subject"),
        (("repair", "list", "--status", "bogus"), "repair.list", "bad_status"),
        (("annulments", "--provider", "无此单位"), "annulment.list", "unknown_provider"),
        (
            ("notifications", "list", "--party", "无此单位"),
            "notification.list",
            "unknown_relying_party",
        ),
        (("notifications", "list", "--subject", stranger), "notification.list", "unknown_subject"),
    ]
    for args, action, code in refusals:
        before = len(audited(action))
        out = _run(db_url, *args, "--by", "王芳", code=2)
        assert code in out, out
        entries = audited(action)
        assert len(entries) == before + 1, args
        assert (entries[-1].outcome, entries[-1].actor) == (code, "王芳")
        assert stranger not in str(entries[-1].detail)
    # What was found is audited as before.
    _run(db_url, "objections", "list", "--by", "王芳")
    assert audited("objection.list")[-1].outcome == "ok"
