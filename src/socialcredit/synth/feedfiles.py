"""Writers for feed files (CSV, JSON Lines, Parquet) and the subject tables.

Each writer appends one chunk at a time, so a file of any size is written with
the memory of one chunk.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from socialcredit.synth.feedrows import AMOUNT, FEED_COLUMNS, FeedRow

FEED_SCHEMA = pa.schema(
    [
        ("provider_record_id", pa.string()),
        ("subject_id", pa.string()),
        ("subject_name", pa.string()),
        ("record_type", pa.string()),
        ("decision_ref", pa.string()),
        ("decided_on", pa.date32()),
        ("conduct_ended_on", pa.date32()),
        ("amount_cny", pa.decimal128(16, 2)),
        ("account_provider", pa.string()),
        ("account_id", pa.string()),
        ("action", pa.string()),
    ]
)


class FeedWriter(Protocol):
    def write(self, rows: Sequence[FeedRow]) -> None: ...

    def close(self) -> None: ...


def yuan(fen: int) -> str:
    """Integer fen as a CNY amount with two decimals, without float rounding."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class CsvFeedWriter:
    def __init__(self, path: Path, encoding: str) -> None:
        self._file: IO[str] = path.open("w", encoding=encoding, newline="")
        self._csv = csv.writer(self._file)
        self._csv.writerow(FEED_COLUMNS)

    def write(self, rows: Sequence[FeedRow]) -> None:
        for row in rows:
            values = [_text(v) for v in row]
            if row.amount_fen is not None:
                values[AMOUNT] = yuan(row.amount_fen)
            self._csv.writerow(values)

    def close(self) -> None:
        self._file.close()


class JsonlFeedWriter:
    def __init__(self, path: Path) -> None:
        self._file: IO[str] = path.open("w", encoding="utf-8")

    def write(self, rows: Sequence[FeedRow]) -> None:
        lines = []
        for row in rows:
            obj: dict[str, Any] = dict(zip(FEED_COLUMNS, row, strict=True))
            obj["decided_on"] = row.decided_on.isoformat()
            ended = row.conduct_ended_on
            obj["conduct_ended_on"] = ended.isoformat() if ended is not None else None
            fen = row.amount_fen
            # A JSON number; the shortest float repr of x.yz is exactly "x.yz".
            obj["amount_cny"] = fen / 100 if fen is not None else None
            lines.append(json.dumps(obj, ensure_ascii=False))
        if lines:
            self._file.write("\n".join(lines) + "\n")

    def close(self) -> None:
        self._file.close()


class ParquetFeedWriter:
    def __init__(self, path: Path) -> None:
        self._writer = pq.ParquetWriter(path, FEED_SCHEMA, compression="zstd")

    def write(self, rows: Sequence[FeedRow]) -> None:
        if not rows:
            return
        columns: list[list[Any]] = [list(col) for col in zip(*rows, strict=True)]
        columns[AMOUNT] = [None if f is None else Decimal(f).scaleb(-2) for f in columns[AMOUNT]]
        self._writer.write_table(pa.Table.from_arrays(columns, schema=FEED_SCHEMA))

    def close(self) -> None:
        self._writer.close()


def open_feed(path: Path, fmt: str, encoding: str | None) -> FeedWriter:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        return CsvFeedWriter(path, encoding or "utf-8")
    if fmt == "jsonl":
        return JsonlFeedWriter(path)
    if fmt == "parquet":
        return ParquetFeedWriter(path)
    raise ValueError(f"unknown feed format {fmt!r}")


class TableWriter:
    """A Parquet file written in row groups, from rows given as dicts."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self.rows = 0
        self._writer = pq.ParquetWriter(path, schema, compression="zstd")

    def write(self, rows: list[dict[str, Any]]) -> None:
        # An empty chunk still writes nothing: readers see the schema either way.
        if rows:
            self._writer.write_table(pa.Table.from_pylist(rows, schema=self.schema))
            self.rows += len(rows)

    def close(self) -> None:
        self._writer.close()
