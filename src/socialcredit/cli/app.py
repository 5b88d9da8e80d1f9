"""The ``socialcredit`` command: one Typer app, one sub-app per area of the flow."""

from __future__ import annotations

from typing import Annotated

import typer

from socialcredit.cli import (
    audit,
    casework,
    common,
    keys,
    lists,
    policy,
    records,
    registry,
    reports,
    scoring,
    serve,
    snapshot,
    synth,
)

app = typer.Typer(
    name="socialcredit",
    help="Public credit information platform: registry, feeds, policy, scores and due process.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="SOCIALCREDIT_DATABASE_URL",
            help="SQLAlchemy URL of the store (default: sqlite:///socialcredit.db).",
        ),
    ] = None,
) -> None:
    common.set_database_url(database_url)


app.command("init")(registry.init)
app.add_typer(registry.person_app, name="person")
app.add_typer(registry.org_app, name="org")
app.add_typer(registry.account_app, name="account")
app.add_typer(registry.profession_app, name="profession")
app.add_typer(registry.provider_app, name="provider")
app.add_typer(registry.subject_app, name="subject")
app.add_typer(records.records_app, name="records")
app.add_typer(policy.policy_app, name="policy")
app.command("score")(scoring.score)
app.command("rescore")(scoring.rescore)
app.add_typer(snapshot.snapshot_app, name="snapshot")
app.command("generate")(synth.generate)
app.command("demo")(synth.demo)
app.add_typer(audit.audit_app, name="audit")
app.add_typer(lists.lists_app, name="lists")
app.command("measures")(lists.measures)
app.add_typer(lists.party_app, name="party")
app.command("purposes")(lists.purposes)
app.add_typer(keys.keys_app, name="keys")
app.command("serve")(serve.serve)
app.add_typer(casework.objections_app, name="objections")
app.add_typer(casework.repair_app, name="repair")
records.records_app.command("annul")(casework.record_annul)
records.records_app.command("correct")(casework.record_correct)
app.command("annulments")(casework.annulment_list)
app.add_typer(casework.notifications_app, name="notifications")
app.command("maintain")(casework.maintain)
app.command("report")(reports.report)
app.add_typer(reports.certificate_app, name="certificate")


def main() -> None:
    app()
