"""Streaming readers for the three feed formats.

Each reader yields ``(line, values)`` where ``line`` is what an operator needs
to find the row again: the physical line in a CSV or JSON Lines file, the row
number in a Parquet file. Memory stays flat: nothing reads a whole file.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from socialcredit.records.ingest.columns import HeaderError, check_header, normalise_column

FORMATS = ("csv", "jsonl", "parquet")
_SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_BLOCK = 1 << 20

Row = dict[str, str | None]


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise HeaderError(f"unknown format {fmt!r}; one of: {', '.join(FORMATS)}")
        return fmt
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise HeaderError(f"cannot tell the format of {path.name}; give --format csv|jsonl|parquet")
    return found


def detect_encoding(path: Path) -> str:
    """UTF-8 with BOM, UTF-8, or GB18030 (the national standard superset of GBK).

    A file is UTF-8 only if all of it decodes as UTF-8, so the check reads the
    whole file in blocks; stopping early would mis-detect a GB18030 file whose
    first megabyte happens to be ASCII.
    """
    with path.open("rb") as f:
        head = f.read(3)
        if head == codecs.BOM_UTF8:
            return "utf-8-sig"
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while block := f.read(_BLOCK):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


class FeedReader:
    """Opens a feed, checks its header, and streams its rows."""

    def __init__(self, path: Path, fmt: str, encoding: str | None = None) -> None:
        self.path = path
        self.fmt = fmt
        self.encoding = encoding
        self.columns: list[str] = []

    def open(self) -> None:
        """Read and check the header (for JSON Lines: every key in the file)."""
        if self.fmt == "csv":
            self.encoding = self.encoding or detect_encoding(self.path)
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise HeaderError(f"unknown encoding {self.encoding!r}") from None
            try:
                with self.path.open(encoding=self.encoding, newline="") as f:
                    header = next(csv.reader(f), None)
            except UnicodeDecodeError as exc:
                raise HeaderError(f"file is not valid {self.encoding}: {exc.reason}") from None
            if not header:
                raise HeaderError("file refused: empty file, no header line")
            self.columns = check_header(header)
        elif self.fmt == "jsonl":
            self.encoding = "utf-8"
            self.columns = check_header(self._jsonl_keys())
        else:
            import pyarrow.parquet as pq

            try:
                schema = pq.read_schema(self.path)
            except Exception as exc:  # pyarrow raises several types for a bad file
                raise HeaderError(f"not a readable Parquet file: {exc}") from None
            self.columns = check_header(list(schema.names))

    def _jsonl_keys(self) -> list[str]:
        # A prohibited key anywhere refuses the file whole, so every line is looked at
        # before the first row is stored. Bad lines are left to the row pass.
        keys: dict[str, None] = {}
        with self.path.open(encoding="utf-8", errors="replace") as f:
            for raw in f:
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                if isinstance(obj, dict):
                    for k in obj:
                        keys.setdefault(k, None)
        if not keys:
            raise HeaderError("file refused: no JSON objects found")
        return list(keys)

    def rows(self) -> Iterator[tuple[int, Row | str]]:
        """Yield ``(line, row)``; a row that cannot be parsed at all is a string saying why."""
        if self.fmt == "csv":
            yield from self._csv_rows()
        elif self.fmt == "jsonl":
            yield from self._jsonl_rows()
        else:
            yield from self._parquet_rows()

    def _csv_rows(self) -> Iterator[tuple[int, Row | str]]:
        assert self.encoding is not None
        cols = self.columns
        width = len(cols)
        with self.path.open(encoding=self.encoding, newline="") as f:
            reader = csv.reader(f)
            next(reader, None)
            line = reader.line_num
            for values in reader:
                start = line + 1
                line = reader.line_num
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue
                if len(values) != width:
                    yield start, f"expected {width} fields, found {len(values)}"
                    continue
                yield start, dict(zip(cols, [v.strip() or None for v in values], strict=True))

    def _jsonl_rows(self) -> Iterator[tuple[int, Row | str]]:
        with self.path.open(encoding="utf-8") as f:
            for line, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError as exc:
                    yield line, f"invalid JSON: {exc.msg}"
                    continue
                if not isinstance(obj, dict):
                    yield line, "each line must be a JSON object"
                    continue
                yield line, {normalise_column(k): _text(v) for k, v in obj.items()}

    def _parquet_rows(self) -> Iterator[tuple[int, Row | str]]:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(self.path)
        names = [normalise_column(n) for n in pf.schema_arrow.names]
        line = 0
        for batch in pf.iter_batches(batch_size=10_000):
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for values in zip(*columns, strict=True):
                line += 1
                yield line, {c: _text(v) for c, v in zip(names, values, strict=True)}


def _text(value: Any) -> str | None:
    """Feed values are handled as text so every format is validated the same way."""
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    s = str(value).strip()
    return s or None
