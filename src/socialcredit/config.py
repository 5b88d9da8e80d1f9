"""Runtime configuration, read from the environment.

Everything has a default that works on a fresh machine: an SQLite file in the
current directory. PostgreSQL is chosen by giving a URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SQLITE_PATH = Path("socialcredit.db")

ENV_DATABASE_URL = "SOCIALCREDIT_DATABASE_URL"
ENV_PROFESSIONS_FILE = "SOCIALCREDIT_PROFESSIONS_FILE"


@dataclass(frozen=True)
class Settings:
    database_url: str
    professions_file: Path | None


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def load_settings(database_url: str | None = None) -> Settings:
    """Settings from explicit arguments first, then the environment, then defaults."""
    url = database_url or os.environ.get(ENV_DATABASE_URL) or sqlite_url(DEFAULT_SQLITE_PATH)
    prof = os.environ.get(ENV_PROFESSIONS_FILE)
    return Settings(database_url=url, professions_file=Path(prof) if prof else None)
