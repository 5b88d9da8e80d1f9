"""The Alembic migrations build exactly the schema the models describe, on both stores,
and step down and up again cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from socialcredit.db.migrate import alembic_config
from socialcredit.db.models import Base


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        diff: list[object] = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    return diff


def test_head_matches_the_models(engine: Engine) -> None:
    # The ``engine`` fixture builds its store through the migrations (init_store).
    assert _differences(engine) == []
    indexes = {i["name"] for i in inspect(engine).get_indexes("record_status_events")}
    assert "ix_record_status_events_annulments" in indexes


def test_down_to_the_first_revision_and_up_again(engine: Engine) -> None:
    config = alembic_config(engine)
    command.downgrade(config, "0001")
    assert "objections" not in inspect(engine).get_table_names()
    command.upgrade(config, "head")
    assert _differences(engine) == []
