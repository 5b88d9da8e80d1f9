"""The lists, measures, party and purposes commands, registered as cli/app.py will."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from typer.testing import CliRunner

from socialcredit.cli import common
from socialcredit.cli.lists import lists_app, measures, party_app, purposes

from .conftest import COURT, D, World

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root(database_url: Annotated[str, typer.Option("--database-url")]) -> None:
        common.set_database_url(database_url)

    app.add_typer(lists_app, name="lists")
    app.command("measures")(measures)
    app.add_typer(party_app, name="party")
    app.command("purposes")(purposes)
    return app


def _run(db_url: str, *args: str, code: int = 0) -> str:
    result = runner.invoke(_app(), ["--database-url", db_url, *args])
    assert result.exit_code == code, result.output
    return result.stdout


def test_lists_update_show_history_and_measures(db_url: str, world: World) -> None:
    debtor, other = world.person(), world.person(province="34")
    world.record(COURT, debtor, "court.dishonest_debtor", D(2026, 9, 24), prid="C-1")
    out = json.loads(_run(db_url, "lists", "update", "--as-of", "2026-09-28", "--json"))
    assert out == {
        "as_of": "2026-09-28",
        "subjects": 2,
        "entered": 1,
        "published": 0,
        "exited": 0,
    }
    again = json.loads(_run(db_url, "lists", "update", "--as-of", "2026-09-28", "--json"))
    assert again["entered"] == 0  # idempotent
    assert "1 published" in _run(db_url, "lists", "update", "--as-of", "2026-10-12")

    shown = json.loads(_run(db_url, "lists", "show", "--list", "black", "--json"))
    (entry,) = shown
    assert entry["status"] == "published" and entry["subject"] != debtor.number
    assert (entry["notice_until"], entry["published_on"]) == ("2026-10-10", "2026-10-12")
    assert json.loads(_run(db_url, "lists", "show", "--status", "exited", "--json")) == []
    assert debtor.name in _run(db_url, "lists", "show")
    steps = json.loads(_run(db_url, "lists", "history", str(entry["entry_id"]), "--json"))
    assert [s["to_status"] for s in steps] == ["pending_notice", "published"]
    assert (
        "no list entry"
        in runner.invoke(_app(), ["--database-url", db_url, "lists", "history", "999"]).output
    )
    _run(db_url, "lists", "show", "--list", "grey", code=2)

    answer = json.loads(
        _run(
            db_url,
            "measures",
            debtor.number,
            "--purpose",
            "transport_ticketing",
            "--as-of",
            "2026-10-12",
            "--json",
        )
    )
    assert {m["id"] for m in answer["measures"]} == {
        "debtor-no-flights",
        "debtor-no-soft-sleepers",
        "debtor-no-g-series-trains",
    }
    assert answer["subject"] != debtor.number
    text = _run(db_url, "measures", other.number, "--purpose", "employment")
    assert "No measures apply" in text
    bad = runner.invoke(
        _app(), ["--database-url", db_url, "measures", debtor.number, "--purpose", "gossip"]
    )
    assert bad.exit_code == 2 and "unknown purpose" in bad.output
    _run(db_url, "lists", "update", "--as-of", "yesterday", code=2)


def test_party_and_purposes(db_url: str, world: World) -> None:
    out = json.loads(
        _run(
            db_url,
            "party",
            "add",
            "杭州市教育局",
            "--kind",
            "school",
            "--region",
            "3301",
            "--purposes",
            "school_admission,employment",
            "--json",
        )
    )
    assert out["purposes"] == ["school_admission", "employment"]
    listed = json.loads(_run(db_url, "party", "list", "--json"))
    assert [p["name"] for p in listed] == ["杭州市教育局"]
    refused = runner.invoke(
        _app(),
        [
            "--database-url",
            db_url,
            "party",
            "add",
            "某银行",
            "--kind",
            "bank",
            "--region",
            "31",
            "--purposes",
            "transport_ticketing",
        ],
    )
    assert refused.exit_code == 2 and "open only to transport_operator" in refused.output
    codes = [p["code"] for p in json.loads(_run(db_url, "purposes", "--json"))]
    assert "transport_ticketing" in codes and "school_admission" in codes
    assert "公务员录用" in _run(db_url, "purposes")
