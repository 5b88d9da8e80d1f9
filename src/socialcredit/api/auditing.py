"""Writing the audit entry of every request that reads or writes personal data.

The rule: no answer leaves before its entry is durable. A route that handles
personal data says so with ``openapi_extra={"x-audit-action": ...}`` (which also
publishes the fact in the OpenAPI document) and records its outcome itself; when
it refuses instead (bad ID, purpose out of scope, oversize body...), the error
handlers record the refusal from what the route had noted so far. Either way the
entry commits before the response is sent, and if it cannot be written the
caller gets a 503, never the answer.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from fastapi import Request
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from socialcredit.access import Principal, authenticate
from socialcredit.api import services
from socialcredit.api.errors import ApiError
from socialcredit.identity.ids import mask

AUDIT_ACTION = "x-audit-action"


@dataclass
class AuditNote:
    """What a request is about, filled in as the route learns it."""

    action: str
    purpose: str | None = None
    subject_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    written: bool = False


def audited(action: str) -> dict[str, Any]:
    """``openapi_extra`` of a route that reads or writes personal data."""
    return {AUDIT_ACTION: action}


def route_action(request: Request) -> str | None:
    route = request.scope.get("route")
    extra = getattr(route, "openapi_extra", None) or {}
    action = extra.get(AUDIT_ACTION)
    return str(action) if action else None


def note(request: Request, **detail: Any) -> AuditNote:
    """The request's audit note, created on first use from the route's action."""
    found: AuditNote | None = getattr(request.state, "audit_note", None)
    if found is None:
        found = AuditNote(action=route_action(request) or "unknown")
        request.state.audit_note = found
    found.detail.update(detail)
    return found


def _event(principal: Principal | None, n: AuditNote, outcome: str) -> services.AuditEvent:
    return services.AuditEvent(
        actor=principal.prefix if principal else "anonymous",
        role=principal.role.value if principal else "public",
        action=n.action,
        outcome=outcome,
        purpose=n.purpose,
        subject_id=n.subject_id,
        detail=n.detail or None,
    )


def _unavailable() -> ApiError:
    return ApiError(503, "audit_unavailable", "the audit log cannot record this request; try later")


class _LoopBatch:
    """Entries queued by one event loop's requests, and whether a flush is under way."""

    def __init__(self) -> None:
        self.pending: list[tuple[services.AuditEvent, asyncio.Future[None]]] = []
        self.flush: asyncio.Task[None] | None = None


class Auditor:
    """Appends entries and returns only once they are durable.

    With group commits, async routes (all the read routes) queue their entries on the
    event loop: while one batch is being committed, the entries of every request that
    arrives meanwhile gather, and go in the next commit, in one trip to the writer
    thread and back. A request's entry costs the loop one asyncio future; the
    ``GroupCommitter`` (which sync callers use) costs a thread-safe future, a queue
    hand-off and a cross-thread wake-up per entry, a large share of a measures query's
    cost under load. Either way an entry's future resolves only after its batch has
    committed.
    """

    def __init__(self, engine: Engine, *, group_commit: bool, max_batch: int = 1000) -> None:
        self._engine = engine
        self._group = services.GroupCommitter(engine) if group_commit else None
        self._max_batch = max_batch
        # One writer thread: batches commit one after the other, in the order queued.
        self._writer = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-batch")
            if group_commit
            else None
        )
        # Tests serve one app from several event loops in turn; each has its own queue.
        self._batches: WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopBatch] = (
            WeakKeyDictionary()
        )

    def _append(self, event: services.AuditEvent) -> None:
        if self._group is not None:
            self._group.append(event)
            return
        with self._engine.begin() as conn:
            self.append_in(conn, event)

    async def _append_async(self, event: services.AuditEvent) -> None:
        if self._writer is None:
            await run_in_threadpool(self._append, event)
            return
        # Refused here, before it joins a batch: one bad event must not fail the
        # other requests' entries committed with it.
        services.audit_validate(event)
        loop = asyncio.get_running_loop()
        batch = self._batches.get(loop)
        if batch is None:
            batch = self._batches[loop] = _LoopBatch()
        done: asyncio.Future[None] = loop.create_future()
        batch.pending.append((event, done))
        if batch.flush is None:
            batch.flush = loop.create_task(self._flush(batch))
        # Awaited on the event loop: no worker thread is held while the batch commits.
        await done

    def _write_batch(self, events: list[services.AuditEvent]) -> None:
        with self._engine.begin() as conn:
            services.audit_append_many(conn, events)

    async def _flush(self, batch: _LoopBatch) -> None:
        assert self._writer is not None
        loop = asyncio.get_running_loop()
        items: list[tuple[services.AuditEvent, asyncio.Future[None]]] = []
        try:
            while batch.pending:
                items = batch.pending[: self._max_batch]
                del batch.pending[: self._max_batch]
                events = [event for event, _ in items]
                # A request that goes away does not cancel this: the access happened
                # (or was attempted), and its entry is written whether or not anyone
                # still waits for it.
                try:
                    await loop.run_in_executor(self._writer, self._write_batch, events)
                except Exception as exc:
                    for _, done in items:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for _, done in items:
                        if not done.done():
                            done.set_result(None)
                items = []
        except BaseException:
            # Cancelled (the loop itself shuts down) or worse: nobody may wait forever
            # for a batch that will not be flushed.
            for _, done in [*items, *batch.pending]:
                done.cancel()
            batch.pending.clear()
            raise
        finally:
            batch.flush = None

    def append_in(self, conn: Connection, event: services.AuditEvent) -> None:
        """In the caller's transaction: the entry commits with the caller's writes, or not."""
        services.audit_append(
            conn,
            actor=event.actor,
            role=event.role,
            action=event.action,
            outcome=event.outcome,
            purpose=event.purpose,
            subject_id=event.subject_id,
            detail=event.detail,
        )

    def append_many_in(self, conn: Connection, events: list[services.AuditEvent]) -> None:
        try:
            services.audit_append_many(conn, events)
        except Exception as exc:
            raise _unavailable() from exc

    def event(self, principal: Principal | None, n: AuditNote, outcome: str) -> services.AuditEvent:
        return _event(principal, n, outcome)

    def record_event(self, event: services.AuditEvent) -> None:
        """Append an entry that is not the request's final outcome (e.g. "received")."""
        try:
            self._append(event)
        except Exception as exc:
            raise _unavailable() from exc

    def record(self, request: Request, principal: Principal | None, outcome: str) -> None:
        """Record the request's outcome; a failure becomes a 503, so nothing is answered."""
        n = note(request)
        # Marked first: if the entry fails, the error handler must not try again and
        # then answer as if it had been written.
        n.written = True
        try:
            self._append(_event(principal, n, outcome))
        except Exception as exc:
            raise _unavailable() from exc

    async def record_async(
        self, request: Request, principal: Principal | None, outcome: str
    ) -> None:
        """``record`` for async routes."""
        n = note(request)
        n.written = True
        try:
            await self._append_async(_event(principal, n, outcome))
        except Exception as exc:
            raise _unavailable() from exc

    def record_in(
        self, conn: Connection, request: Request, principal: Principal, outcome: str
    ) -> None:
        """Record in the caller's transaction; the caller marks the note written after commit."""
        n = note(request)
        try:
            self.append_in(conn, _event(principal, n, outcome))
        except Exception as exc:
            n.written = True
            raise _unavailable() from exc

    async def refusal(self, request: Request, code: str, status: int) -> bool:
        """Record a refused request on a personal-data route; False if that failed.

        Anonymous refusals (no key, or an unknown one) are not recorded: nobody can be
        named, nothing was read, and recording them would let anyone fill the log.
        """
        action = route_action(request)
        n: AuditNote | None = getattr(request.state, "audit_note", None)
        if action is None or (n is not None and n.written):
            return True
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is None:
            # Body errors (invalid JSON, oversize) come before the key is checked.
            principal = await run_in_threadpool(self._principal_from_headers, request)
        if principal is None:
            return True
        if n is None:
            n = note(request)
            ref = request.path_params.get("subject_id") or request.query_params.get("subject")
            if ref:
                n.detail["subject"] = mask(clean(str(ref), 40))
            purpose = request.query_params.get("purpose")
            if purpose and clean(purpose, 60):
                n.purpose = clean(purpose, 60)
        n.detail["status"] = status
        event = _event(principal, n, code)
        try:
            await self._append_async(event)
        except Exception:
            return False
        n.written = True
        return True

    def _principal_from_headers(self, request: Request) -> Principal | None:
        key = request_key(request)
        if not key:
            return None
        with self._engine.connect() as conn:
            return authenticate(conn, key)

    def close(self) -> None:
        if self._group is not None:
            self._group.close(timeout=10)
        if self._writer is not None:
            # Batches already handed to the writer are committed before it stops.
            self._writer.shutdown(wait=True)


def clean(text: str, limit: int) -> str:
    """Caller-supplied text made storable in the log (no NUL, bounded length)."""
    return text.replace("\x00", "").strip()[:limit]


def request_key(request: Request) -> str | None:
    """The key from ``Authorization: Bearer <key>`` or ``X-API-Key``."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None
