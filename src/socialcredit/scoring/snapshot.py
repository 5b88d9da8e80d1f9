"""The Parquet snapshot the population executors read: exported from the store, checked
before scoring.

Layout (``snapshot_schema`` has the columns)::

    DIR/manifest.json                           tables, partitions, files and row counts
    DIR/subjects/province=31/part-00000.parquet partitioned by the subject's province
    DIR/records/province=31/part-00000.parquet  (records, status events and professions
    DIR/status_events/province=31/...            follow their subject), the shape a data
    DIR/professions/province=31/...              lake hands a cluster

The export streams each table in batches (memory holds a batch and one buffer per
province, however big the store) and swaps the finished folder in whole. It holds no
names or ID numbers: scoring needs neither.

``check_snapshot`` refuses, before any scoring, a snapshot whose manifest names a
partition or file that is missing (or holds other row counts), or whose files lack a
column or carry one in a type that cannot be read as the schema's.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, text

from socialcredit.scoring.snapshot_schema import TABLES

MANIFEST = "manifest.json"
# What the manifest says the folder is, under a key of its own ("format" is the
# generator's parameter).
LAYOUT = "socialcredit-snapshot/1"
PARTITION_KEY = "province"
# Hive's name for the partition of a null key (a subject without a province).
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"

# Each table with the province of its subject; ordered by id, so a re-export of the same
# store writes the same files.
_QUERIES = {
    "subjects": (
        "SELECT id, kind, province_code, city_code, birth_date, province_code "
        "FROM subjects ORDER BY id"
    ),
    "records": (
        "SELECT r.id, r.subject_id, r.provider_id, r.provider_record_id, r.version, "
        "r.record_type, r.decided_on, r.conduct_ended_on, r.amount_fen, r.recorded_at, "
        "s.province_code FROM records r LEFT JOIN subjects s ON s.id = r.subject_id "
        "ORDER BY r.id"
    ),
    "status_events": (
        "SELECT e.id, e.record_id, e.status, e.recorded_at, s.province_code "
        "FROM record_status_events e LEFT JOIN records r ON r.id = e.record_id "
        "LEFT JOIN subjects s ON s.id = r.subject_id ORDER BY e.id"
    ),
    "professions": (
        "SELECT p.subject_id, p.profession, p.registered_at, s.province_code "
        "FROM professional_profiles p LEFT JOIN subjects s ON s.id = p.subject_id "
        "ORDER BY p.id"
    ),
}
_BATCH = 100_000
# Rows a province's buffer collects before it becomes a row group.
_ROW_GROUP = 100_000
# A new part file per partition after this many rows: files a cluster can read in parallel.
_FILE_ROWS = 10_000_000


class SnapshotError(ValueError):
    """The snapshot cannot be scored as it is; the message says what is wrong where."""


def partition_name(province: str | None) -> str:
    return f"{PARTITION_KEY}={province if province else NULL_PARTITION}"


def _coerce(value: Any, kind: pa.DataType) -> Any:
    # SQLite hands dates and times back as text through a raw query.
    if isinstance(value, str):
        if pa.types.is_date32(kind):
            return dt.date.fromisoformat(value[:10])
        if pa.types.is_timestamp(kind):
            return dt.datetime.fromisoformat(value)
    return value


@dataclass
class _PartitionWriter:
    """One table's files under one partition: buffered rows, rolled into parts."""

    folder: Path
    schema: pa.Schema
    files: list[dict[str, Any]] = field(default_factory=list)
    buffer: list[pa.Table] = field(default_factory=list)
    buffered: int = 0
    writer: pq.ParquetWriter | None = None
    in_file: int = 0

    def add(self, table: pa.Table) -> None:
        self.buffer.append(table)
        self.buffered += table.num_rows
        if self.buffered >= _ROW_GROUP:
            self.flush()

    def flush(self) -> None:
        if not self.buffered:
            return
        if self.writer is None or self.in_file >= _FILE_ROWS:
            self._close_file()
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"part-{len(self.files):05d}.parquet"
            self.writer = pq.ParquetWriter(self.folder / name, self.schema)
            self.files.append({"name": name, "rows": 0})
            self.in_file = 0
        self.writer.write_table(pa.concat_tables(self.buffer))
        self.files[-1]["rows"] += self.buffered
        self.in_file += self.buffered
        self.buffer, self.buffered = [], 0

    def _close_file(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def close(self) -> None:
        self.flush()
        self._close_file()


def _batches(engine: Engine, query: str) -> Iterator[list[Any]]:
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=_BATCH).execute(text(query))
        for part in result.partitions(_BATCH):
            yield list(part)


def _export_table(
    engine: Engine, folder: Path, name: str, progress: Callable[[str, int], None] | None
) -> dict[str, Any]:
    schema = TABLES[name]
    writers: dict[str | None, _PartitionWriter] = {}
    rows = 0
    for part in _batches(engine, _QUERIES[name]):
        columns = list(zip(*part, strict=True))
        provinces = columns[-1]
        arrays = [
            pa.array([_coerce(v, f.type) for v in col], type=f.type)
            for col, f in zip(columns[:-1], schema, strict=True)
        ]
        table = pa.Table.from_arrays(arrays, schema=schema)
        # Split the batch by province, keeping each province's rows in id order.
        by_province: dict[str | None, list[int]] = {}
        for i, province in enumerate(provinces):
            by_province.setdefault(province, []).append(i)
        for province, indices in by_province.items():
            writer = writers.get(province)
            if writer is None:
                writer = writers[province] = _PartitionWriter(
                    folder / name / partition_name(province), schema
                )
            writer.add(table.take(pa.array(indices, pa.int64())))
        rows += len(part)
        if progress is not None:
            progress(name, len(part))
    (folder / name).mkdir(parents=True, exist_ok=True)
    partitions: dict[str, Any] = {}
    for province, writer in sorted(writers.items(), key=lambda kv: partition_name(kv[0])):
        writer.close()
        partitions[partition_name(province)] = {
            "rows": sum(f["rows"] for f in writer.files),
            "files": writer.files,
        }
    return {"rows": rows, "partitions": partitions}


def export_snapshot(
    engine: Engine, directory: Path, *, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Write a fresh snapshot of the store into ``directory``; returns rows per table."""
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    taken = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    tables = {name: _export_table(engine, tmp, name, progress) for name in TABLES}
    write_manifest(tmp, tables, source="store", extra={"taken_at": taken.isoformat()})
    # Swap in whole: a reader never sees a half-written snapshot.
    if directory.exists():
        shutil.rmtree(directory)
    tmp.rename(directory)
    return {name: int(t["rows"]) for name, t in tables.items()}


def write_manifest(
    directory: Path,
    tables: dict[str, dict[str, Any]],
    *,
    source: str,
    extra: dict[str, Any] | None = None,
) -> None:
    """``manifest.json``: what ``check_snapshot`` holds the files to. ``tables`` maps each
    table to ``{"rows": n, "partitions": {"province=31": {"rows": n, "files": [{"name",
    "rows"}]}}}``."""
    manifest = {
        "layout": LAYOUT,
        "source": source,
        "partitioned_by": PARTITION_KEY,
        **(extra or {}),
        "tables": tables,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def read_manifest(directory: Path) -> dict[str, Any] | None:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"{path}: unreadable manifest ({exc})") from exc
    return data


# --- checking -------------------------------------------------------------------------


def _readable_as(found: pa.DataType, wanted: pa.DataType) -> bool:
    """Whether a file's column type reads as the schema's without losing meaning."""
    if pa.types.is_integer(wanted):
        return bool(pa.types.is_integer(found))
    if pa.types.is_string(wanted):
        return bool(pa.types.is_string(found) or pa.types.is_large_string(found))
    if pa.types.is_date(wanted):
        return bool(pa.types.is_date(found))
    if pa.types.is_timestamp(wanted):
        return pa.types.is_timestamp(found) and getattr(found, "tz", None) is None
    return bool(found == wanted)


def _check_file(path: Path, schema: pa.Schema, seen: dict[str, tuple[Path, pa.DataType]]) -> int:
    """The file's row count, once its columns are checked against ``schema`` and against
    the table's other files (``seen``: the first file's type of each column)."""
    try:
        meta = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several kinds for a corrupt file
        raise SnapshotError(f"{path}: not a readable Parquet file ({exc})") from exc
    found = meta.schema_arrow
    for f in schema:
        index = found.get_field_index(f.name)
        if index < 0:
            raise SnapshotError(f"{path}: column {f.name!r} is missing (schema mismatch)")
        have = found.field(index).type
        if not _readable_as(have, f.type):
            raise SnapshotError(
                f"{path}: column {f.name!r} is {have}, expected {f.type} (schema mismatch)"
            )
        first, kind = seen.setdefault(f.name, (path, have))
        if kind != have:
            # An engine reads a table with one schema: its files must agree.
            raise SnapshotError(
                f"{path}: column {f.name!r} is {have}, but {kind} in {first} (schema mismatch)"
            )
    rows: int = meta.metadata.num_rows
    return rows


def check_snapshot(directory: Path) -> dict[str, int]:
    """Refuse a snapshot that cannot be scored as it is; returns rows per table.

    Every Parquet file's columns are checked against ``snapshot_schema``. With a manifest
    (exports and generated snapshots have one) every table, partition and file it lists
    must be there with its row count, and no other partition may be. A snapshot without
    one (a hand-made folder) must still have a folder per table.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise SnapshotError(f"{directory}: no snapshot directory")
    manifest = read_manifest(directory)
    listed: dict[str, Any] | None = None
    if manifest is not None:
        listed = manifest.get("tables")
        if not isinstance(listed, dict):
            raise SnapshotError(
                f"{directory / MANIFEST}: lists no tables; not a snapshot written by "
                "`socialcredit snapshot export` or `socialcredit generate --snapshot`"
            )
    counts: dict[str, int] = {}
    for name, schema in TABLES.items():
        folder = directory / name
        if not folder.is_dir():
            raise SnapshotError(f"{directory}: table {name!r} is missing (no folder {folder})")
        files = sorted(folder.rglob("*.parquet"))
        seen: dict[str, tuple[Path, pa.DataType]] = {}
        counts[name] = sum(_check_file(f, schema, seen) for f in files)
        if listed is None:
            continue
        table = listed.get(name)
        if not isinstance(table, dict):
            raise SnapshotError(f"{directory / MANIFEST}: table {name!r} is not listed")
        partitions: dict[str, Any] = table.get("partitions", {})
        for part, info in sorted(partitions.items()):
            where = folder / part
            if not where.is_dir():
                raise SnapshotError(
                    f"{name}: partition {part} is missing ({where}); the manifest lists "
                    f"{info.get('rows', '?')} rows there"
                )
            for entry in info.get("files", []):
                path = where / entry["name"]
                if not path.is_file():
                    raise SnapshotError(f"{name}: file {part}/{entry['name']} is missing")
                rows = pq.ParquetFile(path).metadata.num_rows
                if rows != entry["rows"]:
                    raise SnapshotError(
                        f"{name}: {part}/{entry['name']} holds {rows} rows, the manifest "
                        f"says {entry['rows']}"
                    )
        extra = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in partitions)
        if extra:
            raise SnapshotError(f"{name}: partitions not in the manifest: {', '.join(extra)}")
        if counts[name] != table.get("rows", counts[name]):
            raise SnapshotError(
                f"{name}: {counts[name]} rows in the files, the manifest says {table['rows']}"
            )
    return counts
