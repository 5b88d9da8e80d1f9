"""A small generated pilot, read back independently of the generator's own code."""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from socialcredit.synth.generator import GenerateResult, generate

TODAY = dt.date(2026, 11, 27)
FeedRows = list[dict[str, str | None]]


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def read_feed(path: Path, fmt: str, encoding: str | None) -> FeedRows:
    """Every row as text, whatever the format, so rows compare across formats."""
    if fmt == "csv":
        with path.open(encoding=encoding or "utf-8", newline="") as f:
            return [{k: _text(v) for k, v in row.items()} for row in csv.DictReader(f)]
    if fmt == "jsonl":
        with path.open(encoding="utf-8") as f:
            return [{k: _text(v) for k, v in json.loads(line).items()} for line in f]
    return [{k: _text(v) for k, v in row.items()} for row in pq.read_table(path).to_pylist()]


@dataclass
class Pilot:
    out: Path
    result: GenerateResult
    manifest: dict[str, Any]
    providers: list[dict[str, Any]]
    persons: dict[str, dict[str, Any]]
    orgs: dict[str, dict[str, Any]]
    accounts: dict[tuple[str, str], dict[str, Any]]
    professions: dict[str, dict[str, Any]]

    def feeds(self) -> list[tuple[dict[str, Any], FeedRows]]:
        return [
            (p, read_feed(self.out / p["feed_file"], p["fmt"], p["encoding"]))
            for p in self.providers
            if p["feed_file"]
        ]


def load_pilot(out: Path, result: GenerateResult) -> Pilot:
    def table(name: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = pq.read_table(out / "subjects" / f"{name}.parquet").to_pylist()
        return rows

    return Pilot(
        out=out,
        result=result,
        manifest=json.loads((out / "manifest.json").read_text("utf-8")),
        providers=json.loads((out / "providers.json").read_text("utf-8")),
        persons={p["id_number"]: p for p in table("persons")},
        orgs={o["uscc"]: o for o in table("organisations")},
        accounts={(a["provider"], a["account_id"]): a for a in table("accounts")},
        professions={p["id_number"]: p for p in table("professions")},
    )


@pytest.fixture(scope="session")
def pilot(tmp_path_factory: pytest.TempPathFactory) -> Pilot:
    # Enough doctors and public servants for profession-specific rows to appear.
    out = tmp_path_factory.mktemp("pilot")
    result = generate(out, persons=1500, orgs=120, seed=11, today=TODAY, records_per_subject=4)
    return load_pilot(out, result)
