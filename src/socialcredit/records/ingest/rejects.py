"""The rejects file: one line per bad row with file, line, field and reason."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import IO, Self

from socialcredit.records.ingest.rows import Reject

REJECT_FIELDS = ("file", "line", "provider_record_id", "field", "code", "reason")


class RejectWriter:
    """Appends rejects as CSV (UTF-8 with BOM, opens in spreadsheet tools) or JSON Lines."""

    def __init__(self, path: Path | None, source: Path) -> None:
        self.path = path
        self.source = source.name
        self._f: IO[str] | None = None
        self._csv: csv.DictWriter[str] | None = None
        self.jsonl = path is not None and path.suffix.lower() in (".jsonl", ".ndjson", ".json")

    def __enter__(self) -> Self:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.jsonl:
                self._f = self.path.open("w", encoding="utf-8")
            else:
                self._f = self.path.open("w", encoding="utf-8-sig", newline="")
                self._csv = csv.DictWriter(self._f, fieldnames=REJECT_FIELDS)
                self._csv.writeheader()
        return self

    def write(self, rejects: list[Reject]) -> None:
        if self._f is None:
            return
        for r in rejects:
            entry = {
                "file": self.source,
                "line": r.line,
                "provider_record_id": r.provider_record_id,
                "field": r.field,
                "code": r.code,
                "reason": r.reason,
            }
            if self._csv is not None:
                self._csv.writerow(entry)
            else:
                self._f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._f.flush()

    def __exit__(self, *exc: object) -> None:
        if self._f is not None:
            self._f.close()
