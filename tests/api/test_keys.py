"""API keys: hashes only, role bindings, scope narrowing, revocation, and the CLI."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
import typer
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from socialcredit.access import AccessError, Role, authenticate, create_key, hash_key, revoke_key
from socialcredit.cli import common
from socialcredit.cli.keys import keys_app
from socialcredit.cli.serve import serve
from socialcredit.db.models import ApiKey
from tests.api.conftest import BANK, EMPLOYER, TELECOM, TRAFFIC, Pilot, audit_rows

runner = CliRunner()


def _cli() -> typer.Typer:
    """The wiring cli/app.py is to get: ``keys`` and ``serve`` under the root options."""
    app = typer.Typer()

    @app.callback()
    def _root(database_url: Annotated[str, typer.Option("--database-url")]) -> None:
        common.set_database_url(database_url)

    app.add_typer(keys_app, name="keys")
    app.command("serve")(serve)
    return app


def test_only_the_hash_is_stored(pilot: Pilot) -> None:
    key = pilot.keys["caseworker"]
    assert key.startswith("sc_cw_") and len(key) == len("sc_cw_") + 32
    with pilot.engine.connect() as conn:
        rows = conn.execute(select(ApiKey.key_hash, ApiKey.prefix, ApiKey.role)).all()
    assert key not in str(rows)
    (row,) = [r for r in rows if r.key_hash == hash_key(key)]
    assert row.prefix == key[:14] and row.role == "caseworker"


def test_principals_carry_their_binding_and_scope(pilot: Pilot) -> None:
    with pilot.engine.connect() as conn:
        provider = authenticate(conn, pilot.keys["provider"])
        telecom = authenticate(conn, pilot.keys["account_provider"])
        party = authenticate(conn, pilot.keys["relying_party"])
        subject = authenticate(conn, pilot.keys["subject"])
        admin = authenticate(conn, pilot.keys["admin"])
    assert provider is not None and provider.role is Role.PROVIDER
    assert provider.provider_name == TRAFFIC and "traffic.speeding" in provider.record_types
    assert not provider.is_account_provider and telecom is not None and telecom.is_account_provider
    assert party is not None and party.purposes == frozenset({"employment"})
    assert subject is not None and subject.subject_code == pilot.shanghai[0]
    assert admin is not None and admin.may_see_full_ids and not subject.may_see_full_ids


def test_bindings_and_scopes_are_checked(pilot: Pilot) -> None:
    bad: list[dict[str, Any]] = [
        {"role": "provider"},
        {"role": "provider", "provider": "no such provider"},
        {"role": "relying_party", "relying_party": "nobody"},
        {"role": "subject", "subject": pilot.unregistered},
        {"role": "caseworker", "provider": TRAFFIC},
        {"role": "admin", "subject": pilot.shanghai[0]},
        {"role": "overlord"},
        {"role": "provider", "provider": TRAFFIC, "scope": {"record_types": ["tax.arrears"]}},
        {"role": "provider", "provider": TRAFFIC, "scope": {"region": "shanghai"}},
        {"role": "provider", "provider": TRAFFIC, "scope": {"purposes": ["employment"]}},
        {"role": "relying_party", "relying_party": EMPLOYER, "scope": {"purposes": ["x"]}},
        {"role": "regulator", "scope": {"region": "31"}},
    ]
    for kwargs in bad:
        with pytest.raises(AccessError), pilot.engine.begin() as conn:
            create_key(conn, label="x", **kwargs)


def test_narrowing_follows_the_binding(pilot: Pilot) -> None:
    from sqlalchemy import update

    from socialcredit.db.models import RelyingParty

    key = pilot.key("relying_party", relying_party=BANK, scope={"purposes": ["financial_credit"]})
    with pilot.engine.connect() as conn:
        principal = authenticate(conn, key)
    assert principal is not None and principal.purposes == {"financial_credit"}
    # The party loses the purpose: every one of its keys loses it at once.
    with pilot.engine.begin() as conn:
        conn.execute(
            update(RelyingParty).where(RelyingParty.name == BANK).values(purposes='["employment"]')
        )
    with pilot.engine.connect() as conn:
        principal = authenticate(conn, key)
    assert principal is not None and principal.purposes == frozenset()


def test_revocation(pilot: Pilot) -> None:
    key = pilot.keys["regulator"]
    with pilot.engine.begin() as conn:
        info = revoke_key(conn, key[:15])
        assert info.revoked_at is not None
        again = revoke_key(conn, key[:15])  # harmless to repeat
        assert again.revoked_at == info.revoked_at
        assert authenticate(conn, key) is None
        with pytest.raises(AccessError):
            revoke_key(conn, "sc_reg_nothere")
    with pilot.engine.connect() as conn:
        assert authenticate(conn, "") is None
        assert authenticate(conn, "not a key") is None


def test_cli_create_list_revoke(db_url: str, engine: Engine, pilot: Pilot) -> None:
    cli = _cli()
    base = ["--database-url", db_url, "keys"]
    created = runner.invoke(cli, [*base, "create", "--role", "provider", "--provider", TELECOM])
    assert created.exit_code == 0, created.output
    key = next(line for line in created.stdout.splitlines() if line.startswith("sc_prv_"))
    with engine.connect() as conn:
        assert authenticate(conn, key) is not None

    out = runner.invoke(
        cli, [*base, "create", "--role", "subject", "--subject", pilot.jiangsu[0], "--json"]
    )
    assert out.exit_code == 0, out.output
    made = json.loads(out.stdout)
    assert made["role"] == "subject" and pilot.jiangsu[0] not in made["label"]

    narrowed = runner.invoke(
        cli,
        [
            *base,
            "create",
            "--role",
            "relying_party",
            "--party",
            BANK,
            "--purposes",
            "employment",
            "--json",
        ],
    )
    assert narrowed.exit_code == 0, narrowed.output

    listed = runner.invoke(cli, [*base, "list", "--json"])
    assert listed.exit_code == 0
    keys = json.loads(listed.stdout)
    assert key not in listed.stdout and made["key"] not in listed.stdout
    assert any(k["scope"] == {"purposes": ["employment"]} for k in keys)
    assert {k["role"] for k in keys} >= {"provider", "subject", "relying_party", "admin"}

    revoked = runner.invoke(cli, [*base, "revoke", key[:15]])
    assert revoked.exit_code == 0, revoked.output
    with engine.connect() as conn:
        assert authenticate(conn, key) is None
    active = json.loads(runner.invoke(cli, [*base, "list", "--active", "--json"]).stdout)
    assert key[:15] not in {k["prefix"] for k in active}
    table = runner.invoke(cli, [*base, "list"])
    assert table.exit_code == 0 and "(global)" in table.stdout

    entries = [
        (r.action, r.role, r.actor) for r in audit_rows(engine) if r.action.startswith("keys.")
    ]
    assert entries == [("keys.create", "admin", "cli")] * 3 + [("keys.revoke", "admin", "cli")]
    assert key not in str(audit_rows(engine))

    refused = runner.invoke(cli, [*base, "create", "--role", "provider"])
    assert refused.exit_code == 2 and "must be bound" in refused.output
    unknown = runner.invoke(cli, [*base, "revoke", "sc_prv_missing0"])
    assert unknown.exit_code == 2


def test_cli_serve_runs_uvicorn(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn
    from fastapi import FastAPI

    seen: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        seen["app"], seen["kwargs"] = app, kwargs

    monkeypatch.setattr(uvicorn, "run", fake_run)
    result = runner.invoke(_cli(), ["--database-url", db_url, "serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert isinstance(seen["app"], FastAPI)
    assert seen["kwargs"]["host"] == "127.0.0.1" and seen["kwargs"]["port"] == 8123
    seen["app"].state.auditor.close()
