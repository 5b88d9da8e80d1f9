"""Alembic environment: the engine is handed over by ``socialcredit.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from socialcredit.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine: Engine = config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        context.run_migrations()


run_migrations_online()
