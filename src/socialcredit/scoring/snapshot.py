"""Exporting the store to the Parquet snapshot the population executors read.

Streams each table in batches (memory stays flat) into ``DIR/<table>/part-0.parquet``.
The snapshot holds no names or ID numbers: scoring needs neither.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, text

from socialcredit.scoring.snapshot_schema import TABLES

_QUERIES = {
    "subjects": "SELECT id, kind, province_code, city_code, birth_date FROM subjects ORDER BY id",
    "records": (
        "SELECT id, subject_id, provider_id, provider_record_id, version, record_type, "
        "decided_on, conduct_ended_on, amount_fen, recorded_at FROM records ORDER BY id"
    ),
    "status_events": (
        "SELECT id, record_id, status, recorded_at FROM record_status_events ORDER BY id"
    ),
    "professions": (
        "SELECT subject_id, profession, registered_at FROM professional_profiles ORDER BY id"
    ),
}
_BATCH = 100_000


def _coerce(value: Any, kind: pa.DataType) -> Any:
    # SQLite hands dates and times back as text through a raw query.
    if isinstance(value, str):
        if pa.types.is_date32(kind):
            return dt.date.fromisoformat(value[:10])
        if pa.types.is_timestamp(kind):
            return dt.datetime.fromisoformat(value)
    return value


def export_snapshot(
    engine: Engine, directory: Path, *, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Write a fresh snapshot; returns the row count per table."""
    counts: dict[str, int] = {}
    tmp = directory.with_name(directory.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    with engine.connect() as conn:
        for name, schema in TABLES.items():
            (tmp / name).mkdir(parents=True)
            counts[name] = 0
            with pq.ParquetWriter(tmp / name / "part-0.parquet", schema) as writer:
                result = conn.execution_options(stream_results=True, yield_per=_BATCH).execute(
                    text(_QUERIES[name])
                )
                for part in result.partitions(_BATCH):
                    columns = list(zip(*part, strict=True)) if part else [()] * len(schema)
                    arrays = [
                        pa.array([_coerce(v, f.type) for v in col], type=f.type)
                        for col, f in zip(columns, schema, strict=True)
                    ]
                    writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
                    counts[name] += len(part)
                    if progress is not None:
                        progress(name, len(part))
    # Swap in whole: a reader never sees a half-written snapshot.
    if directory.exists():
        shutil.rmtree(directory)
    tmp.rename(directory)
    return counts
