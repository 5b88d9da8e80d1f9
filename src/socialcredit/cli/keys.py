"""``socialcredit keys``: create, list and revoke API keys."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from socialcredit.access import (
    AccessError,
    Role,
    authenticate,
    create_key,
    list_keys,
    revoke_key,
)
from socialcredit.audit import append
from socialcredit.cli.common import console, fail, print_json, store
from socialcredit.identity.ids import mask

keys_app = typer.Typer(help="API keys: one role and one scope each.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _csv(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


@keys_app.command("create")
def keys_create(
    role: Annotated[
        Role, typer.Option("--role", help="provider, relying_party, caseworker, regulator, ...")
    ],
    provider: Annotated[
        str | None, typer.Option("--provider", help="Provider name (provider keys).")
    ] = None,
    party: Annotated[
        str | None, typer.Option("--party", help="Relying party name (relying_party keys).")
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="The subject's own ID (subject keys).")
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Who holds the key (default: from the binding).")
    ] = None,
    types: Annotated[
        str | None,
        typer.Option("--types", help="Narrow a provider key to these record types (comma list)."),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region", help="Narrow a provider key to subjects registered in this division."
        ),
    ] = None,
    purposes: Annotated[
        str | None,
        typer.Option("--purposes", help="Narrow a relying-party key to these purposes."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a key and print it once: only its hash is kept, it cannot be shown again."""
    scope: dict[str, Any] = {}
    if types is not None:
        scope["record_types"] = _csv(types)
    if region is not None:
        scope["region"] = region
    if purposes is not None:
        scope["purposes"] = _csv(purposes)
    default_label = provider or party or (f"subject {mask(subject)}" if subject else role.value)
    try:
        with store().begin() as conn:
            key = create_key(
                conn,
                role=role,
                label=label or default_label,
                provider=provider,
                relying_party=party,
                subject=subject,
                scope=scope,
            )
            principal = authenticate(conn, key)
            assert principal is not None
            # Who may read what is itself on record, in the key's own transaction.
            append(
                conn,
                actor="cli",
                role="admin",
                action="keys.create",
                outcome="ok",
                subject_id=principal.subject_id,
                detail={"prefix": principal.prefix, "role": role.value, "scope": scope},
            )
    except AccessError as exc:
        fail(str(exc))
    if json_out:
        print_json({"key": key, "role": role.value, "label": label or default_label})
        return
    console.print(f"Created a {role.value} key for {label or default_label}:")
    # Printed bare so it can be copied or piped; the store cannot show it again.
    print(key)
    console.print("[dim]Keep it now: only its hash is stored.[/]")


@keys_app.command("list")
def keys_list(
    active: Annotated[bool, typer.Option("--active", help="Leave out revoked keys.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """List keys by prefix, role, binding and scope (never the keys themselves)."""
    with store().connect() as conn:
        keys = list_keys(conn, include_revoked=not active)
    if json_out:
        print_json([k.as_dict() for k in keys])
        return
    table = Table("prefix", "role", "label", "bound to", "scope", "created", "revoked")
    for k in keys:
        scope = "; ".join(
            f"{name}={','.join(v) if isinstance(v, list) else v}" for name, v in k.scope.items()
        )
        table.add_row(
            k.prefix,
            k.role,
            k.label,
            k.bound_to or "(global)",
            scope,
            k.created_at.isoformat(timespec="minutes"),
            k.revoked_at.isoformat(timespec="minutes") if k.revoked_at else "",
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix as `keys list` shows it.")],
    json_out: JsonOpt = False,
) -> None:
    """Revoke a key: it stops working at once and stays listed, for the audit trail."""
    try:
        with store().begin() as conn:
            info = revoke_key(conn, prefix)
            append(
                conn,
                actor="cli",
                role="admin",
                action="keys.revoke",
                outcome="ok",
                detail={"prefix": info.prefix, "role": info.role},
            )
    except AccessError as exc:
        fail(str(exc))
    if json_out:
        print_json(info.as_dict())
        return
    assert info.revoked_at is not None
    console.print(
        f"Key {info.prefix} ({info.role}, {info.label}) revoked at "
        f"{info.revoked_at.isoformat(timespec='seconds')}."
    )
