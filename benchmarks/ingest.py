"""Feed ingestion benchmark: rows/s and peak RSS importing one large CSV feed.

    .venv/bin/python benchmarks/ingest.py                      # 1M rows, SQLite and PostgreSQL
    .venv/bin/python benchmarks/ingest.py --rows 50000 --backends sqlite   # a quick check

A synthetic population is bulk-inserted into each fresh store (the registry is
not what is measured), then a single traffic-police CSV feed is imported with
``import_feed`` in a child process while this process samples the child's
resident memory (and that of any worker it starts). Every row is valid, so the
figure is the throughput of the path real feeds take. Results go to
``benchmarks/results/ingest.json`` and ``ingest.md``.

PostgreSQL is reached at ``--pg-admin-url``; the script creates a database of
its own there and drops it afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import Engine, create_engine, insert, text

from socialcredit.db.engine import make_engine, session_scope
from socialcredit.db.models import Subject
from socialcredit.db.setup import init_store
from socialcredit.records.providers import add_provider
from socialcredit.synth.authorities import pilot_providers
from socialcredit.synth.feedfiles import CsvFeedWriter
from socialcredit.synth.feedrows import FeedRow, add_years, decision_ref
from socialcredit.synth.ids import make_ric, random_birth
from socialcredit.synth.names import person_name
from socialcredit.synth.unique import SeenFilter

RESULTS = Path(__file__).resolve().parent / "results"
TODAY = dt.date(2026, 11, 27)
# Traffic records dominate real feeds; weights as in the synthetic pilot.
TRAFFIC_MIX = (
    ("traffic.speeding", 30.0),
    ("traffic.red_light", 14.0),
    ("traffic.jaywalking", 6.0),
    ("traffic.unlicensed_driving", 1.0),
    ("traffic.drunk_driving", 0.8),
)
TARGETS = {"sqlite": 50_000, "postgres": 100_000}
SAMPLE_EVERY = 0.05  # seconds between RSS samples
Person = tuple[str, str, dt.date]  # id number, name, birth date


def make_population(n: int, seed: int) -> list[Person]:
    """Adults only, so no valid row falls before a subject's 18th birthday."""
    rng = random.Random(seed)
    seen = SeenFilter(n)
    people: list[Person] = []
    while len(people) < n:
        birth = random_birth(rng, today=TODAY, min_age=18, max_age=80)
        number = make_ric(rng, birth=birth)
        if seen.add(number):
            people.append((number, person_name(rng), birth))
    return people


def write_feed(path: Path, people: list[Person], rows: int, seed: int) -> None:
    provider = next(p for p in pilot_providers() if p.kind == "traffic_police")
    rng = random.Random(seed)
    codes = [c for c, _w in TRAFFIC_MIX]
    weights = [w for _c, w in TRAFFIC_MIX]
    window_start = add_years(TODAY, -4)
    writer = CsvFeedWriter(path, "utf-8")
    try:
        chunk: list[FeedRow] = []
        for serial in range(1, rows + 1):
            number, name, birth = people[rng.randrange(len(people))]
            earliest = max(window_start, add_years(birth, 18))
            decided = earliest + dt.timedelta(days=rng.randrange((TODAY - earliest).days + 1))
            code = rng.choices(codes, weights)[0]
            chunk.append(
                FeedRow(
                    f"{provider.code}-{serial:010d}",
                    number,
                    name,
                    code,
                    decision_ref(provider, code, decided, serial, number[:6]),
                    decided,
                    max(earliest, decided - dt.timedelta(days=rng.randint(0, 15))),
                    None,
                    None,
                    None,
                    "record",
                )
            )
            if len(chunk) == 10_000:
                writer.write(chunk)
                chunk.clear()
        writer.write(chunk)
    finally:
        writer.close()


def prepare_store(engine: Engine, people: list[Person]) -> tuple[str, float]:
    """Schema, catalogue, the provider, and the population in bulk; returns (provider, s)."""
    started = time.monotonic()
    init_store(engine)
    provider = next(p for p in pilot_providers() if p.kind == "traffic_police")
    with session_scope(engine) as session:
        add_provider(
            session,
            name=provider.name,
            kind=provider.kind,
            region_code=provider.region_code,
            record_types=list(provider.record_types),
        )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        for i in range(0, len(people), 10_000):
            conn.execute(
                insert(Subject),
                [
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
                    }
                    for number, name, birth in people[i : i + 10_000]
                ],
            )
    return provider.name, time.monotonic() - started


@contextmanager
def fresh_store(backend: str, work: Path, pg_admin_url: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{work / 'bench.db'}"
        return
    name = f"sc_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class RssSampler(threading.Thread):
    """Samples the resident memory of a process and its children until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.samples: list[tuple[float, int, int]] = []  # (time, importer rss, total rss)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                own = self.process.memory_info().rss
                children = sum(c.memory_info().rss for c in self.process.children(recursive=True))
            except psutil.Error:
                break
            self.samples.append((time.monotonic(), own, own + children))
            self.stopped.wait(SAMPLE_EVERY)

    def summary(self, start: float, end: float) -> dict[str, float]:
        during = [s for s in self.samples if start <= s[0] <= end] or self.samples
        span = max(end - start, 1e-9)

        def at(fraction: float) -> float:
            t = start + fraction * span
            return max((s[1] for s in during if s[0] <= t), default=during[0][1]) / 2**20

        return {
            "rss_peak_mb": round(max(s[1] for s in during) / 2**20, 1),
            "rss_peak_with_workers_mb": round(max(s[2] for s in during) / 2**20, 1),
            # Peak so far at 10%, 50% and 100% of the import: flat memory keeps these equal.
            "rss_at_10pct_mb": round(at(0.1), 1),
            "rss_at_50pct_mb": round(at(0.5), 1),
        }


def run_import(url: str, feed: Path, provider: str, rejects: Path) -> dict[str, Any]:
    """Import in a child process, sampling its memory from here."""
    cmd = [sys.executable, __file__, "--child", url, str(feed), provider, str(rejects)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    sampler = RssSampler(child.pid)
    sampler.start()
    assert child.stdout is not None
    ready = child.stdout.readline()  # the child says when its imports are done
    start = time.monotonic()
    output = child.stdout.read()
    end = time.monotonic()
    child.wait()
    sampler.stopped.set()
    sampler.join()
    if child.returncode != 0 or not ready.startswith("ready"):
        raise RuntimeError(f"import failed (exit {child.returncode})")
    result: dict[str, Any] = json.loads(output)
    return {**result, **sampler.summary(start, end)}


def child_main(url: str, feed: Path, provider: str, rejects: Path) -> None:
    from socialcredit.records.ingest import import_feed

    engine = make_engine(url)
    print("ready", flush=True)
    started = time.perf_counter()
    result = import_feed(engine, feed, provider=provider, fmt="csv", rejects_path=rejects)
    seconds = time.perf_counter() - started
    engine.dispose()
    rows = result.accepted + result.duplicates + result.rejected
    print(
        json.dumps(
            {
                "rows": rows,
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "rejected": result.rejected,
                "seconds": round(seconds, 2),
                "rows_per_s": round(rows / seconds),
            }
        )
    )


def postgres_version(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        version = str(conn.scalar(text("show server_version")))
    engine.dispose()
    return version


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Ingestion benchmark — {report['rows']:,} rows, {report['persons']:,} persons",
        "",
        f"{report['machine']['cpus']} CPUs, Python {report['machine']['python']}, "
        + ", ".join(f"{k} {v}" for k, v in report["versions"].items())
        + f"; run {report['run_at']}.",
        "",
        "| store | run | rows/s | target | seconds | accepted | duplicates | rejected "
        "| peak RSS MB | RSS at 10% / 50% MB | with workers MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        target = TARGETS.get(r["backend"], 0)
        mark = "✓" if r["rows_per_s"] >= target else "✗"
        lines.append(
            f"| {r['backend']} | {r['run']} | {r['rows_per_s']:,} | {target:,} {mark} "
            f"| {r['seconds']} | {r['accepted']:,} | {r['duplicates']:,} | {r['rejected']:,} "
            f"| {r['rss_peak_mb']} | {r['rss_at_10pct_mb']} / {r['rss_at_50pct_mb']} "
            f"| {r['rss_peak_with_workers_mb']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="feed rows (1,000,000)")
    parser.add_argument("--persons", type=int, default=100_000, help="registered persons")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite,postgres")
    parser.add_argument("--out", type=Path, default=RESULTS / "ingest.json")
    parser.add_argument(
        "--pg-admin-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a database on the server to create the benchmark database from",
    )
    parser.add_argument(
        "--reimport", action="store_true", help="import the file a second time (all duplicates)"
    )
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, feed, provider, rejects = args.child
        child_main(url, Path(feed), provider, Path(rejects))
        return

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - set(TARGETS)
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    work = Path(tempfile.mkdtemp(prefix="sc-bench-"))
    try:
        t = time.monotonic()
        people = make_population(args.persons, args.seed)
        feed = work / "traffic.csv"
        write_feed(feed, people, args.rows, args.seed)
        print(
            f"generated {args.persons:,} persons and a {args.rows:,}-row feed "
            f"({feed.stat().st_size / 2**20:.0f} MB) in {time.monotonic() - t:.0f} s",
            flush=True,
        )
        results: list[dict[str, Any]] = []
        versions = {"sqlite": sqlite3.sqlite_version}
        for backend in backends:
            with fresh_store(backend, work, args.pg_admin_url) as url:
                engine = make_engine(url)
                provider, setup_s = prepare_store(engine, people)
                engine.dispose()
                runs = ("first", "again") if args.reimport else ("first",)
                for run in runs:
                    r = run_import(url, feed, provider, work / f"{backend}-{run}.rejects.csv")
                    r.update(backend=backend, run=run, setup_seconds=round(setup_s, 1))
                    results.append(r)
                    print(
                        f"{backend} ({run}): {r['rows_per_s']:,} rows/s, "
                        f"peak RSS {r['rss_peak_mb']} MB",
                        flush=True,
                    )
                if backend == "postgres":
                    versions["postgres"] = postgres_version(url)
        report = {
            "rows": args.rows,
            "persons": args.persons,
            "run_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "system": platform.system(),
            },
            "versions": versions,
            "targets_rows_per_s": TARGETS,
            "results": results,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        args.out.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
        print(markdown(report))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
