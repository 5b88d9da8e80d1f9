"""Whole-population scoring in Spark: the contract of ``socialcredit.scoring``, on a cluster.

Reads the same Parquet snapshot as the DuckDB executor (any layout under each table's
folder: flat files, ``province=NN`` partitions, many parts) and flattens the same policy
objects into constants (``spark_plan``); the scoring itself is one Spark SQL query
(``spark_sql``, which explains the plan) that writes one row per subject to a staging
folder, lists included as a nested column, each part sorted by subject. The driver then
streams the staged parts into the single result file, and merges their list rows by
subject into the list file, which the write-back reads.

``master`` (or ``SOCIALCREDIT_SPARK_MASTER``) picks where it runs: ``local[2]`` on this
machine, ``spark://host:7077`` on a standalone cluster, whose workers must see the
snapshot and the staging folder (``SOCIALCREDIT_SPARK_WORK_DIR``, default beside the
result file) on a filesystem they share with the driver — see ``spark_session``.
"""

from __future__ import annotations

import datetime as dt
import heapq
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from socialcredit.policy import ResolvedPolicy
from socialcredit.scoring.executors import Progress
from socialcredit.scoring.results import LIST_SCHEMA, RESULT_SCHEMA
from socialcredit.scoring.snapshot import check_snapshot
from socialcredit.scoring.snapshot_schema import TABLES
from socialcredit.scoring.spark_plan import build_plan, choose_policies
from socialcredit.scoring.spark_session import check_available, get_session
from socialcredit.scoring.spark_sql import SparkSql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

ENV_WORK_DIR = "SOCIALCREDIT_SPARK_WORK_DIR"
_SPARK_TYPES = {
    pa.int64(): "BIGINT",
    pa.int32(): "INT",
    pa.string(): "STRING",
    pa.date32(): "DATE",
    pa.timestamp("us"): "TIMESTAMP_NTZ",
}
# Rows per Arrow batch copied from the staged files into the result file.
_COPY_BATCH = 200_000


def _ddl(schema: pa.Schema) -> str:
    return ", ".join(f"{f.name} {_SPARK_TYPES[f.type]}" for f in schema)


def _file_ddl(schema: pa.Schema, file: Path) -> str | None:
    """The Spark read schema of ``schema``'s columns as ``file`` stores them, so Spark need
    not open footers to infer it (``check_snapshot`` has made every file agree); None
    when a type has no plain Spark equivalent (Spark then infers)."""
    stored = pq.read_schema(file)
    columns = []
    for f in schema:
        kind = stored.field(f.name).type
        if pa.types.is_timestamp(kind):
            spark_type = "TIMESTAMP_NTZ"
        elif pa.types.is_large_string(kind):
            spark_type = "STRING"
        else:
            found = _FILE_TYPES.get(kind)
            if found is None:
                return None
            spark_type = found
        columns.append(f"{f.name} {spark_type}")
    return ", ".join(columns)


_FILE_TYPES = {
    pa.int8(): "TINYINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INT",
    pa.int64(): "BIGINT",
    pa.string(): "STRING",
    pa.date32(): "DATE",
}


def register_snapshot(spark: SparkSession, snapshot: Path) -> None:
    """``snap_<table>`` views over the snapshot's Parquet files, in the schema's columns and
    types (extra columns such as partition keys ignored), or empty when a table has none."""
    for name, schema in TABLES.items():
        folder = snapshot / name
        frame: DataFrame
        files = sorted(folder.rglob("*.parquet")) if folder.is_dir() else []
        if files:
            reader = spark.read.option("recursiveFileLookup", "true").option(
                "pathGlobFilter", "*.parquet"
            )
            ddl = _file_ddl(schema, files[0])
            if ddl is not None:
                reader = reader.schema(ddl)
            frame = reader.parquet(str(folder)).selectExpr(
                *(f"CAST({f.name} AS {_SPARK_TYPES[f.type]}) AS {f.name}" for f in schema)
            )
        else:
            frame = spark.createDataFrame([], _ddl(schema))
        frame.createOrReplaceTempView(f"snap_{name}")


def _copy_results(staged: Path, out: Path, contributions: bool) -> int:
    """The staged rows into ``out`` with RESULT_SCHEMA, batch by batch."""
    written = 0
    columns = [f.name for f in RESULT_SCHEMA]
    with pq.ParquetWriter(out, RESULT_SCHEMA) as writer:
        for part in sorted(staged.glob("*.parquet")):
            for batch in pq.ParquetFile(part).iter_batches(_COPY_BATCH, columns=columns):
                table = pa.Table.from_batches([batch])
                if not contributions:
                    table = table.set_column(
                        columns.index("contributions"),
                        "contributions",
                        pa.nulls(table.num_rows, pa.string()),
                    )
                writer.write_table(table.cast(RESULT_SCHEMA))
                written += table.num_rows
    return written


def _part_lists(part: Path) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """(subject id, its list rows) of one staged part, for the subjects with any."""
    previous: int | None = None
    for batch in pq.ParquetFile(part).iter_batches(_COPY_BATCH, columns=["subject_id", "lists"]):
        lists = batch.column("lists")
        listed = batch.filter(pc.greater(pc.fill_null(pc.list_value_length(lists), 0), 0))
        for subject_id, rows in zip(
            listed.column("subject_id").to_pylist(), listed.column("lists").to_pylist(), strict=True
        ):
            if previous is not None and subject_id <= previous:
                # The merge below relies on it; a plan change that lost the order must fail
                # loudly, not write the lists out of order.
                raise RuntimeError(f"{part}: staged rows not sorted by subject")
            previous = subject_id
            yield subject_id, rows


def _write_lists(staged: Path, out: Path) -> int:
    """The staged list rows into ``out`` in the contract's order: each part is sorted by
    subject (and each subject's rows are in order already), so a merge of the parts by
    subject is the whole order. Memory holds a batch per part."""
    written = 0
    parts = [_part_lists(p) for p in sorted(staged.glob("*.parquet"))]
    pending: list[dict[str, Any]] = []
    with pq.ParquetWriter(out, LIST_SCHEMA) as writer:
        for subject_id, rows in heapq.merge(*parts, key=lambda item: item[0]):
            pending += ({"subject_id": subject_id} | row for row in rows)
            if len(pending) >= _COPY_BATCH:
                writer.write_table(pa.Table.from_pylist(pending, schema=LIST_SCHEMA))
                written += len(pending)
                pending = []
        if pending:
            writer.write_table(pa.Table.from_pylist(pending, schema=LIST_SCHEMA))
            written += len(pending)
    return written


class SparkExecutor:
    """Scores a whole snapshot with PySpark; see the module docstring."""

    name = "spark"

    def __init__(self, *, master: str | None = None, work_dir: Path | None = None) -> None:
        # Fails here, before any work, with what to install.
        check_available()
        self.master = master
        # On a cluster the workers write the staged rows and the driver reads them: the
        # folder must be on a filesystem both see (the snapshot's, typically).
        env_work = os.environ.get(ENV_WORK_DIR)
        self.work_dir = work_dir or (Path(env_work) if env_work else None)

    def score(
        self,
        snapshot: Path,
        out: Path,
        *,
        as_of: dt.date,
        policies: Sequence[ResolvedPolicy],
        progress: Progress | None = None,
        contributions: bool = False,
        lists_out: Path | None = None,
    ) -> int:
        """Score every subject of ``snapshot`` into ``out`` (and its list rows into
        ``lists_out``); ``progress`` hears 0 at the start and the count at the end."""
        snapshot = Path(snapshot)
        out = Path(out)
        # A missing partition or a column of the wrong type is refused before any work.
        check_snapshot(snapshot)
        if progress is not None:
            progress(0)
        spark = get_session(self.master)
        register_snapshot(spark, snapshot)
        provinces = [
            row[0]
            for row in spark.sql("SELECT DISTINCT province_code FROM snap_subjects").collect()
        ]
        plan = build_plan(choose_policies(policies, provinces, as_of), as_of)
        sql = SparkSql(plan, as_of)
        out.parent.mkdir(parents=True, exist_ok=True)
        work_parent = self.work_dir or out.parent
        with tempfile.TemporaryDirectory(prefix="socialcredit-spark-", dir=work_parent) as work:
            staged = Path(work) / "scores"
            query = sql.scores_sql(contributions=contributions, lists=lists_out is not None)
            spark.sql(query).write.mode("overwrite").parquet(str(staged))
            count = _copy_results(staged, out, contributions)
            if lists_out is not None:
                Path(lists_out).parent.mkdir(parents=True, exist_ok=True)
                _write_lists(staged, Path(lists_out))
            shutil.rmtree(staged, ignore_errors=True)
        if progress is not None:
            progress(count)
        return count
