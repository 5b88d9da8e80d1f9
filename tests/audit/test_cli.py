"""``audit verify``, ``audit checkpoint`` and ``audit list`` through Typer."""

from __future__ import annotations

import json
from typing import Annotated

import pytest
import typer
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from socialcredit.audit import append, verify
from socialcredit.cli import common
from socialcredit.cli.audit import audit_app
from socialcredit.db.models import Subject
from socialcredit.identity.ids import mask
from tests.conftest import People

from .helpers import fill, sql

runner = CliRunner()


def make_app() -> typer.Typer:
    """The root option and the audit sub-app, as cli/app.py wires them."""
    app = typer.Typer()

    @app.callback()
    def _root(
        database_url: Annotated[str | None, typer.Option("--database-url")] = None,
    ) -> None:
        common.set_database_url(database_url)

    app.add_typer(audit_app, name="audit")
    return app


def invoke(db_url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(make_app(), ["--database-url", db_url, "audit", *args])
    return result.exit_code, result.stdout, result.stderr


def test_verify_ok_and_tampered(db_url: str, engine: Engine) -> None:
    fill(engine, 9)
    code, out, _ = invoke(db_url, "verify")
    assert code == 0, out
    assert "intact: 9 entries" in out
    code, out, _ = invoke(db_url, "verify", "--json")
    assert code == 0
    assert json.loads(out)["ok"] is True

    sql(engine, "DELETE FROM audit_log WHERE seq = 5")
    code, _, err = invoke(db_url, "verify")
    assert code == 1
    assert "tampered with at entry 5" in err
    code, out, _ = invoke(db_url, "verify", "--json")
    assert code == 1
    report = json.loads(out)
    assert (report["ok"], report["first_bad_seq"]) == (False, 5)
    assert report["problems"][0]["kind"] == "missing"


def test_checkpoint_then_verify_against(db_url: str, engine: Engine) -> None:
    fill(engine, 6)
    code, out, _ = invoke(db_url, "checkpoint", "--json")
    assert code == 0, out
    cp = json.loads(out)
    assert cp["count"] == 6
    assert cp["token"] == f"{cp['root_hash']}:6"
    code, out, _ = invoke(db_url, "checkpoint")
    assert code == 0 and f"--against {cp['token']}" in out

    fill(engine, 2, start=6)
    code, out, _ = invoke(db_url, "verify", "--against", cp["token"])
    assert code == 0, out
    assert "still contains checkpoint" in out

    sql(engine, "DELETE FROM audit_log WHERE seq > 4")
    assert invoke(db_url, "verify")[0] == 0  # only the checkpoint sees a cut tail
    code, _, err = invoke(db_url, "verify", "--against", cp["token"])
    assert code == 1
    assert "entry 6" in err

    # A broken log gets no root to publish unless explicitly asked for.
    sql(engine, "UPDATE audit_log SET actor = 'forged' WHERE seq = 2")
    code, _, err = invoke(db_url, "checkpoint")
    assert code == 1 and "entry 2" in err
    assert invoke(db_url, "checkpoint", "--no-verify")[0] == 0


def test_verify_against_rejects_a_malformed_checkpoint(db_url: str, engine: Engine) -> None:
    code, _, err = invoke(db_url, "verify", "--against", "nonsense")
    assert code == 2
    assert "HASH:COUNT" in err


def test_list_by_subject_is_masked_and_audited(db_url: str, engine: Engine, people: People) -> None:
    number = people.persons[0][0]
    with engine.begin() as conn:
        sid = conn.scalar(select(Subject.id).where(Subject.code == number))
        assert sid is not None
        append(
            conn,
            actor="rp:school",
            role="relying_party",
            purpose="school_admission",
            subject_id=sid,
            action="measures.query",
            outcome="ok",
        )
        append(
            conn,
            actor="cw:1",
            role="caseworker",
            subject_id=sid + 1,
            action="file.read",
            outcome="ok",
        )

    code, out, _ = invoke(db_url, "list", "--subject", number, "--json")
    assert code == 0, out
    listing = json.loads(out)
    assert listing["subject"] == mask(number)
    assert [(e["actor"], e["purpose"], e["subject"]) for e in listing["entries"]] == [
        ("rp:school", "school_admission", mask(number))
    ]
    assert number not in out

    # The listing itself was appended, about that subject, before the answer.
    code, out, _ = invoke(db_url, "list", "--limit", "1", "--json")
    last = json.loads(out)["entries"][0]
    assert (last["actor"], last["role"], last["action"], last["outcome"]) == (
        "cli",
        "admin",
        "audit.list",
        "ok",
    )
    assert last["subject"] == mask(number)
    assert verify(engine).ok

    code, out, _ = invoke(db_url, "list")
    assert code == 0 and "outcome" in out and number not in out


def test_list_unknown_subject_is_refused_and_audited(
    db_url: str, engine: Engine, people: People
) -> None:
    code, _, err = invoke(db_url, "list", "--subject", "110101199003074258")
    assert code == 2
    assert "1101**********4258" in err
    code, out, _ = invoke(db_url, "list", "--json")
    entries = json.loads(out)["entries"]
    # The listing shows what was there before its own entry was appended.
    assert [(e["action"], e["outcome"], e["subject"]) for e in entries] == [
        ("audit.list", "not_found", None)
    ]
    assert entries[0]["detail"]["subject"] == "1101**********4258"


def test_list_empty_log(db_url: str, engine: Engine) -> None:
    code, out, _ = invoke(db_url, "list")
    assert code == 0 and "No audit entries" in out


def test_no_listing_without_its_entry(
    db_url: str, engine: Engine, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(engine, 3)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr("socialcredit.cli.audit.append", broken)
    result = runner.invoke(make_app(), ["--database-url", db_url, "audit", "list", "--json"])
    assert result.exit_code != 0
    assert result.stdout == ""  # nothing was answered
