"""Group commit: many concurrent requests' entries written in one transaction.

A hash chain admits one appender at a time, and each append holds the lock through
its commit (an fsync on PostgreSQL), so one transaction per entry caps throughput
at roughly one entry per commit latency. Here a single writer thread takes whatever
has queued while the previous commit was in flight and appends it as one batch; a
request waits on its future, which resolves only after the batch has committed, so
it still answers only once its entry is durable.

Use it for reads of personal data, where the audit entry is the only write. A
request that writes data should append in its own transaction (``chain.append``),
so the data and its entry commit or fail together.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import Future
from typing import Any

from sqlalchemy import Engine

from socialcredit.audit.chain import AuditEvent, AuditRecord, append_many, validate

_STOP = object()


class GroupCommitter:
    """A writer thread that appends queued events in batches; see the module docstring."""

    def __init__(self, engine: Engine, *, max_batch: int = 1000) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._close_lock = threading.Lock()
        self.batches = 0
        self.entries = 0
        self._thread = threading.Thread(target=self._run, name="audit-group-commit", daemon=True)
        self._thread.start()

    def submit(self, event: AuditEvent) -> Future[AuditRecord]:
        """Queue an event; the future resolves to its stored entry once committed.

        An event that could not be stored raises AuditError here, so one bad event
        never fails a batch of other requests' entries.
        """
        validate(event)
        future: Future[AuditRecord] = Future()
        with self._close_lock:
            if self._closed:
                raise RuntimeError("the audit group committer is closed")
            self._queue.put((event, future))
        return future

    def append(self, event: AuditEvent, timeout: float | None = None) -> AuditRecord:
        """Submit and wait until the entry is durable."""
        return self.submit(event).result(timeout)

    async def append_async(self, event: AuditEvent) -> AuditRecord:
        """Submit and await durability without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(event))

    def close(self, timeout: float | None = None) -> None:
        """Write everything already submitted, then stop the writer thread."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout)

    def __enter__(self) -> GroupCommitter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _run(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[tuple[AuditEvent, Future[AuditRecord]]]) -> None:
        # A future cancelled by its caller still gets its entry written: the access
        # happened (or was attempted) whether or not anyone waits for the answer.
        live = [f for _, f in batch if f.set_running_or_notify_cancel()]
        try:
            with self._engine.begin() as conn:
                records = append_many(conn, [e for e, _ in batch])
        except BaseException as exc:
            for f in live:
                f.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        self.batches += 1
        self.entries += len(records)
        for (_, f), record in zip(batch, records, strict=True):
            if f.running():
                f.set_result(record)
