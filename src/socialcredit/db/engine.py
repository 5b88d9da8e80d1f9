"""Engines and sessions for the SQLite default and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

ENV_SQLITE_CACHE_MB = "SOCIALCREDIT_SQLITE_CACHE_MB"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the API, reports) run while a feed is being imported. FULL
    # sync makes every commit survive a power cut, not only a process crash: an
    # audit entry must be durable before its answer is sent. Imports commit once
    # per 5,000-row chunk, so the extra flush per commit costs them little.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # The default 2 MB page cache thrashes once the record indexes outgrow it (a few
    # hundred thousand rows) and imports slow down as the store grows; a bigger one
    # keeps the hot index pages resident. It is a fixed ceiling, so memory stays flat.
    cache_mb = int(os.environ.get(ENV_SQLITE_CACHE_MB, "64"))
    cursor.execute(f"PRAGMA cache_size=-{cache_mb * 1024}")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed together or not at all."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session
