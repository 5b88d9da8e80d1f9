"""Creating or migrating a store and loading the published catalogue into it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from socialcredit.db.engine import session_scope
from socialcredit.db.migrate import upgrade
from socialcredit.records.catalogue import default_catalogue, load_into


@dataclass(frozen=True)
class InitResult:
    catalogue_version: str
    record_types_added: int
    record_types_total: int


def init_store(engine: Engine) -> InitResult:
    """Idempotent: migrates to head and refreshes the catalogue; running it twice is harmless."""
    upgrade(engine)
    catalogue = default_catalogue()
    with session_scope(engine) as session:
        added = load_into(session, catalogue)
    return InitResult(
        catalogue_version=catalogue.version,
        record_types_added=added,
        record_types_total=len(catalogue.record_types),
    )
