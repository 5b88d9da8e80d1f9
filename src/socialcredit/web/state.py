"""What the pages keep for the life of the app (``app.state.web``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from socialcredit.api.ratelimit import RateLimiter
from socialcredit.web.session import Cookies, SessionStore
from socialcredit.web.settings import WebSettings


@dataclass
class WebState:
    settings: WebSettings
    sessions: SessionStore
    cookies: Cookies
    search_limiter: RateLimiter
    login_limiter: RateLimiter
    # Policy impact reports, which take seconds to compute, by (old, new, as-of date).
    impact_cache: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: WebSettings) -> WebState:
        return cls(
            settings=settings,
            sessions=SessionStore(settings),
            cookies=Cookies(settings),
            search_limiter=RateLimiter(
                per_minute=settings.search_per_minute, burst=settings.search_burst
            ),
            login_limiter=RateLimiter(
                per_minute=settings.login_per_minute, burst=settings.login_burst
            ),
        )
