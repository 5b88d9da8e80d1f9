"""Running a route's reads of the store from the event loop.

On SQLite the store is in this process: a request's read is an indexed lookup that
costs tens of microseconds of CPU and, in WAL mode, never waits for a writer (the
audit group commit writes while readers read). It runs on the event loop itself: a
trip to a worker thread and back costs more than the read, and under load, threads
contending for the GIL with the loop were most of the measures query's time.

On PostgreSQL a read waits on the network, and the loop must not wait with it: reads
go to a few threads of their own, no more than half the engine's pool, so the rest
stays for the audit writer and the other routes.

Either way each thread keeps one connection, in autocommit, for all its reads. A
pooled checkout per request cost PostgreSQL three round trips for one query: the
pool's liveness ping, the query, and the rollback that ends the transaction the query
opened. A read is one statement, which sees one snapshot with or without a
transaction around it. A connection that fails is dropped and replaced on next use.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

T = TypeVar("T")

# When the pool does not say how many connections it keeps (e.g. a NullPool).
_DEFAULT_POOL = 4


class StoreReads:
    """Runs ``fn(connection)`` for async routes; see the module docstring for where."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.inline = engine.dialect.name == "sqlite"
        size = getattr(engine.pool, "size", None)
        pool = size() if callable(size) else _DEFAULT_POOL
        self.threads = 0 if self.inline else max(1, pool // 2)
        self._executor = (
            ThreadPoolExecutor(self.threads, thread_name_prefix="store-read")
            if self.threads
            else None
        )
        self._local = threading.local()
        self._kept: list[Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def _connection(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._local.conn = conn
            with self._lock:
                self._kept.append(conn)
        return conn

    def read(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` on this thread's kept connection."""
        if self._closed:
            # After shutdown (or for a late caller): a pooled connection, as before.
            with self.engine.connect() as conn:
                return fn(conn)
        conn = self._connection()
        try:
            return fn(conn)
        except DBAPIError as exc:
            if exc.connection_invalidated:
                self._drop(conn)
            raise

    def _drop(self, conn: Connection) -> None:
        self._local.conn = None
        with self._lock:
            if conn in self._kept:
                self._kept.remove(conn)
        conn.close()

    async def run(self, fn: Callable[[Connection], T]) -> T:
        if self._executor is None:
            return self.read(fn)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.read, fn)

    def close(self) -> None:
        """Stop the read threads and give the kept connections back to the pool."""
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        with self._lock:
            kept, self._kept = self._kept, []
        for conn in kept:
            conn.close()
