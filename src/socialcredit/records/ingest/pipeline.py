"""Reading and checking rows, in a second process when the file is big enough.

Per-row parsing and checking is about half the cost of an import; the other
half (lookups, decisions, inserts) needs the store. On a multi-core machine a
worker process parses chunk N+1 while the importer stores chunk N. Chunks are
handed over through a bounded queue, so memory stays flat, and the worker only
reads the file: a crash of either process cannot leave anything half-written.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import pickle
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, NamedTuple, TypeVar

from socialcredit.records.ingest.readers import FeedReader, Row
from socialcredit.records.ingest.rows import ParsedRow, Reject, RowError, parse_row

T = TypeVar("T")

# Below this size a worker process costs more than it saves.
PARALLEL_MIN_BYTES = 2 << 20


class ParsedChunk(NamedTuple):
    parsed: list[ParsedRow]
    rejects: list[Reject]
    rows: int


def batched(it: Iterable[T], n: int) -> Iterator[list[T]]:
    iterator = iter(it)
    while chunk := list(islice(iterator, n)):
        yield chunk


def parse_chunk(chunk: list[tuple[int, Row | str]], today: dt.date) -> ParsedChunk:
    parsed: list[ParsedRow] = []
    rejects: list[Reject] = []
    for line, row in chunk:
        if isinstance(row, str):
            rejects.append(Reject(line, "*", "unparseable", row))
            continue
        try:
            parsed.append(parse_row(line, row, today=today))
        except RowError as exc:
            rejects.append(
                Reject(line, exc.field, exc.code, exc.reason, row.get("provider_record_id"))
            )
    return ParsedChunk(parsed, rejects, len(chunk))


def parsed_chunks(
    reader: FeedReader, *, chunk_size: int, today: dt.date, parallel: bool | None = None
) -> Iterator[ParsedChunk]:
    """Chunks of checked rows, in file order. ``parallel=None`` decides by file size."""
    if parallel is None:
        parallel = (os.cpu_count() or 1) > 1 and reader.path.stat().st_size >= PARALLEL_MIN_BYTES
    if not parallel:
        for chunk in batched(reader.rows(), chunk_size):
            yield parse_chunk(chunk, today)
        return
    yield from _from_worker(reader, chunk_size, today)


def _from_worker(reader: FeedReader, chunk_size: int, today: dt.date) -> Iterator[ParsedChunk]:
    ctx = mp.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    worker = ctx.Process(target=_work, args=(reader, chunk_size, today, receiver, sender))
    worker.start()
    # Each side closes the end it does not use, so the death of either process
    # is seen by the other as end-of-file or a broken pipe instead of a hang.
    sender.close()
    try:
        while True:
            try:
                kind, payload = pickle.loads(receiver.recv_bytes())
            except EOFError:
                raise RuntimeError("the feed parser process died unexpectedly") from None
            if kind == "chunk":
                yield _unpack(payload)
            elif kind == "done":
                return
            elif kind == "decode":
                raise UnicodeDecodeError(*payload)
            else:
                raise RuntimeError(f"the feed parser failed: {payload}")
    finally:
        receiver.close()
        if worker.is_alive():
            worker.terminate()
        worker.join(timeout=5)


def _work(reader: FeedReader, chunk_size: int, today: dt.date, receiver: Any, sender: Any) -> None:
    receiver.close()
    try:
        for chunk in batched(reader.rows(), chunk_size):
            sender.send_bytes(pickle.dumps(("chunk", _pack(parse_chunk(chunk, today))), -1))
        sender.send_bytes(pickle.dumps(("done", None)))
    except BrokenPipeError:
        pass  # the importer is gone; nothing will read what we would send
    except UnicodeDecodeError as exc:
        payload = (exc.encoding, exc.object, exc.start, exc.end, exc.reason)
        sender.send_bytes(pickle.dumps(("decode", payload)))
    except Exception as exc:  # reported to the importer, which fails the batch
        sender.send_bytes(pickle.dumps(("error", repr(exc))))


def _pack(chunk: ParsedChunk) -> tuple[list[list[Any]], list[Reject], int]:
    """Rows as columns of plain values: a third of the pickling cost of row objects."""
    columns: list[list[Any]] = [list(c) for c in zip(*chunk.parsed, strict=True)]
    return columns, chunk.rejects, chunk.rows


def _unpack(payload: tuple[list[list[Any]], list[Reject], int]) -> ParsedChunk:
    columns, rejects, rows = payload
    parsed = [ParsedRow._make(values) for values in zip(*columns, strict=True)]
    return ParsedChunk(parsed, rejects, rows)
