"""Population rescore benchmark: the full policy against a bare query, and in-process latency.

    .venv/bin/python benchmarks/rescore.py                          # 10M subjects / 100M records
    .venv/bin/python benchmarks/rescore.py --subjects 200000        # a quick check
    .venv/bin/python benchmarks/rescore.py --engine spark --subjects 1000000 --skip-latency

1. **Snapshot.** ``synth.bulk.generate_snapshot`` writes the Parquet snapshot (hive-partitioned
   by province) in a child process whose resident memory is sampled from here; an existing
   snapshot with the same parameters (its manifest) is reused.
2. **Bare vs full, in one process.** The bare baseline is the least a population score costs
   on the same files: join records to a 33-row table of record types (category, polarity,
   maximum window, one flat points value per type), keep records in their display window and
   not annulled, sum per subject, grade by CASE, write Parquet. The full run is
   ``DuckDBExecutor().score`` under the shipped policies (``load_policies``): status history,
   windows and query bar, regional policy and profession rules, amount bands, repeats,
   category caps, grade caps, ordered contributions and reasons as canonical JSON. They run
   alternately, ``--repeat`` times each on a warm page cache, and the best of each counts.
   Resident memory of this process is sampled in a thread; each phase reports its maximum.
3. **In-process latency.** A small SQLite store (a few hundred subjects, up to 49 records
   each); for each iteration one new record is committed for a subject (as the importer
   commits a chunk, with its rescore-queue entry) and ``store.rescore_subjects`` stores the
   subject's new score: the time from just before the insert to the committed score row. A
   second series imports a one-row CSV feed with ``import_feed`` and rescores from its
   ``on_chunk_committed`` callback: the whole path a provider's single record takes.

4. **Spark** (``--engine spark``). On the same snapshot, after the DuckDB pair: the bare
   baseline written directly in Spark SQL (the same query: a broadcast 33-row type table, a
   broadcast anti-join of inactive records, sum per subject, a join to the subjects, grade
   by CASE, Parquet out) and ``SparkExecutor().score``, alternately in one SparkSession
   (``local[N]`` with N = ``--threads``). CPU and resident memory count the JVM too. Then,
   for the generator at scale, a ``--scale-subjects`` snapshot (10M subjects / 100M
   records by default) is generated (or reused) with its peak RSS.

Results go to ``benchmarks/results/rescore.json`` and ``rescore.md``; with ``--engine spark``
to ``rescore_spark.json`` and ``rescore_spark.md``, DuckDB and Spark side by side.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, event, insert, text

from socialcredit.db.engine import make_engine, session_scope
from socialcredit.db.models import Record, Subject
from socialcredit.db.setup import init_store
from socialcredit.policy import ResolvedPolicy, load_policies, select_policy
from socialcredit.records.catalogue import default_catalogue
from socialcredit.records.ingest import import_feed
from socialcredit.records.providers import add_provider
from socialcredit.scoring.store import rescore_subjects
from socialcredit.synth.authorities import pilot_providers
from socialcredit.synth.bulk import generate_snapshot, read_manifest, snapshot_parameters
from socialcredit.synth.feedfiles import CsvFeedWriter
from socialcredit.synth.feedrows import FeedRow
from socialcredit.synth.ids import make_ric, random_birth
from socialcredit.synth.names import person_name

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_AS_OF = dt.date(2027, 3, 31)  # every category switched on, Shanghai 2027.1 in force
TARGET_RATIO = 2.0
TARGET_SPARK_RATIO = 1.3
TARGET_GENERATOR_GIB = 2.0
TARGET_RSS_GIB = 3.0
TARGET_P99_MS = 20.0
SAMPLE_EVERY = 0.01  # seconds between RSS samples
GIB = 2**30
MIB = 2**20
ENGINES = ("duckdb", "spark")


# --- measuring ------------------------------------------------------------------------


class PeakRss(threading.Thread):
    """Samples a process's resident memory; ``reset`` starts a phase, ``peak`` ends it."""

    def __init__(self, pid: int | None = None, *, tree: bool = False) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.tree = tree
        self._peak = 0
        self._lock = threading.Lock()
        self.stopped = threading.Event()

    def _sample(self) -> None:
        try:
            rss = self.process.memory_info().rss
            if self.tree:
                # Spark's JVM is a child of this process: its memory is the run's too.
                for child in self.process.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        rss += child.memory_info().rss
        except psutil.Error:
            return
        with self._lock:
            self._peak = max(self._peak, rss)

    def run(self) -> None:
        while not self.stopped.is_set():
            self._sample()
            self.stopped.wait(SAMPLE_EVERY)

    def reset(self) -> None:
        with self._lock:
            self._peak = 0
        self._sample()

    def peak(self) -> int:
        self._sample()
        with self._lock:
            return self._peak

    def stop(self) -> None:
        self.stopped.set()
        self.join()


def machine() -> dict[str, Any]:
    return {
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "ram_gib": round(psutil.virtual_memory().total / GIB, 1),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pyarrow": pa.__version__,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# --- the snapshot ---------------------------------------------------------------------


def default_data_dir(subjects: int, per_subject: float, seed: int, as_of: dt.date) -> Path:
    name = f"snapshot-{subjects}-{per_subject:g}-s{seed}-{as_of.isoformat()}"
    return Path(tempfile.gettempdir()) / "socialcredit-bench" / name


def ensure_snapshot(args: argparse.Namespace) -> dict[str, Any]:
    """Reuse a snapshot generated with the same parameters, else generate it in a child."""
    wanted = snapshot_parameters(
        subjects=args.subjects,
        records_per_subject=args.records_per_subject,
        seed=args.seed,
        as_of=args.as_of,
    )
    data: Path = args.data
    manifest = read_manifest(data)
    stats_file = data / "benchmark-generation.json"
    if manifest is not None and all(manifest.get(k) == v for k, v in wanted.items()):
        stats = json.loads(stats_file.read_text("utf-8")) if stats_file.is_file() else {}
        print(f"reusing the snapshot in {data}", file=sys.stderr)
        return {**stats, "reused": True, "counts": manifest["counts"], "path": str(data)}

    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--generate-child",
        "--data",
        str(data),
        "--subjects",
        str(args.subjects),
        "--records-per-subject",
        str(args.records_per_subject),
        "--seed",
        str(args.seed),
        "--as-of",
        args.as_of.isoformat(),
    ]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    sampler = PeakRss(child.pid)
    sampler.start()
    output, _ = child.communicate()
    sampler.stop()
    if child.returncode != 0:
        raise SystemExit(f"snapshot generation failed (exit {child.returncode})")
    result: dict[str, Any] = json.loads(output)
    records = result["counts"]["records"]
    stats = {
        "seconds": result["seconds"],
        "records_per_s": round(records / result["seconds"]),
        "peak_rss_mib": round(sampler.peak() / MIB),
        "disk_mib": round(sum(f.stat().st_size for f in data.rglob("*.parquet")) / MIB),
    }
    stats_file.write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    return {**stats, "reused": False, "counts": result["counts"], "path": str(data)}


def generate_child(args: argparse.Namespace) -> None:
    total = args.subjects
    last = [-1]

    def progress(done: int, _total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if tenth != last[0]:
            last[0] = tenth
            print(f"  generated {done:,} / {total:,} subjects", file=sys.stderr, flush=True)

    started = time.perf_counter()
    counts = generate_snapshot(
        args.data,
        subjects=args.subjects,
        records_per_subject=args.records_per_subject,
        seed=args.seed,
        as_of=args.as_of,
        progress=progress,
    )
    seconds = time.perf_counter() - started
    print(json.dumps({"counts": counts, "seconds": round(seconds, 2)}))


def warm_page_cache(snapshot: Path) -> None:
    """Read every file once so both queries start from the same warm cache."""
    for f in sorted(snapshot.rglob("*.parquet")):
        with f.open("rb") as fh:
            while fh.read(16 * MIB):
                pass


# --- bare and full --------------------------------------------------------------------


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def bare_types(policies: Sequence[ResolvedPolicy], as_of: dt.date) -> pa.Table:
    """The record types with a flat points value each: the national baseline's generic rule."""
    national = select_policy(policies, "00", as_of)
    points = {r.record_type: r.points for r in national.rules if r.profession is None}
    specs = default_catalogue().record_types
    return pa.table(
        {
            "record_type": [s.code for s in specs],
            "category": [s.category for s in specs],
            "polarity": [s.polarity for s in specs],
            "max_window_months": pa.array([s.max_window_months for s in specs], pa.int32()),
            "points": pa.array([points.get(s.code, 0) for s in specs], pa.int64()),
        }
    )


DuckDBConfig = dict[str, str | bool | int | float | list[str]]


def duckdb_config(memory_limit: str, threads: int, spill: Path) -> DuckDBConfig:
    # The executor's own settings, so the two queries run under the same limits.
    return {
        "memory_limit": memory_limit,
        "threads": threads,
        "temp_directory": str(spill),
        "preserve_insertion_order": False,
    }


def bare_sql(snapshot: Path, as_of: dt.date, out: Path) -> str:
    def files(table: str) -> str:
        return f"read_parquet({_sql_str(str(snapshot / table / '**' / '*.parquet'))})"

    day = f"DATE '{as_of.isoformat()}'"
    cutoff = f"TIMESTAMP '{(as_of + dt.timedelta(days=1)).isoformat()} 00:00:00'"
    # The window threshold is computed on the 33-row type table, so the per-record test is a
    # plain date comparison: the cheapest honest form, which keeps the ratio from flattering.
    return f"""
COPY (
    WITH
    types AS (
        SELECT *, CAST({day} - to_months(max_window_months) AS DATE) AS window_start
        FROM bare_types
    ),
    inactive AS (
        SELECT DISTINCT record_id FROM {files("status_events")}
        WHERE status <> 'active' AND recorded_at < {cutoff}
    ),
    totals AS (
        SELECT r.subject_id, sum(t.points) AS points
        FROM {files("records")} r
        JOIN types t ON t.record_type = r.record_type
        ANTI JOIN inactive i ON i.record_id = r.record_id
        WHERE r.recorded_at < {cutoff}
          AND r.decided_on <= {day}
          AND r.decided_on > t.window_start
        GROUP BY r.subject_id
    ),
    scored AS (
        SELECT s.subject_id, 1000 + coalesce(t.points, 0) AS score
        FROM {files("subjects")} s
        LEFT JOIN totals t ON t.subject_id = s.subject_id
    )
    SELECT subject_id, score,
           CASE WHEN score >= 1050 THEN 'AAA' WHEN score >= 1030 THEN 'AA'
                WHEN score >= 960 THEN 'A' WHEN score >= 850 THEN 'B'
                WHEN score >= 600 THEN 'C' ELSE 'D' END AS grade
    FROM scored
) TO {_sql_str(str(out))} (FORMAT parquet)
"""


def run_bare(
    snapshot: Path, out: Path, as_of: dt.date, types: pa.Table, memory_limit: str, threads: int
) -> int:
    with tempfile.TemporaryDirectory(prefix="duckdb-spill-", dir=out.parent) as spill:
        con = duckdb.connect(config=duckdb_config(memory_limit, threads, Path(spill)))
        try:
            con.register("bare_types_arrow", types)
            con.execute("CREATE TEMP TABLE bare_types AS SELECT * FROM bare_types_arrow")
            row = con.execute(bare_sql(snapshot, as_of, out)).fetchone()
        finally:
            con.close()
    return int(row[0]) if row else 0


def run_full(
    snapshot: Path,
    out: Path,
    as_of: dt.date,
    policies: Sequence[ResolvedPolicy],
    threads: int,
    contributions: bool,
) -> int:
    from socialcredit.scoring.duckdb_executor import DuckDBExecutor

    executor = DuckDBExecutor(threads=threads)
    # By default the executor writes the reasons only (the full list is given on request);
    # --with-contributions asks it for every contribution too.
    extra: dict[str, Any] = {"contributions": True} if contributions else {}
    return executor.score(snapshot, out, as_of=as_of, policies=policies, **extra)


def executor_digest() -> str:
    """Which version of the executor is measured (imports it)."""
    from socialcredit.scoring import duckdb_executor

    return hashlib.sha256(Path(duckdb_executor.__file__).read_bytes()).hexdigest()[:12]


def result_summary(result: Path) -> tuple[dict[str, int], int]:
    """Subjects per grade, and how many rows carry their full contribution list."""
    con = duckdb.connect()
    try:
        source = f"read_parquet({_sql_str(str(result))})"
        rows = con.execute(
            f"SELECT grade, count(*) FROM {source} GROUP BY grade ORDER BY grade"
        ).fetchall()
        listed = con.execute(f"SELECT count(contributions) FROM {source}").fetchone()
    finally:
        con.close()
    return {str(g): int(n) for g, n in rows}, int(listed[0]) if listed else 0


def phase_summary(
    runs: list[float],
    cpu: list[float],
    load: list[float],
    peak: int,
    records: int,
    subjects: int,
    threads: int,
) -> dict[str, Any]:
    best = min(runs)
    return {
        "runs_s": [round(r, 2) for r in runs],
        "best_s": round(best, 2),
        # CPU seconds of this process per run: on a shared machine less disturbed than wall.
        "runs_cpu_s": [round(c, 2) for c in cpu],
        "best_cpu_s": round(min(cpu), 2),
        "load_average_1m_after_runs": [round(x, 2) for x in load],
        "records_per_s": round(records / best),
        "records_per_s_per_core": round(records / best / threads),
        "subjects_per_s": round(subjects / best),
        "peak_rss_mib": round(peak / MIB),
    }


def compare(args: argparse.Namespace, snapshot: dict[str, Any]) -> dict[str, Any]:
    from socialcredit.scoring.duckdb_executor import DEFAULT_MEMORY_LIMIT

    path = Path(snapshot["path"])
    records = int(snapshot["counts"]["records"])
    subjects = int(snapshot["counts"]["subjects"])
    threads = args.threads or os.cpu_count() or 1
    memory_limit = os.environ.get("SOCIALCREDIT_DUCKDB_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
    policies = load_policies()
    types = bare_types(policies, args.as_of)
    # Hashed when first imported: the code that runs is the code read now, even if the
    # file changes during the runs.
    digest = executor_digest()
    work = Path(tempfile.mkdtemp(prefix="rescore-out-", dir=path.parent))
    sampler = PeakRss()
    sampler.start()
    times: dict[str, list[float]] = {"bare": [], "full": []}
    cpu: dict[str, list[float]] = {"bare": [], "full": []}
    load: dict[str, list[float]] = {"bare": [], "full": []}
    me = psutil.Process()
    peaks = {"bare": 0, "full": 0}
    outputs: dict[str, int] = {}
    grades: dict[str, int] = {}
    listed = 0
    runners: dict[str, Callable[[Path], int]] = {
        "bare": lambda out: run_bare(path, out, args.as_of, types, memory_limit, threads),
        "full": lambda out: run_full(
            path, out, args.as_of, policies, threads, args.with_contributions
        ),
    }
    try:
        warm_page_cache(path)
        for i in range(args.repeat):
            for name, runner in runners.items():
                out = work / f"{name}.parquet"
                sampler.reset()
                cpu_before = sum(me.cpu_times()[:2])
                started = time.perf_counter()
                n = runner(out)
                seconds = time.perf_counter() - started
                cpu[name].append(sum(me.cpu_times()[:2]) - cpu_before)
                load[name].append(os.getloadavg()[0])
                peaks[name] = max(peaks[name], sampler.peak())
                times[name].append(seconds)
                if n != subjects:
                    raise SystemExit(f"{name}: {n} results for {subjects} subjects")
                outputs[name] = out.stat().st_size
                print(
                    f"  {name} run {i + 1}: {seconds:.2f} s, {cpu[name][-1]:.1f} CPU s, "
                    f"load {load[name][-1]:.2f}",
                    file=sys.stderr,
                    flush=True,
                )
                if name == "full" and i == args.repeat - 1:
                    grades, listed = result_summary(out)
                out.unlink()
    finally:
        sampler.stop()
        shutil.rmtree(work, ignore_errors=True)
    bare, full = (
        phase_summary(times[k], cpu[k], load[k], peaks[k], records, subjects, threads)
        for k in ("bare", "full")
    )
    bare["output_mib"] = round(outputs["bare"] / MIB, 1)
    full["output_mib"] = round(outputs["full"] / MIB, 1)
    full["grades"] = grades
    full["subjects_with_contribution_list"] = listed
    return {
        "threads": threads,
        "memory_limit": memory_limit,
        "bare": bare,
        "full": full,
        "with_contributions": args.with_contributions,
        "ratio_full_to_bare": round(full["best_s"] / bare["best_s"], 2),
        "ratio_full_to_bare_cpu": round(full["best_cpu_s"] / bare["best_cpu_s"], 2),
        "executor_sha256": digest,
    }


# --- Spark ----------------------------------------------------------------------------


def tree_cpu(process: psutil.Process) -> float:
    """User + system CPU seconds of this process and its children (Spark's JVM)."""
    total = sum(process.cpu_times()[:2])
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += sum(child.cpu_times()[:2])
    return total


def spark_bare_sql(as_of: dt.date) -> str:
    """The bare baseline in Spark SQL: the DuckDB one, clause for clause."""
    day = f"DATE'{as_of.isoformat()}'"
    cutoff = f"TIMESTAMP_NTZ'{(as_of + dt.timedelta(days=1)).isoformat()} 00:00:00'"
    return f"""
WITH
types AS (SELECT *, add_months({day}, -max_window_months) AS window_start FROM bare_types),
inactive AS (
    SELECT DISTINCT record_id FROM snap_status_events
    WHERE status <> 'active' AND recorded_at < {cutoff}
),
totals AS (
    SELECT /*+ BROADCAST(t), BROADCAST(i) */ r.subject_id, sum(t.points) AS points
    FROM snap_records r
    JOIN types t ON t.record_type = r.record_type
    LEFT ANTI JOIN inactive i ON i.record_id = r.record_id
    WHERE r.recorded_at < {cutoff}
      AND r.decided_on <= {day}
      AND r.decided_on > t.window_start
    GROUP BY r.subject_id
),
scored AS (
    SELECT s.subject_id, 1000 + coalesce(t.points, 0) AS score
    FROM snap_subjects s
    LEFT JOIN totals t ON t.subject_id = s.subject_id
)
SELECT subject_id, score,
       CASE WHEN score >= 1050 THEN 'AAA' WHEN score >= 1030 THEN 'AA'
            WHEN score >= 960 THEN 'A' WHEN score >= 850 THEN 'B'
            WHEN score >= 600 THEN 'C' ELSE 'D' END AS grade
FROM scored
"""


class SparkRunner:
    """Both Spark queries in one session, on the snapshot's views."""

    def __init__(self, snapshot: Path, as_of: dt.date, types: pa.Table, threads: int) -> None:
        from socialcredit.scoring.spark_executor import SparkExecutor, register_snapshot
        from socialcredit.scoring.spark_session import get_session

        self.master = f"local[{threads}]"
        self.spark = get_session(self.master)
        self.snapshot = snapshot
        self.as_of = as_of
        register_snapshot(self.spark, snapshot)
        self.spark.createDataFrame(types.to_pylist(), _SPARK_TYPES_DDL).createOrReplaceTempView(
            "bare_types"
        )
        self.executor = SparkExecutor(master=self.master)

    def bare(self, out: Path) -> int:
        # The executor re-registers the views on every run; so does the bare query.
        from socialcredit.scoring.spark_executor import register_snapshot

        register_snapshot(self.spark, self.snapshot)
        self.spark.sql(spark_bare_sql(self.as_of)).write.mode("overwrite").parquet(str(out))
        return sum(pq.ParquetFile(f).metadata.num_rows for f in out.glob("*.parquet"))

    def full(
        self, out: Path, policies: Sequence[ResolvedPolicy], contributions: bool, lists: bool
    ) -> int:
        lists_out = out.with_name(out.stem + "-lists.parquet") if lists else None
        extra: dict[str, Any] = {"contributions": True} if contributions else {}
        n = self.executor.score(
            self.snapshot, out, as_of=self.as_of, policies=policies, lists_out=lists_out, **extra
        )
        if lists_out is not None:
            lists_out.unlink()
        return n


_SPARK_TYPES_DDL = (
    "record_type STRING, category STRING, polarity STRING, max_window_months INT, points BIGINT"
)


def spark_digest() -> str:
    from socialcredit.scoring import spark_executor, spark_plan, spark_sql

    text = b"".join(
        Path(m.__file__).read_bytes() for m in (spark_executor, spark_sql, spark_plan) if m.__file__
    )
    return hashlib.sha256(text).hexdigest()[:12]


def compare_spark(args: argparse.Namespace, snapshot: dict[str, Any]) -> dict[str, Any]:
    """Bare vs full (and full with lists) on Spark, alternately, in one session."""
    import pyspark

    from socialcredit.scoring.spark_session import ENV_DRIVER_MEMORY, ENV_SHUFFLE_PARTITIONS

    os.environ[ENV_DRIVER_MEMORY] = args.spark_driver_memory
    os.environ[ENV_SHUFFLE_PARTITIONS] = str(args.spark_partitions)
    path = Path(snapshot["path"])
    records = int(snapshot["counts"]["records"])
    subjects = int(snapshot["counts"]["subjects"])
    threads = args.threads or os.cpu_count() or 1
    policies = load_policies()
    types = bare_types(policies, args.as_of)
    digest = spark_digest()
    work = Path(tempfile.mkdtemp(prefix="rescore-spark-out-", dir=path.parent))
    sampler = PeakRss(tree=True)
    sampler.start()
    me = psutil.Process()
    names = ("bare", "full", "full_lists")
    times: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    load: dict[str, list[float]] = {k: [] for k in names}
    peaks = dict.fromkeys(names, 0)
    started = time.perf_counter()
    runner = SparkRunner(path, args.as_of, types, threads)
    session_start_s = time.perf_counter() - started
    runners: dict[str, Callable[[Path], int]] = {
        "bare": runner.bare,
        "full": lambda out: runner.full(out, policies, args.with_contributions, lists=False),
        "full_lists": lambda out: runner.full(out, policies, args.with_contributions, lists=True),
    }
    grades: dict[str, int] = {}
    try:
        warm_page_cache(path)
        # One untimed round: JIT-compiles the JVM's hot paths for every query alike.
        for name, run in runners.items():
            out = work / f"warm-{name}.parquet"
            run(out)
            shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink()
        for i in range(args.repeat):
            for name, run in runners.items():
                out = work / f"{name}.parquet"
                sampler.reset()
                cpu_before = tree_cpu(me)
                t0 = time.perf_counter()
                n = run(out)
                seconds = time.perf_counter() - t0
                cpu[name].append(tree_cpu(me) - cpu_before)
                load[name].append(os.getloadavg()[0])
                peaks[name] = max(peaks[name], sampler.peak())
                times[name].append(seconds)
                if n != subjects:
                    raise SystemExit(f"spark {name}: {n} results for {subjects} subjects")
                print(
                    f"  spark {name} run {i + 1}: {seconds:.2f} s, {cpu[name][-1]:.1f} CPU s, "
                    f"load {load[name][-1]:.2f}",
                    file=sys.stderr,
                    flush=True,
                )
                if name == "full" and i == args.repeat - 1:
                    grades, _ = result_summary(out)
                shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink()
    finally:
        sampler.stop()
        shutil.rmtree(work, ignore_errors=True)
    summary = {
        k: phase_summary(times[k], cpu[k], load[k], peaks[k], records, subjects, threads)
        for k in names
    }
    summary["full"]["grades"] = grades
    return {
        "master": f"local[{threads}]",
        "threads": threads,
        "driver_memory": args.spark_driver_memory,
        "shuffle_partitions": args.spark_partitions,
        "pyspark": pyspark.__version__,
        "session_start_s": round(session_start_s, 2),
        **summary,
        "with_contributions": args.with_contributions,
        "ratio_full_to_bare": round(summary["full"]["best_s"] / summary["bare"]["best_s"], 2),
        "ratio_full_to_bare_cpu": round(
            summary["full"]["best_cpu_s"] / summary["bare"]["best_cpu_s"], 2
        ),
        "ratio_full_lists_to_bare": round(
            summary["full_lists"]["best_s"] / summary["bare"]["best_s"], 2
        ),
        "executor_sha256": digest,
    }


def scale_generation(args: argparse.Namespace) -> dict[str, Any]:
    """The generator at pilot scale (``--scale-subjects``): generated, or reused with the
    numbers measured when it was."""
    scaled = argparse.Namespace(**vars(args))
    scaled.subjects = args.scale_subjects
    scaled.data = default_data_dir(
        args.scale_subjects, args.records_per_subject, args.seed, args.as_of
    )
    print(f"generator at scale: {args.scale_subjects:,} subjects -> {scaled.data}", file=sys.stderr)
    stats = ensure_snapshot(scaled)
    stats["path"] = Path(stats["path"]).name
    return stats


# --- in-process latency ---------------------------------------------------------------

LATENCY_TYPES = (
    ("traffic.speeding", 30.0),
    ("traffic.red_light", 14.0),
    ("traffic.jaywalking", 6.0),
    ("traffic.drunk_driving", 0.8),
    ("traffic.unlicensed_driving", 1.0),
)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _latency_summary(ms: list[float], sizes: list[int]) -> dict[str, Any]:
    heavy = [m for m, s in zip(ms, sizes, strict=True) if s >= 40]
    return {
        "iterations": len(ms),
        "p50_ms": round(_percentile(ms, 0.50), 2),
        "p99_ms": round(_percentile(ms, 0.99), 2),
        "max_ms": round(max(ms), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "p99_ms_40_to_50_records": round(_percentile(heavy, 0.99), 2) if heavy else None,
        "records_per_subject_max": max(sizes),
    }


def latency(args: argparse.Namespace, synchronous: str | None = None) -> dict[str, Any]:
    """Accepted record -> stored score, in process, on a SQLite store.

    ``synchronous`` overrides the store's own setting (for a comparison run only): it
    shows how much of the latency is waiting for the disk rather than computing.
    """
    rng = random.Random(args.seed)
    today = dt.date.today()
    policies = load_policies()
    provider = next(p for p in pilot_providers() if p.kind == "traffic_police")
    codes = [c for c, _w in LATENCY_TYPES]
    weights = [w for _c, w in LATENCY_TYPES]
    with tempfile.TemporaryDirectory(prefix="rescore-latency-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'store.db'}")
        if synchronous is not None:
            # Runs after the store's own connect hook, so it wins.
            event.listen(
                engine,
                "connect",
                lambda dbapi, _rec: dbapi.execute(f"PRAGMA synchronous={synchronous}"),
            )
        init_store(engine)
        with session_scope(engine) as session:
            provider_id = add_provider(
                session,
                name=provider.name,
                kind=provider.kind,
                region_code=provider.region_code,
                record_types=list(provider.record_types),
            ).id
        people = _populate(engine, rng, provider_id, args.latency_subjects, today, codes, weights)
        # Every subject has a stored score already, as in a running system.
        rescore_subjects(engine, [sid for sid, *_ in people], as_of=today, policies=policies)
        serial = [10_000_000]

        accept_ms: list[float] = []

        def one_record(sid: int) -> None:
            serial[0] += 1
            started = time.perf_counter()
            decided = today - dt.timedelta(days=rng.randrange(30))
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            with engine.begin() as conn:
                conn.execute(
                    insert(Record),
                    [_record_row(provider_id, serial[0], sid, rng.choice(codes), decided, now)],
                )
                conn.execute(
                    text(
                        "INSERT OR IGNORE INTO rescore_queue (subject_id, enqueued_at) "
                        "VALUES (:s, :t)"
                    ),
                    {"s": sid, "t": now.strftime("%Y-%m-%d %H:%M:%S.%f")},
                )
            # The record is accepted (committed) here; the rest is the rescore.
            accept_ms.append((time.perf_counter() - started) * 1000)
            rescore_subjects(engine, [sid], as_of=today, policies=policies)

        direct_ms, direct_sizes = _series(
            engine, people, args.latency_iterations, lambda sid, _p: one_record(sid)
        )
        rescore_ms = [total - accept for total, accept in zip(direct_ms, accept_ms, strict=True)]
        with engine.connect() as conn:
            sync_level = int(conn.exec_driver_sql("PRAGMA synchronous").scalar() or 0)

        feed = Path(tmp) / "one.csv"

        def rescore(subjects: set[int]) -> None:
            # What a long-running importer does after each committed chunk.
            rescore_subjects(engine, subjects, as_of=today, policies=policies)

        def one_feed(sid: int, person: tuple[int, str, str, int]) -> None:
            serial[0] += 1
            _sid, number, name, _n = person
            writer = CsvFeedWriter(feed, "utf-8")
            decided = today - dt.timedelta(days=rng.randrange(30))
            writer.write(
                [
                    FeedRow(
                        f"{provider.code}-{serial[0]:010d}",
                        number,
                        name,
                        rng.choices(codes, weights)[0],
                        f"苏公交决字〔{decided.year}〕第{serial[0] % 1_000_000:06d}号",
                        decided,
                        decided,
                        None,
                        None,
                        None,
                        "record",
                    )
                ]
            )
            writer.close()
            import_feed(
                engine,
                feed,
                provider=provider.name,
                fmt="csv",
                parallel=False,
                today=today,
                on_chunk_committed=rescore,
            )

        feed_ms, feed_sizes = _series(engine, people, args.latency_iterations, one_feed)
        engine.dispose()
    return {
        "store": "sqlite",
        # 0 OFF, 1 NORMAL, 2 FULL: with FULL every commit waits for the disk, and this
        # path commits twice (the accepted record, then the score).
        "sqlite_synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(sync_level),
        "subjects": len(people),
        "insert_and_rescore": _latency_summary(direct_ms, direct_sizes),
        "of_which_accept_commit": _latency_summary(accept_ms, direct_sizes),
        "of_which_rescore_and_commit": _latency_summary(rescore_ms, direct_sizes),
        "one_row_feed_import_and_rescore": _latency_summary(feed_ms, feed_sizes),
    }


def _series(
    engine: Engine,
    people: list[tuple[int, str, str, int]],
    iterations: int,
    step: Callable[[int, tuple[int, str, str, int]], None],
) -> tuple[list[float], list[int]]:
    ms: list[float] = []
    sizes: list[int] = []
    for i in range(iterations):
        person = people[i % len(people)]
        sid = person[0]
        with engine.connect() as conn:
            before = conn.scalar(
                text("SELECT count(*) FROM scores WHERE subject_id = :s"), {"s": sid}
            )
            held = int(
                conn.scalar(text("SELECT count(*) FROM records WHERE subject_id = :s"), {"s": sid})
                or 0
            )
        started = time.perf_counter()
        step(sid, person)
        ms.append((time.perf_counter() - started) * 1000)
        sizes.append(held + 1)
        with engine.connect() as conn:
            after = conn.scalar(
                text("SELECT count(*) FROM scores WHERE subject_id = :s"), {"s": sid}
            )
        if after != (before or 0) + 1:
            raise SystemExit(f"subject {sid}: no new stored score after the record")
    return ms, sizes


def _record_row(
    provider_id: int, serial: int, sid: int, code: str, decided: dt.date, now: dt.datetime
) -> dict[str, Any]:
    return {
        "provider_id": provider_id,
        "provider_record_id": f"LAT-{serial:010d}",
        "version": 1,
        "subject_id": sid,
        "record_type": code,
        "decision_ref": f"REF-{serial}",
        "decided_on": decided,
        "conduct_ended_on": decided,
        "amount_fen": None,
        "content_hash": f"{serial:032x}",
        "status": "active",
        "recorded_at": now,
    }


def _populate(
    engine: Engine,
    rng: random.Random,
    provider_id: int,
    n: int,
    today: dt.date,
    codes: list[str],
    weights: list[float],
) -> list[tuple[int, str, str, int]]:
    """Adults with 1 to 48 records each, so that each iteration's subject ends with <= 50."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    people: list[tuple[int, str, str, int]] = []
    serial = 0
    with engine.begin() as conn:
        for _ in range(n):
            birth = random_birth(rng, today=today, min_age=18, max_age=80)
            number = make_ric(rng, birth=birth, province="32")
            name = person_name(rng)
            sid = conn.execute(
                insert(Subject).returning(Subject.id),
                {
                    "kind": "person",
                    "code": number,
                    "name": name,
                    "division_code": number[:6],
                    "province_code": number[:2],
                    "city_code": number[:4],
                    "birth_date": birth,
                    "sex": "M" if int(number[16]) % 2 else "F",
                    "check_override": False,
                    "registered_at": now,
                },
            ).scalar_one()
            held = rng.randint(1, 48)
            rows = []
            for _ in range(held):
                serial += 1
                decided = today - dt.timedelta(days=rng.randrange(4 * 365))
                rows.append(
                    _record_row(
                        provider_id, serial, sid, rng.choices(codes, weights)[0], decided, now
                    )
                )
            conn.execute(insert(Record), rows)
            people.append((sid, number, name, held))
    return people


# --- report ---------------------------------------------------------------------------


def verdicts(result: dict[str, Any]) -> dict[str, bool]:
    out: dict[str, bool] = {}
    cmp = result.get("rescore")
    if cmp:
        out["full_le_2x_bare"] = cmp["ratio_full_to_bare"] <= TARGET_RATIO
        peak = max(cmp["bare"]["peak_rss_mib"], cmp["full"]["peak_rss_mib"])
        out["peak_rss_le_3gib"] = peak <= TARGET_RSS_GIB * 1024
    lat = result.get("latency")
    if lat:
        out["p99_le_20ms"] = lat["insert_and_rescore"]["p99_ms"] <= TARGET_P99_MS
    spark = result.get("rescore_spark")
    if spark:
        out["spark_full_le_1_3x_bare"] = spark["ratio_full_to_bare"] <= TARGET_SPARK_RATIO
    scale = result.get("generator_at_scale")
    if scale and scale.get("peak_rss_mib") is not None:
        out["generator_peak_rss_le_2gib"] = scale["peak_rss_mib"] <= TARGET_GENERATOR_GIB * 1024
    return out


def _yes(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**not met**")


def _latency_lines(lat: dict[str, Any] | None, *, comparison: bool) -> list[str]:
    if not lat:
        return []
    note = " (for comparison only: not the shipped setting)" if comparison else ""
    d = lat["insert_and_rescore"]
    a = lat["of_which_accept_commit"]
    r = lat["of_which_rescore_and_commit"]
    f = lat["one_row_feed_import_and_rescore"]
    return [
        f"In-process latency, {lat['store']} store with synchronous="
        f"{lat['sqlite_synchronous']}{note}, {lat['subjects']} subjects with up to "
        f"{d['records_per_subject_max']} records, {d['iterations']} iterations:",
        "",
        "| path | p50 (ms) | p99 (ms) | p99, 40–50 records (ms) | max (ms) |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| insert one record + `rescore_subjects` | {d['p50_ms']} | {d['p99_ms']} "
        f"| {d['p99_ms_40_to_50_records']} | {d['max_ms']} |",
        f"| … of which the accepted record's commit | {a['p50_ms']} | {a['p99_ms']} "
        f"| {a['p99_ms_40_to_50_records']} | {a['max_ms']} |",
        f"| … of which `rescore_subjects` (read, evaluate, commit the score) "
        f"| {r['p50_ms']} | {r['p99_ms']} | {r['p99_ms_40_to_50_records']} | {r['max_ms']} |",
        f"| one-row feed via `import_feed` + rescore | {f['p50_ms']} | {f['p99_ms']} "
        f"| {f['p99_ms_40_to_50_records']} | {f['max_ms']} |",
        "",
    ]


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        "# Population rescore benchmark",
        "",
        f"Run {result['started_at']} with `{result['command']}`.",
        "",
        f"Machine: {m['cores_logical']} cores ({m['cores_physical']} physical), "
        f"{m['ram_gib']} GiB RAM, {m['cpu']}; Python {m['python']}, DuckDB {m['duckdb']}, "
        f"pyarrow {m['pyarrow']}; load average at start {m['load_average_at_start']}.",
        "",
    ]
    snap = result.get("snapshot")
    if snap:
        c = snap["counts"]
        lines += [
            f"Snapshot: {c['subjects']:,} subjects, {c['records']:,} records "
            f"({c['records'] / max(c['subjects'], 1):.1f} per subject), "
            f"{c['status_events']:,} status events, {c['professions']:,} professional profiles; "
            f"as of {result['as_of']}, seed {result['seed']}.",
            "",
        ]
    if snap and snap.get("seconds") is not None:
        reused = " (generated earlier, reused)" if snap.get("reused") else ""
        lines += [
            f"Generation{reused}: {snap['seconds']:.1f} s, {snap['records_per_s']:,} records/s, "
            f"peak RSS {snap['peak_rss_mib']:,} MiB, {snap['disk_mib']:,} MiB of Parquet.",
            "",
        ]
    ok = verdicts(result)
    cmp = result.get("rescore")
    if cmp:
        lines += [
            f"DuckDB, {cmp['threads']} threads, memory_limit {cmp['memory_limit']}; best of "
            f"{len(cmp['bare']['runs_s'])} warm runs each, run alternately; executor "
            f"`duckdb_executor.py` sha256 {cmp['executor_sha256']}.",
            "",
            "| query | wall (s) | runs (s) | CPU (s) | records/s | records/s per core "
            "| peak RSS (MiB) | output (MiB) | load avg after runs |",
            "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for name in ("bare", "full"):
            p = cmp[name]
            lines.append(
                f"| {name} | {p['best_s']:.2f} | {', '.join(f'{r:.2f}' for r in p['runs_s'])} "
                f"| {p['best_cpu_s']:.1f} | {p['records_per_s']:,} "
                f"| {p['records_per_s_per_core']:,} | {p['peak_rss_mib']:,} "
                f"| {p['output_mib']:,} | {p['load_average_1m_after_runs']} |"
            )
        mode = (
            "--with-contributions"
            if cmp["with_contributions"]
            else "reasons only, the executor's default"
        )
        lines += [
            "",
            f"Ratio full/bare: {cmp['ratio_full_to_bare']}× wall, "
            f"{cmp['ratio_full_to_bare_cpu']}× CPU.",
            "",
            f"Full run wrote the full contribution list for "
            f"{cmp['full']['subjects_with_contribution_list']:,} subjects ({mode}).",
            "",
            f"Full grades: {cmp['full']['grades']}",
            "",
        ]
    lines += _spark_lines(result)
    for key in ("latency", "latency_synchronous_normal"):
        lines += _latency_lines(result.get(key), comparison=key != "latency")
    lat = result.get("latency")
    lines += ["| target | measured | verdict |", "| --- | --- | --- |"]
    if cmp:
        peak = max(cmp["bare"]["peak_rss_mib"], cmp["full"]["peak_rss_mib"])
        lines.append(
            f"| full ≤ {TARGET_RATIO}× bare | {cmp['ratio_full_to_bare']}× "
            f"| {_yes(ok.get('full_le_2x_bare'))} |"
        )
        lines.append(
            f"| peak RSS ≤ {TARGET_RSS_GIB:g} GiB | {peak / 1024:.2f} GiB "
            f"| {_yes(ok.get('peak_rss_le_3gib'))} |"
        )
    if lat:
        lines.append(
            f"| in-process p99 ≤ {TARGET_P99_MS:g} ms | {lat['insert_and_rescore']['p99_ms']} ms "
            f"| {_yes(ok.get('p99_le_20ms'))} |"
        )
    spark = result.get("rescore_spark")
    if spark:
        lines.append(
            f"| Spark full ≤ {TARGET_SPARK_RATIO}× Spark bare | {spark['ratio_full_to_bare']}× "
            f"| {_yes(ok.get('spark_full_le_1_3x_bare'))} |"
        )
    scale = result.get("generator_at_scale")
    if scale and scale.get("peak_rss_mib") is not None:
        lines.append(
            f"| generator peak RSS ≤ {TARGET_GENERATOR_GIB:g} GiB "
            f"({scale['counts']['subjects']:,} subjects) | {scale['peak_rss_mib'] / 1024:.2f} GiB "
            f"| {_yes(ok.get('generator_peak_rss_le_2gib'))} |"
        )
    return "\n".join(lines) + "\n"


def _spark_lines(result: dict[str, Any]) -> list[str]:
    spark = result.get("rescore_spark")
    if not spark:
        return []
    duck = result.get("rescore") or {}
    lines = [
        f"Spark {spark['pyspark']}, `{spark['master']}`, driver memory {spark['driver_memory']}, "
        f"{spark['shuffle_partitions']} shuffle partitions; one session (started in "
        f"{spark['session_start_s']} s, not counted), an untimed warm-up round, then best of "
        f"{len(spark['bare']['runs_s'])} runs each, alternately; CPU and RSS include the JVM; "
        f"executor sha256 {spark['executor_sha256']}.",
        "",
        "| query | wall (s) | runs (s) | CPU (s) | records/s | records/s per core "
        "| peak RSS (MiB) | load avg after runs |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, label in (("bare", "bare"), ("full", "full"), ("full_lists", "full + lists")):
        p = spark[name]
        lines.append(
            f"| {label} | {p['best_s']:.2f} | {', '.join(f'{r:.2f}' for r in p['runs_s'])} "
            f"| {p['best_cpu_s']:.1f} | {p['records_per_s']:,} | {p['records_per_s_per_core']:,} "
            f"| {p['peak_rss_mib']:,} | {p['load_average_1m_after_runs']} |"
        )
    lines += [
        "",
        f"Spark ratio full/bare: {spark['ratio_full_to_bare']}× wall, "
        f"{spark['ratio_full_to_bare_cpu']}× CPU; full with lists/bare: "
        f"{spark['ratio_full_lists_to_bare']}×.",
        "",
        f"Spark full grades: {spark['full']['grades']}",
        "",
    ]
    if duck:
        lines += [
            "Side by side, records/s per core (records / best wall time / cores):",
            "",
            "| query | DuckDB | Spark | DuckDB ÷ Spark |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name in ("bare", "full"):
            d = duck[name]["records_per_s_per_core"]
            k = spark[name]["records_per_s_per_core"]
            lines.append(f"| {name} | {d:,} | {k:,} | {d / k:.1f}× |")
        same = duck["full"].get("grades") == spark["full"].get("grades")
        lines += ["", f"Full grades identical on both engines: {'yes' if same else '**no**'}.", ""]
    scale = result.get("generator_at_scale")
    if scale:
        c = scale["counts"]
        reused = " (generated earlier, reused)" if scale.get("reused") else ""
        lines += [
            f"Generator at scale{reused}: {c['subjects']:,} subjects, {c['records']:,} records in "
            f"{scale.get('seconds', 0):.1f} s ({scale.get('records_per_s', 0):,} records/s), "
            f"peak RSS {scale.get('peak_rss_mib', 0):,} MiB, {scale.get('disk_mib', 0):,} MiB "
            "of Parquet.",
            "",
        ]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--subjects", type=int, default=10_000_000)
    parser.add_argument("--records-per-subject", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=DEFAULT_AS_OF)
    parser.add_argument("--data", type=Path, help="snapshot folder (reused if it matches)")
    parser.add_argument("--engine", choices=ENGINES, default="duckdb")
    parser.add_argument("--threads", type=int, help="default: every core")
    parser.add_argument("--repeat", type=int, default=2, help="warm runs of each query")
    parser.add_argument("--latency-subjects", type=int, default=300)
    parser.add_argument("--latency-iterations", type=int, default=300)
    parser.add_argument("--skip-rescore", action="store_true", help="only the latency part")
    parser.add_argument(
        "--with-contributions",
        action="store_true",
        help="have the full run write every subject's full contribution list too",
    )
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--generate-only", action="store_true", help="write (or check) the snapshot and stop"
    )
    parser.add_argument(
        "--out", type=Path, help="default results/rescore.json (rescore_spark.json for spark)"
    )
    parser.add_argument("--spark-driver-memory", default="3g")
    parser.add_argument("--spark-partitions", type=int, default=8)
    parser.add_argument(
        "--scale-subjects",
        type=int,
        default=10_000_000,
        help="spark: also generate (or reuse) a snapshot this big and report the generator "
        "(0: skip)",
    )
    parser.add_argument("--generate-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.data is None:
        args.data = default_data_dir(args.subjects, args.records_per_subject, args.seed, args.as_of)
    if args.out is None:
        args.out = RESULTS / ("rescore_spark.json" if args.engine == "spark" else "rescore.json")
    if args.generate_child:
        generate_child(args)
        return

    if args.generate_only:
        print(json.dumps(ensure_snapshot(args), indent=2))
        return

    result: dict[str, Any] = {
        "started_at": dt.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(["benchmarks/rescore.py", *(argv or sys.argv[1:])]),
        "machine": machine(),
        "engine": args.engine,
        "as_of": args.as_of.isoformat(),
        "seed": args.seed,
    }
    if not args.skip_rescore:
        print(f"snapshot: {args.subjects:,} subjects -> {args.data}", file=sys.stderr)
        result["snapshot"] = ensure_snapshot(args)
        print("bare vs full:", file=sys.stderr)
        result["rescore"] = compare(args, result["snapshot"])
        if args.engine == "spark":
            print("spark bare vs full:", file=sys.stderr)
            result["rescore_spark"] = compare_spark(args, result["snapshot"])
            if args.scale_subjects:
                result["generator_at_scale"] = scale_generation(args)
    if not args.skip_latency:
        print("in-process latency:", file=sys.stderr)
        result["latency"] = latency(args)
        result["latency_synchronous_normal"] = latency(args, "NORMAL")
    result["targets_met"] = verdicts(result)
    if "snapshot" in result:
        # Results are published: name the snapshot, not where it sat on this machine.
        result["snapshot"]["path"] = Path(result["snapshot"]["path"]).name
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
