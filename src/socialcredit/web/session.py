"""Logins to the portal and the dashboard: server-side sessions and CSRF tokens.

A subject or a regulator logs in with their API key. The key stays on the server, in
this process's memory, next to a random session id; the browser holds only that id,
signed, in a ``Secure``, ``HttpOnly``, ``SameSite=Strict`` cookie. Every request
authenticates the key again (through the API's key cache), so a revoked key ends its
sessions within the cache's few seconds.

Every form that changes something carries a CSRF token. A logged-in form's token is
the session's own; the login form's is an HMAC of a random cookie (double submit), so
a page of another site can neither read nor forge either. ``SameSite=Strict`` alone
would already stop the browser from sending the cookies along; the tokens also cover
browsers that ignore it.

Sessions live in one process, like the API's rate limits: behind several workers, a
sticky load balancer (or a shared store) is needed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from itsdangerous import BadSignature, Signer
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from socialcredit.access import Principal, authenticate, hash_key
from socialcredit.api.keycache import KeyCache
from socialcredit.web.settings import WebSettings

SESSION_COOKIE = "sc_session"
CSRF_COOKIE = "sc_csrf"
LANG_COOKIE = "sc_lang"
CSRF_FIELD = "csrf"

# Past this many sessions the least recently used are dropped: a flood of logins cannot
# exhaust memory, it can only log out the idlest users.
MAX_SESSIONS = 50_000


@dataclass
class WebSession:
    sid: str
    key: str  # the API key, kept server-side only, to authenticate again on every request
    csrf: str
    created: float
    seen: float


class SessionStore:
    def __init__(
        self, settings: WebSettings, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._items: dict[str, WebSession] = {}
        self._lock = threading.Lock()

    def create(self, key: str) -> WebSession:
        now = self._clock()
        session = WebSession(
            sid=secrets.token_urlsafe(32),
            key=key,
            csrf=secrets.token_urlsafe(32),
            created=now,
            seen=now,
        )
        with self._lock:
            self._items[session.sid] = session
            if len(self._items) > MAX_SESSIONS:
                oldest = sorted(self._items.values(), key=lambda s: s.seen)
                for stale in oldest[: len(self._items) - MAX_SESSIONS]:
                    del self._items[stale.sid]
        return session

    def get(self, sid: str) -> WebSession | None:
        now = self._clock()
        with self._lock:
            session = self._items.get(sid)
            if session is None:
                return None
            if (
                now - session.seen > self._settings.session_idle_seconds
                or now - session.created > self._settings.session_max_seconds
            ):
                del self._items[sid]
                return None
            session.seen = now
            return session

    def drop(self, sid: str) -> None:
        with self._lock:
            self._items.pop(sid, None)

    def __len__(self) -> int:
        return len(self._items)


class Cookies:
    """Signing and setting the web cookies."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self._session = Signer(settings.secret, salt="socialcredit.web.session")
        self._csrf_key = hashlib.sha256(
            ("socialcredit.web.csrf:" + settings.secret).encode()
        ).digest()

    def _set(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            secure=not self.settings.insecure_cookies,
            httponly=True,
            samesite="strict",
        )

    def set_session(self, response: Response, session: WebSession) -> None:
        value = self._session.sign(session.sid.encode()).decode()
        self._set(response, SESSION_COOKIE, value, None)

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE,
            path="/",
            secure=not self.settings.insecure_cookies,
            httponly=True,
            samesite="strict",
        )

    def session_id(self, request: Request) -> str | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            return self._session.unsign(raw.encode()).decode()
        except BadSignature:
            return None

    def anonymous_token(self, anon: str) -> str:
        return hmac.new(self._csrf_key, anon.encode(), hashlib.sha256).hexdigest()

    def set_anonymous(self, response: Response, anon: str) -> None:
        self._set(response, CSRF_COOKIE, anon, None)

    def set_language(self, response: Response, language: str) -> None:
        # Not a secret and read by nothing but the server; a year, like any preference.
        response.set_cookie(
            LANG_COOKIE,
            language,
            max_age=365 * 24 * 3600,
            path="/",
            secure=not self.settings.insecure_cookies,
            httponly=True,
            samesite="lax",
        )


@dataclass(frozen=True)
class PageUser:
    """Who is logged in on this request."""

    principal: Principal
    session: WebSession


async def current_user(request: Request) -> PageUser | None:
    """The logged-in user, authenticated again from the session's key; None if nobody
    is (or the key was revoked, which also ends the session)."""
    cached: PageUser | bool | None = getattr(request.state, "web_user", False)
    if cached is not False:
        return cached if isinstance(cached, PageUser) else None
    user = await _resolve(request)
    request.state.web_user = user
    if user is not None:
        # The API's audit helpers read the principal from here.
        request.state.principal = user.principal
    return user


async def _resolve(request: Request) -> PageUser | None:
    state = request.app.state.web
    sid = state.cookies.session_id(request)
    if sid is None:
        return None
    session = state.sessions.get(sid)
    if session is None:
        return None
    principal = await principal_for_key(request, session.key)
    if principal is None:
        state.sessions.drop(sid)
        return None
    return PageUser(principal, session)


async def principal_for_key(request: Request, key: str) -> Principal | None:
    """Authenticate a key as the API does, sharing its cache."""
    cache: KeyCache = request.app.state.key_cache
    digest = hash_key(key)
    principal = cache.get(digest)
    if principal is not None:
        return principal
    engine: Engine = request.app.state.engine

    def lookup() -> Principal | None:
        with engine.connect() as conn:
            return authenticate(conn, key)

    principal = await run_in_threadpool(lookup)
    if principal is not None:
        cache.put(digest, principal)
    return principal


def csrf_token(request: Request) -> str:
    """The token this request's forms must carry (sets the anonymous cookie if needed)."""
    state = request.app.state.web
    user: PageUser | bool | None = getattr(request.state, "web_user", False)
    if isinstance(user, PageUser):
        return user.session.csrf
    anon = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_anon", None)
    if not anon or len(anon) > 100:
        anon = secrets.token_urlsafe(32)
        # render() sets the cookie on the response it builds.
        request.state.new_anon = anon
    token: str = state.cookies.anonymous_token(anon)
    return token


def csrf_valid(request: Request, submitted: str | None) -> bool:
    if not submitted:
        return False
    state = request.app.state.web
    user: PageUser | bool | None = getattr(request.state, "web_user", False)
    if isinstance(user, PageUser):
        return hmac.compare_digest(user.session.csrf, submitted)
    anon = request.cookies.get(CSRF_COOKIE)
    if not anon:
        return False
    expected: str = state.cookies.anonymous_token(anon)
    return hmac.compare_digest(expected, submitted)
