"""Dependencies shared by the routers, as ``Annotated`` aliases.

Authorisation is declared per route with ``allow(...)``: each router defines its
aliases next to a comment saying why those roles and no others.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from socialcredit.access import Principal, Role, authenticate, hash_key
from socialcredit.api.auditing import Auditor
from socialcredit.api.errors import ApiError
from socialcredit.api.keycache import KeyCache
from socialcredit.api.ratelimit import RateLimiter


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_auditor(request: Request) -> Auditor:
    auditor: Auditor = request.app.state.auditor
    return auditor


async def get_realname_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.realname_limiter
    return limiter


EngineDep = Annotated[Engine, Depends(get_engine)]
AuditorDep = Annotated[Auditor, Depends(get_auditor)]
RealnameLimiterDep = Annotated[RateLimiter, Depends(get_realname_limiter)]

# Both schemes appear in the OpenAPI document; either header carries the key.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key.")

_UNAUTHENTICATED = {"WWW-Authenticate": "Bearer"}


def _lookup(engine: Engine, key: str) -> Principal | None:
    with engine.connect() as conn:
        return authenticate(conn, key)


async def _principal(
    request: Request, bearer: HTTPAuthorizationCredentials | None, api_key: str | None
) -> Principal:
    key = (bearer.credentials if bearer is not None else api_key or "").strip()
    if not key:
        raise ApiError(
            401,
            "unauthenticated",
            "an API key is required (Authorization: Bearer <key> or X-API-Key)",
            headers=_UNAUTHENTICATED,
        )
    cache: KeyCache = request.app.state.key_cache
    digest = hash_key(key)
    principal = cache.get(digest)
    if principal is None:
        principal = await _lookup_once(request, cache, digest, key)
        if principal is None:
            # One answer for unknown, malformed and revoked keys: which it was is not the
            # caller's business, and telling would help whoever holds a stolen key.
            raise ApiError(
                401, "unauthenticated", "unknown or revoked API key", headers=_UNAUTHENTICATED
            )
    request.state.principal = principal
    return principal


async def _lookup_once(
    request: Request, cache: KeyCache, digest: str, key: str
) -> Principal | None:
    """Look a key up, sharing one lookup among the requests that need it at once.

    When a busy key's cache entry expires, every request in flight with it misses at
    the same moment; without this each would take a worker thread and a connection
    for the same row, a burst that showed in the measures query's p99 latency. The
    lookup runs as its own task, so a request that goes away does not cancel it for
    the others.
    """
    pending: dict[str, asyncio.Task[Principal | None]] = request.app.state.key_lookups
    loop = asyncio.get_running_loop()
    task = pending.get(digest)
    if task is None or task.get_loop() is not loop:
        task = loop.create_task(_lookup_and_cache(request.app.state.engine, cache, digest, key))
        pending[digest] = task

        def forget(done: asyncio.Task[Principal | None]) -> None:
            if pending.get(digest) is done:
                del pending[digest]
            if not done.cancelled():
                done.exception()  # seen here too: every waiter may have gone away

        task.add_done_callback(forget)
    return await asyncio.shield(task)


async def _lookup_and_cache(
    engine: Engine, cache: KeyCache, digest: str, key: str
) -> Principal | None:
    principal = await run_in_threadpool(_lookup, engine, key)
    if principal is not None:
        cache.put(digest, principal)
    return principal


async def authenticated(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
) -> Principal:
    """A dependency admitting any valid key (401 ``unauthenticated`` otherwise)."""
    return await _principal(request, bearer, api_key)


def allow(*roles: Role) -> Any:
    """A dependency admitting only keys of these roles (403 ``forbidden_role`` otherwise)."""
    allowed = frozenset(roles)

    # Authenticates itself rather than depending on ``authenticated``: FastAPI resolves
    # each level of dependencies on every request, and one level less is a measurable
    # share of a cheap request. The two security schemes stay declared here, so the
    # OpenAPI document is unchanged.
    async def dependency(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        api_key: Annotated[str | None, Security(_api_key)],
    ) -> Principal:
        principal = await _principal(request, bearer, api_key)
        if principal.role not in allowed:
            raise ApiError(
                403,
                "forbidden_role",
                f"a {principal.role.value} key may not call this endpoint "
                f"(open to: {', '.join(sorted(r.value for r in allowed))})",
            )
        return principal

    return Depends(dependency)
