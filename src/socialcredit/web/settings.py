"""Settings of the web pages, read from the environment.

The API's limits live in ``api.settings``; these are the ones only pages have: the
session cookie, how long a login lasts, how fast one client may search the public lists,
and where objection evidence is kept.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

ENV_SECRET = "SOCIALCREDIT_WEB_SECRET"
ENV_INSECURE_COOKIES = "SOCIALCREDIT_WEB_INSECURE_COOKIES"
ENV_SEARCH_RATE = "SOCIALCREDIT_WEB_SEARCH_PER_MINUTE"
ENV_SEARCH_BURST = "SOCIALCREDIT_WEB_SEARCH_BURST"
ENV_EVIDENCE_DIR = "SOCIALCREDIT_EVIDENCE_DIR"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class WebSettings:
    # Signs the session and CSRF cookies. Unset, a random one per process: a restart then
    # logs everyone out, which is the right failure for a secret nobody configured.
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    # Cookies are ``Secure`` unless this is set: browsers accept Secure cookies from
    # http://localhost and 127.0.0.1, so only a plain-HTTP deployment elsewhere needs it.
    insecure_cookies: bool = False
    # A login lasts this long without activity, and never longer than ``session_max``.
    session_idle_seconds: int = 30 * 60
    session_max_seconds: int = 8 * 60 * 60
    # Reading the public lists (searching, paging, entry pages) per client address. Enough
    # for a person looking someone up; scraping the list is what the bulk API is for.
    search_per_minute: float = 30.0
    search_burst: int = 30
    # Login attempts per client address: keys cannot be guessed, but nobody needs to try.
    login_per_minute: float = 10.0
    login_burst: int = 10
    # Evidence files attached to objections, kept by content digest. None: beside a
    # SQLite store's file, else in the user's data directory (``evidence_dir_for``).
    evidence_dir: Path | None = None
    evidence_max_bytes: int = 4 * 1024 * 1024
    # Objections with an evidence file one subject may file in a day: enough for every
    # record a person could contest at once, not a way to fill the disk.
    evidence_per_day: int = 5

    @classmethod
    def from_env(cls) -> WebSettings:
        default = cls()
        secret = os.environ.get(ENV_SECRET)
        return cls(
            secret=secret if secret else default.secret,
            insecure_cookies=_flag(ENV_INSECURE_COOKIES),
            search_per_minute=float(os.environ.get(ENV_SEARCH_RATE, default.search_per_minute)),
            search_burst=int(os.environ.get(ENV_SEARCH_BURST, default.search_burst)),
            evidence_dir=Path(os.environ[ENV_EVIDENCE_DIR])
            if os.environ.get(ENV_EVIDENCE_DIR)
            else None,
        )


def evidence_dir_for(engine: Engine) -> Path:
    """Where evidence goes when no directory is configured: next to a SQLite store (so a
    demo's pilot/ keeps its own), else the user's data directory, like the signing key."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:":
        return Path(database).resolve().parent / "evidence"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "socialcredit" / "evidence"
