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
# The platform's Ed25519 certificate signing key (PEM, PKCS #8). Unset, it lives in the
# user's data directory and is generated on first use: one key per operator account,
# whatever the store, so every store that account serves signs alike.
ENV_SIGNING_KEY = "SOCIALCREDIT_SIGNING_KEY"


@dataclass(frozen=True)
class Settings:
    database_url: str
    professions_file: Path | None
    signing_key_file: Path | None = None


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def load_settings(database_url: str | None = None) -> Settings:
    """Settings from explicit arguments first, then the environment, then defaults."""
    url = database_url or os.environ.get(ENV_DATABASE_URL) or sqlite_url(DEFAULT_SQLITE_PATH)
    prof = os.environ.get(ENV_PROFESSIONS_FILE)
    key = os.environ.get(ENV_SIGNING_KEY)
    return Settings(
        database_url=url,
        professions_file=Path(prof) if prof else None,
        signing_key_file=Path(key) if key else None,
    )
