"""API benchmark: the relying-party measures query against a trivial endpoint, one server.

    .venv/bin/python benchmarks/api.py                       # SQLite, 20,000 subjects
    .venv/bin/python benchmarks/api.py --store postgres      # a fresh PostgreSQL database
    .venv/bin/python benchmarks/api.py --duration 5 --rounds 1 --subjects 2000   # quick

1. **Store.** ``init_store`` on a fresh SQLite file (or a fresh PostgreSQL database, dropped
   at the end). Subjects are bulk-inserted (persons and organisations of the four YRD
   provinces, each organisation with a person as legal representative), with what the
   daily runs would have left: today's stored score for everyone, a court record and a
   published black-list entry for some persons and organisations, red-list entries for
   some AAA subjects, and entries under notice or already exited (which must not count).
2. **Relying parties.** Two Shanghai parties, one per purpose: a purpose is open only to
   its kind of party (``transport_ticketing`` to transport operators,
   ``government_procurement`` to procurement agencies), so no single party can hold both.
   Each gets a key (``create_key``); requests alternate between the two.
3. **Server.** ``socialcredit serve`` (uvicorn, one process) on 127.0.0.1 and a free port,
   access log off (``--log-level warning``), stopped at the end.
4. **Load.** wrk (a Lua script rotates subjects and purposes and sets the Authorization
   header), else a bounded Python asyncio generator. Each round runs
   ``GET /v1/health`` then ``GET /v1/measures?subject=ID&purpose=P``, each after a short
   warm-up, at ``--connections`` for ``--duration`` seconds; the server's CPU time is
   read from /proc around each run, which is less sensitive than req/s to other jobs
   on the machine.
5. **Audit.** Entries written per measures run against requests answered (wrk does not
   count responses still in flight when it stops, so up to ``--connections`` more entries
   than answers is expected), and ``socialcredit audit verify`` over the whole log.

``--legal-rep-index`` first creates an index on ``subjects.legal_rep_id``, which the
shipped schema lacks: without it, finding the organisations a person represents (the
measures that reach a legal representative) scans the subjects, and that scan is most of
a measures query's cost; with it, the run shows what a migration adding it would give.

Targets: measures ≥ 0.5 × health's throughput, measures p99 ≤ 25 ms at 64 connections.
Results are merged into ``--out`` (JSON, keyed by store and label; findings that hold for
every run under ``_notes``, a run's own under its ``notes``) and the Markdown beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import Engine, create_engine, func, insert, select, text

from socialcredit.access import create_key
from socialcredit.db.engine import make_engine, session_scope
from socialcredit.db.models import AuditEntry, ListEntry, Record, Score, Subject
from socialcredit.db.setup import init_store
from socialcredit.identity.ids import parse_ric, uscc_division
from socialcredit.identity.regions import region_of
from socialcredit.measures import register_party
from socialcredit.policy import load_policies, select_policy
from socialcredit.records.providers import add_provider
from socialcredit.synth.ids import make_ric, make_uscc, random_birth
from socialcredit.synth.names import company_name, person_name

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_RATIO = 0.5
TARGET_P99_MS = 25.0
PROVINCES = ("31", "32", "33", "34")
# (party name, kind, purpose): one party per purpose, see the module docstring.
PARTIES = (
    ("上海地铁票务中心", "transport_operator", "transport_ticketing"),
    ("上海市政府采购中心", "procurement_agency", "government_procurement"),
)
COURT = "上海市高级人民法院"
TRAFFIC = "上海市公安局交通警察总队"
# Shares of subjects, chosen so that a few percent of answers carry measures, as a
# relying party would see in practice.
ORG_SHARE = 0.15
BLACK_SHARE = 0.05
RED_SHARE = 0.03
NOTICE_SHARE = 0.01
EXITED_SHARE = 0.01
GRADES = (("AAA", 0.08), ("AA", 0.15), ("A", 0.55), ("B", 0.12), ("C", 0.07), ("D", 0.03))
GRADE_SCORE = {"AAA": 1060, "AA": 1040, "A": 1000, "B": 900, "C": 700, "D": 500}
# Finding the organisations a person represents needs this index on every measures query
# for a person. Migration 0005 ships it; ``--legal-rep-index`` is kept so that stores
# built before it measure alike (IF NOT EXISTS: a no-op on a current store).
LEGAL_REP_INDEX = "ix_subjects_legal_rep_id"
SERVER_START_TIMEOUT = 60.0
SERVER_STOP_TIMEOUT = 20.0
WRK_MARK = "WRKJSON "


# --- the store ----------------------------------------------------------------------------


@dataclass
class Population:
    codes: list[str]  # every subject's ID, shuffled: the order requests ask in
    persons: int
    organisations: int
    black: int
    red: int
    not_in_force: int
    scores: int


@contextmanager
def fresh_store(store: str, pg_admin_url: str, keep: bool) -> Iterator[tuple[str, Engine]]:
    """A URL and engine of an empty database, removed afterwards unless ``keep``."""
    if store == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="socialcredit-api-bench-"))
        url = f"sqlite:///{folder / 'store.db'}"
        engine = make_engine(url)
        try:
            yield url, engine
        finally:
            engine.dispose()
            if keep:
                print(f"kept the store in {folder}", file=sys.stderr)
            else:
                shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"sc_bench_api_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_admin_url.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        if keep:
            print(f"kept the database {name}", file=sys.stderr)
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _person_row(code: str, name: str, now: dt.datetime) -> dict[str, Any]:
    pid = parse_ric(code)
    region = region_of(pid.division_code)
    return {
        "kind": "person",
        "code": code,
        "name": name,
        "division_code": pid.division_code,
        "province_code": region.province_code,
        "city_code": region.city_code,
        "birth_date": pid.birth_date,
        "sex": pid.sex,
        "legal_rep_id": None,
        "check_override": False,
        "registered_at": now,
    }


def _org_row(code: str, name: str, legal_rep_id: int, now: dt.datetime) -> dict[str, Any]:
    division = uscc_division(code)
    region = region_of(division)
    return {
        "kind": "organisation",
        "code": code,
        "name": name,
        "division_code": division,
        "province_code": region.province_code,
        "city_code": region.city_code,
        "birth_date": None,
        "sex": None,
        "legal_rep_id": legal_rep_id,
        "check_override": False,
        "registered_at": now,
    }


def _chunks(rows: Sequence[dict[str, Any]], size: int = 5000) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def populate(engine: Engine, subjects: int, seed: int, today: dt.date) -> Population:
    """Bulk-insert subjects, records, list entries and today's scores (see the docstring)."""
    rng = random.Random(seed)
    now = dt.datetime.combine(today, dt.time(2, 0))
    n_orgs = int(subjects * ORG_SHARE)
    n_persons = subjects - n_orgs
    seen: set[str] = set()
    person_rows: list[dict[str, Any]] = []
    while len(person_rows) < n_persons:
        birth = random_birth(rng, today=today, min_age=18, max_age=80)
        code = make_ric(rng, birth=birth, province=rng.choice(PROVINCES))
        if code not in seen:
            seen.add(code)
            person_rows.append(_person_row(code, person_name(rng), now))
    with engine.begin() as conn:
        for chunk in _chunks(person_rows):
            conn.execute(insert(Subject), list(chunk))
        person_ids = list(
            conn.scalars(select(Subject.id).where(Subject.kind == "person").order_by(Subject.id))
        )
    org_rows: list[dict[str, Any]] = []
    while len(org_rows) < n_orgs:
        province = rng.choice(PROVINCES)
        code = make_uscc(rng, province=province)
        if code not in seen:
            seen.add(code)
            org_rows.append(
                _org_row(code, company_name(rng, province), rng.choice(person_ids), now)
            )
    with session_scope(engine) as s:
        court = add_provider(
            s,
            name=COURT,
            kind="court",
            region_code="310000",
            record_types=["court.dishonest_debtor"],
        )
        traffic = add_provider(
            s,
            name=TRAFFIC,
            kind="traffic_police",
            region_code="310000",
            record_types=["traffic.speeding"],
        )
        court_id, traffic_id = court.id, traffic.id
    with engine.begin() as conn:
        for chunk in _chunks(org_rows):
            conn.execute(insert(Subject), list(chunk))
        everyone = list(conn.execute(select(Subject.id, Subject.kind, Subject.province_code)))

    policies = load_policies()
    records: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    black = red = not_in_force = 0
    grade_names = [g for g, _ in GRADES]
    grade_weights = [w for _, w in GRADES]
    for sid, kind, province in everyone:
        grade = rng.choices(grade_names, grade_weights)[0]
        roll = rng.random()
        if roll < BLACK_SHARE:
            grade = rng.choice(("C", "D"))
        policy = select_policy(policies, province, today)
        scores.append(
            {
                "subject_id": sid,
                "as_of": today,
                "computed_at": now,
                "engine": "duckdb",
                "policy_id": policy.id,
                "policy_version": policy.version,
                "score": GRADE_SCORE[grade],
                "grade": grade,
                "reasons": "[]",
                "contributions": "[]",
            }
        )
        if kind == "person" and rng.random() < 0.3:
            records.append(_record(traffic_id, sid, "traffic.speeding", today, rng))
        if roll < BLACK_SHARE + NOTICE_SHARE + EXITED_SHARE:
            decided = today - dt.timedelta(days=rng.randrange(40, 600))
            records.append(_record(court_id, sid, "court.dishonest_debtor", decided, rng))
            published = decided + dt.timedelta(days=14)
            entry = _entry(sid, "black", "court-dishonest-debtor", province, policy, decided)
            if roll < BLACK_SHARE:
                entry.update(status="published", published_on=published)
                black += 1
            elif roll < BLACK_SHARE + NOTICE_SHARE:
                entry.update(notice_until=today + dt.timedelta(days=3))
                not_in_force += 1
            else:
                entry.update(
                    status="exited",
                    published_on=published,
                    exited_on=today - dt.timedelta(days=10),
                    exit_reason="obligation performed",
                )
                not_in_force += 1
            entries.append(entry)
        elif grade == "AAA" and rng.random() < RED_SHARE / 0.08:
            entry = _entry(sid, "red", "aaa-clean-record", province, policy, today)
            entry.update(
                status="published",
                entered_on=today - dt.timedelta(days=60),
                published_on=today - dt.timedelta(days=50),
                planned_exit_on=today + dt.timedelta(days=300),
            )
            entries.append(entry)
            red += 1
    with engine.begin() as conn:
        for chunk in _chunks(records):
            conn.execute(insert(Record), list(chunk))
        for chunk in _chunks(entries):
            conn.execute(insert(ListEntry), list(chunk))
        for chunk in _chunks(scores):
            conn.execute(insert(Score), list(chunk))
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    codes = [r["code"] for r in person_rows] + [r["code"] for r in org_rows]
    rng.shuffle(codes)
    return Population(
        codes=codes,
        persons=n_persons,
        organisations=n_orgs,
        black=black,
        red=red,
        not_in_force=not_in_force,
        scores=len(scores),
    )


def _record(
    provider_id: int, sid: int, record_type: str, decided: dt.date, rng: random.Random
) -> dict[str, Any]:
    ref = f"{record_type}-{sid}-{rng.randrange(10**9)}"
    return {
        "provider_id": provider_id,
        "provider_record_id": ref,
        "version": 1,
        "subject_id": sid,
        "record_type": record_type,
        "decision_ref": f"({decided.year})沪执{sid}号",
        "decided_on": decided,
        "conduct_ended_on": None,
        "amount_fen": rng.randrange(10_000, 10_000_000),
        "account_provider_id": None,
        "account_id": None,
        "content_hash": hashlib.md5(ref.encode(), usedforsecurity=False).hexdigest(),
        "status": "active",
        "batch_id": None,
        "recorded_at": dt.datetime.combine(decided, dt.time(9, 0)),
    }


def _entry(
    sid: int, list_name: str, criterion: str, province: str, policy: Any, entered: dt.date
) -> dict[str, Any]:
    return {
        "subject_id": sid,
        "list_name": list_name,
        "status": "pending_notice",
        "criterion": criterion,
        "origin_province": province,
        "policy_id": policy.id,
        "policy_version": policy.version,
        "legal_basis": "《最高人民法院关于公布失信被执行人名单信息的若干规定》第一条",
        "record_id": None,
        "entered_on": entered,
        "notice_until": entered + dt.timedelta(days=9),
        "published_on": None,
        "planned_exit_on": entered + dt.timedelta(days=730),
        "exited_on": None,
        "exit_reason": None,
        "updated_at": dt.datetime.combine(entered, dt.time(2, 0)),
    }


def relying_party_keys(engine: Engine) -> dict[str, str]:
    """Purpose → the key of a Shanghai party registered for it."""
    keys: dict[str, str] = {}
    for name, kind, purpose in PARTIES:
        with session_scope(engine) as s:
            register_party(s, name=name, kind=kind, region="310000", purposes=[purpose])
        with engine.begin() as conn:
            keys[purpose] = create_key(
                conn, role="relying_party", label="api benchmark", relying_party=name
            )
    return keys


def audit_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def settled_audit_count(engine: Engine, timeout: float = 10.0) -> int:
    """The entry count once it has stopped moving (requests in flight have finished)."""
    deadline = time.monotonic() + timeout
    last = audit_count(engine)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = audit_count(engine)
        if now == last:
            return now
        last = now
    return last


# --- the server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def socialcredit_command() -> list[str]:
    script = Path(sys.executable).parent / "socialcredit"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from socialcredit.cli.app import main; main()"]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self) -> int | None:
        if self.process.poll() is None:
            # SIGINT is uvicorn's graceful shutdown: the lifespan end flushes the audit
            # group commit before the process exits.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(SERVER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def start_server(url: str, workdir: Path, env_extra: dict[str, str]) -> Server:
    port = free_port()
    log = workdir / "server.log"
    cmd = [
        *socialcredit_command(),
        "--database-url",
        url,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        # uvicorn skips the access log below INFO: one line per request would be
        # measured along with the API.
        "--log-level",
        "warning",
    ]
    env = {**os.environ, **env_extra}
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{server.base}/v1/health", timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    server.stop()
    raise SystemExit(f"the server did not answer within {SERVER_START_TIMEOUT:.0f} s")


def get_json(url: str, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read() or b"null")


# --- load ---------------------------------------------------------------------------------


@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    errors: int  # connect/read/write/timeouts and non-2xx answers
    non_2xx: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "req_per_s": round(self.rps, 1),
            "errors": self.errors,
            "non_2xx": self.non_2xx,
            "p50_ms": round(self.p50_ms, 2),
            "p90_ms": round(self.p90_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "server_cpu_s": round(self.server_cpu_s, 2),
            "server_cpu_us_per_request": (
                round(self.server_cpu_s / self.requests * 1e6) if self.requests else None
            ),
            **self.extra,
        }


def _lua_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=True)  # a JSON ASCII string is a Lua string too


def wrk_script(path: Path, targets: Sequence[tuple[str, str]] | None) -> None:
    """A wrk script: rotate (path, key) pairs if given, and print the summary as JSON."""
    lines = []
    if targets:
        distinct = list(dict.fromkeys(k for _, k in targets))
        lines.append("local paths = {" + ",".join(_lua_string(p) for p, _ in targets) + "}")
        lines.append("local keys = {" + ",".join(_lua_string(k) for k in distinct) + "}")
        index = {k: i + 1 for i, k in enumerate(distinct)}
        lines.append("local key_of = {" + ",".join(str(index[k]) for _, k in targets) + "}")
        lines.append(
            """
local n = #paths
local i = 0
setup = function(thread)
  thread:set("offset", math.random(0, n - 1))
end
init = function(args)
  i = offset or 0
end
request = function()
  i = i + 1
  local k = (i % n) + 1
  return wrk.format("GET", paths[k], {["Authorization"] = "Bearer " .. keys[key_of[k]]})
end
"""
        )
    lines.append(
        """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,'
    .. '"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\\n',
    "MARK", summary.requests, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
""".replace("MARK", WRK_MARK)
    )
    path.write_text("\n".join(lines), encoding="utf-8")


def run_wrk(url: str, script: Path, connections: int, threads: int, seconds: float) -> LoadResult:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((s for s in done.stdout.splitlines() if s.startswith(WRK_MARK)), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix(WRK_MARK))
    errors = data["connect"] + data["read"] + data["write"] + data["status"] + data["timeout"]
    return LoadResult(
        tool="wrk",
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=errors,
        non_2xx=data["status"],
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    """One HTTP/1.1 request on a kept-alive connection; the response's status."""
    writer.write(request)
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)  # uvicorn sends a length with every answer here
    return status


async def _python_load(
    base: str,
    targets: Sequence[tuple[str, str | None]],
    connections: int,
    seconds: float,
) -> LoadResult:
    """wrk's closed loop in asyncio: ``connections`` kept-alive connections, each sending
    its next request as soon as the previous answer is read, until the deadline. Plain
    streams rather than an HTTP client library, which would cost more CPU than the
    server it measures."""
    url = urllib.parse.urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    failures = 0
    counter = iter(range(10**12))
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal failures
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                failures += 1
                await asyncio.sleep(0.1)
                continue
            try:
                while time.monotonic() < deadline:
                    path, key = targets[next(counter) % len(targets)]
                    auth = f"Authorization: Bearer {key}\r\n" if key else ""
                    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}\r\n"
                    start = time.perf_counter()
                    status = await asyncio.wait_for(
                        _exchange(reader, writer, request.encode()), timeout=10
                    )
                    latencies.append((time.perf_counter() - start) * 1000)
                    statuses[status] = statuses.get(status, 0) + 1
            except (OSError, ValueError, IndexError, TimeoutError, asyncio.IncompleteReadError):
                failures += 1
            finally:
                writer.close()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.monotonic() - started
    non_2xx = sum(n for s, n in statuses.items() if not 200 <= s < 300)
    return LoadResult(
        tool="python-asyncio",
        requests=len(latencies),
        seconds=elapsed,
        errors=failures + non_2xx,
        non_2xx=non_2xx,
        p50_ms=_percentile(latencies, 50),
        p90_ms=_percentile(latencies, 90),
        p99_ms=_percentile(latencies, 99),
        max_ms=max(latencies, default=0.0),
    )


@dataclass
class LoadGenerator:
    """One endpoint's load, by wrk or the Python fallback, with the server's CPU time."""

    tool: str
    server: Server
    connections: int
    threads: int
    workdir: Path

    def run(
        self, name: str, path: str, targets: Sequence[tuple[str, str]] | None, seconds: float
    ) -> LoadResult:
        cpu_before = self.server.cpu_seconds()
        if self.tool == "wrk":
            script = self.workdir / f"{name}.lua"
            wrk_script(script, targets)
            result = run_wrk(
                self.server.base + path, script, self.connections, self.threads, seconds
            )
        else:
            py_targets: list[tuple[str, str | None]] = (
                [(p, k) for p, k in targets] if targets else [(path, None)]
            )
            result = asyncio.run(
                _python_load(self.server.base, py_targets, self.connections, seconds)
            )
        result.server_cpu_s = self.server.cpu_seconds() - cpu_before
        return result


# --- the run ------------------------------------------------------------------------------


def measures_targets(codes: Sequence[str], keys: dict[str, str]) -> list[tuple[str, str]]:
    """(path, key) pairs: every subject, purposes alternating between passes."""
    purposes = list(keys)
    out = []
    for i, code in enumerate(codes):
        purpose = purposes[i % len(purposes)]
        out.append((f"/v1/measures?subject={code}&purpose={purpose}", keys[purpose]))
    # A second pass with the purposes swapped, so every subject is asked for both.
    for i, code in enumerate(codes):
        purpose = purposes[(i + 1) % len(purposes)]
        out.append((f"/v1/measures?subject={code}&purpose={purpose}", keys[purpose]))
    return out


def smoke_check(server: Server, engine: Engine, keys: dict[str, str]) -> dict[str, Any]:
    """One listed subject answered with its measures, and its audit entry written."""
    with engine.connect() as conn:
        code = conn.scalar(
            select(Subject.code)
            .join(ListEntry, ListEntry.subject_id == Subject.id)
            .where(
                ListEntry.status == "published",
                ListEntry.list_name == "black",
                Subject.kind == "person",
            )
            .limit(1)
        )
    before = audit_count(engine)
    purpose = "transport_ticketing"
    status, body = get_json(
        f"{server.base}/v1/measures?subject={code}&purpose={purpose}",
        {"Authorization": f"Bearer {keys[purpose]}"},
    )
    after = audit_count(engine)
    if status != 200 or not body.get("measures") or after != before + 1:
        raise SystemExit(f"smoke check failed: {status} {body} (audit {before} → {after})")
    return {"status": status, "measures": [m["id"] for m in body["measures"]]}


def audit_verify(url: str) -> dict[str, Any]:
    started = time.monotonic()
    done = subprocess.run(
        [*socialcredit_command(), "--database-url", url, "audit", "verify", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    seconds = time.monotonic() - started
    try:
        data: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        data = {"ok": False, "output": (done.stdout + done.stderr)[-2000:]}
    return {
        "ok": bool(data.get("ok")) and done.returncode == 0,
        "exit_code": done.returncode,
        "entries": data.get("count"),
        "seconds": round(seconds, 2),
    }


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in (
        "socialcredit",
        "fastapi",
        "starlette",
        "uvicorn",
        "pydantic",
        "sqlalchemy",
        "psycopg",
        "anyio",
        "httptools",
        "uvloop",
    ):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    try:
        first = subprocess.run(
            ["wrk", "--version"], capture_output=True, text=True, timeout=10, check=False
        )
        banner = (first.stdout or first.stderr).split("[")[0].strip()
        out["wrk"] = banner.removeprefix("wrk").strip() or None
    except OSError:
        out["wrk"] = None
    return out


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores_logical": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": cpu,
        "os": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    health_rps = [r["health"]["req_per_s"] for r in rounds]
    measures_rps = [r["measures"]["req_per_s"] for r in rounds]
    ratios = [r["ratio"] for r in rounds]
    p99 = [r["measures"]["p99_ms"] for r in rounds]
    cpu_health = [r["health"]["server_cpu_us_per_request"] or 0 for r in rounds]
    cpu_measures = [r["measures"]["server_cpu_us_per_request"] or 0 for r in rounds]
    return {
        "health_req_per_s": _spread(health_rps),
        "measures_req_per_s": _spread(measures_rps),
        "ratio": _spread(ratios),
        "health_p50_ms": _spread([r["health"]["p50_ms"] for r in rounds]),
        "health_p99_ms": _spread([r["health"]["p99_ms"] for r in rounds]),
        "measures_p50_ms": _spread([r["measures"]["p50_ms"] for r in rounds]),
        "measures_p99_ms": _spread(p99),
        "server_cpu_us_per_request": {
            "health": _spread(cpu_health),
            "measures": _spread(cpu_measures),
        },
        "cpu_ratio": _spread(
            [h / m if m else 0.0 for h, m in zip(cpu_health, cpu_measures, strict=True)]
        ),
    }


def verdicts(summary: dict[str, Any], rounds: list[dict[str, Any]]) -> dict[str, Any]:
    ratio = summary["ratio"]["median"]
    p99 = summary["measures_p99_ms"]["median"]
    return {
        "ratio_target": TARGET_RATIO,
        "ratio_met": ratio >= TARGET_RATIO,
        "p99_target_ms": TARGET_P99_MS,
        "p99_met": p99 <= TARGET_P99_MS,
        "audit_complete": all(r["audit"]["consistent"] for r in rounds),
        "judged_on": "median over rounds",
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    today = dt.date.today()
    tool = args.load_generator
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    elif tool == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed; use --load-generator python")
    started = time.monotonic()
    result: dict[str, Any] = {
        "store": args.store,
        "label": args.label,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "config": {
            "subjects": args.subjects,
            "connections": args.connections,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "load_generator": tool,
            "wrk_threads": args.threads if tool == "wrk" else None,
            "seed": args.seed,
            "legal_rep_index": args.legal_rep_index,
            "key_cache_seconds": os.environ.get("SOCIALCREDIT_API_KEY_CACHE_SECONDS", "default"),
        },
    }
    with (
        fresh_store(args.store, args.pg_admin_url, args.keep) as (url, engine),
        tempfile.TemporaryDirectory(prefix="socialcredit-api-bench-") as tmp,
    ):
        workdir = Path(tmp)
        t0 = time.monotonic()
        init_store(engine)
        if args.legal_rep_index:
            with engine.begin() as conn:
                sql = f"CREATE INDEX IF NOT EXISTS {LEGAL_REP_INDEX} ON subjects (legal_rep_id)"
                conn.execute(text(sql))
        population = populate(engine, args.subjects, args.seed, today)
        keys = relying_party_keys(engine)
        result["population"] = {
            "persons": population.persons,
            "organisations": population.organisations,
            "published_black_entries": population.black,
            "published_red_entries": population.red,
            "entries_not_in_force": population.not_in_force,
            "scores_today": population.scores,
            "seconds_to_build": round(time.monotonic() - t0, 1),
        }
        print(f"store built: {result['population']}", file=sys.stderr)
        targets = measures_targets(population.codes, keys)
        server = start_server(url, workdir, {})
        try:
            result["smoke_check"] = smoke_check(server, engine, keys)
            load = LoadGenerator(tool, server, args.connections, args.threads, workdir)
            rounds: list[dict[str, Any]] = []
            for n in range(1, args.rounds + 1):
                if args.warmup > 0:
                    load.run("warm-health", "/v1/health", None, args.warmup)
                health = load.run("health", "/v1/health", None, args.duration)
                if args.warmup > 0:
                    load.run("warm-measures", "/v1/measures", targets, args.warmup)
                before = settled_audit_count(engine)
                measures = load.run("measures", "/v1/measures", targets, args.duration)
                after = settled_audit_count(engine)
                written = after - before
                surplus = written - measures.requests
                entry: dict[str, Any] = {
                    "round": n,
                    "load_average": [round(x, 2) for x in os.getloadavg()],
                    "health": health.as_dict(),
                    "measures": measures.as_dict(),
                    "ratio": round(measures.rps / health.rps, 3) if health.rps else 0.0,
                    "audit": {
                        "entries_written": written,
                        "requests_answered": measures.requests,
                        # Requests the server finished after wrk stopped reading.
                        "entries_minus_answers": surplus,
                        "consistent": 0 <= surplus <= args.connections,
                    },
                }
                rounds.append(entry)
                print(
                    f"round {n}: health {health.rps:,.0f} req/s p99 {health.p99_ms:.1f} ms; "
                    f"measures {measures.rps:,.0f} req/s p50 {measures.p50_ms:.1f} ms "
                    f"p99 {measures.p99_ms:.1f} ms; ratio {entry['ratio']:.2f}; "
                    f"cpu/request {entry['health']['server_cpu_us_per_request']} µs vs "
                    f"{entry['measures']['server_cpu_us_per_request']} µs; audit +{written} "
                    f"for {measures.requests} answered",
                    file=sys.stderr,
                )
        finally:
            exit_code = server.stop()
        result["server_exit_code"] = exit_code
        result["rounds"] = rounds
        result["summary"] = summarise(rounds)
        result["audit_verify"] = audit_verify(url)
        result["targets"] = verdicts(result["summary"], rounds)
        result["targets"]["audit_verified"] = result["audit_verify"]["ok"]
    result["seconds_total"] = round(time.monotonic() - started, 1)
    result["notes"] = list(args.note)
    return result


# --- reporting ----------------------------------------------------------------------------


def _yes(ok: bool) -> str:
    return "met" if ok else "**not met**"


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# API benchmark: measures query vs. a trivial endpoint",
        "",
        "Produced by `benchmarks/api.py`; see its docstring for the method. One uvicorn",
        "process (`socialcredit serve`) on loopback; the load generator runs on the same",
        "machine and competes with it for the CPU. Numbers are medians over rounds, with",
        "the range in brackets; the machine is shared, so repeat before comparing.",
        "",
        f"Targets: measures ≥ {TARGET_RATIO} × health's throughput; measures p99 ≤ "
        f"{TARGET_P99_MS:g} ms at the configured connections.",
    ]
    # "_notes": findings that hold for every run, kept in the JSON beside the runs.
    general: list[str] = results.get("_notes", [])
    if general:
        lines += ["", "## Findings", "", *general]
    for key in sorted(k for k in results if not k.startswith("_")):
        r = results[key]
        s = r["summary"]
        t = r["targets"]
        c = r["config"]
        m = r["machine"]
        v = r["versions"]
        p = r["population"]

        def rng(d: dict[str, float], unit: str = "", places: int = 1) -> str:
            f = f",.{places}f"
            return f"{d['median']:{f}}{unit} [{d['min']:{f}}–{d['max']:{f}}]"

        lines += [
            "",
            f"## {key}",
            "",
            f"Run {r['date']}: {c['subjects']:,} subjects ({p['persons']:,} persons, "
            f"{p['organisations']:,} organisations; {p['published_black_entries']:,} published "
            f"black-list and {p['published_red_entries']:,} red-list entries, "
            f"{p['entries_not_in_force']:,} not in force; today's score for everyone), "
            + (
                f"index {LEGAL_REP_INDEX} added; "
                if c.get("legal_rep_index")
                else "shipped schema (no index on subjects.legal_rep_id); "
            )
            + f"{c['connections']} connections, {c['rounds']} rounds of {c['duration_s']} s "
            f"per endpoint after {c['warmup_s']} s warm-up, load by {c['load_generator']}"
            + (f" ({c['wrk_threads']} thread)" if c.get("wrk_threads") else "")
            + ".",
            "",
            f"Machine: {m['cpu']}, {m['cores_logical']} logical cores, {m['ram_gib']} GiB; "
            f"load average at start {m['load_average_at_start']}.",
            "",
            "Versions: "
            + ", ".join(f"{name} {ver}" for name, ver in v.items() if ver is not None)
            + (
                "; not installed: " + ", ".join(n for n, ver in v.items() if ver is None)
                if any(ver is None for ver in v.values())
                else ""
            )
            + ".",
            "",
            "| | health | measures |",
            "| --- | --- | --- |",
            f"| req/s | {rng(s['health_req_per_s'], places=0)} | "
            f"{rng(s['measures_req_per_s'], places=0)} |",
            f"| p50 | {rng(s['health_p50_ms'], ' ms')} | {rng(s['measures_p50_ms'], ' ms')} |",
            f"| p99 | {rng(s['health_p99_ms'], ' ms')} | {rng(s['measures_p99_ms'], ' ms')} |",
            "| server CPU per request | "
            f"{rng(s['server_cpu_us_per_request']['health'], ' µs', 0)} | "
            f"{rng(s['server_cpu_us_per_request']['measures'], ' µs', 0)} |",
            "",
            f"- Throughput ratio measures/health: {rng(s['ratio'], places=2)} — "
            f"target ≥ {TARGET_RATIO}: {_yes(t['ratio_met'])}. "
            f"(Ratio of CPU per request, health/measures: {rng(s['cpu_ratio'], places=2)}.)",
            f"- Measures p99: {rng(s['measures_p99_ms'], ' ms')} — target ≤ {TARGET_P99_MS:g} ms: "
            f"{_yes(t['p99_met'])}.",
            "- Audit: "
            + "; ".join(
                f"round {x['round']} wrote {x['audit']['entries_written']:,} entries for "
                f"{x['audit']['requests_answered']:,} answers"
                for x in r["rounds"]
            )
            + f" — {'every answer has its entry' if t['audit_complete'] else '**mismatch**'}; "
            f"`audit verify`: {'intact' if r['audit_verify']['ok'] else '**FAILED**'}, "
            f"{r['audit_verify']['entries']} entries, {r['audit_verify']['seconds']} s.",
            "",
            "| round | load avg | health req/s | measures req/s | ratio | measures p50 | "
            "measures p99 | errors |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for x in r["rounds"]:
            h, q = x["health"], x["measures"]
            lines.append(
                f"| {x['round']} | {x['load_average'][0]} | {h['req_per_s']:,.0f} | "
                f"{q['req_per_s']:,.0f} | {x['ratio']:.2f} | {q['p50_ms']:.1f} ms | "
                f"{q['p99_ms']:.1f} ms | {h['errors'] + q['errors']} |"
            )
        if r.get("notes"):
            lines += ["", *r["notes"]]
    return "\n".join(lines) + "\n"


def save(result: dict[str, Any], out: Path) -> None:
    """Merge this run into ``out`` under its store (and label), then rewrite the Markdown."""
    out.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    if out.is_file():
        try:
            results = json.loads(out.read_text("utf-8"))
        except json.JSONDecodeError:
            results = {}
    label = result["label"] or (LEGAL_REP_INDEX if result["config"]["legal_rep_index"] else "")
    key = result["store"] + (f" ({label})" if label else "")
    results[key] = result
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(markdown(results), encoding="utf-8")


def positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(value: str) -> Any:
        number = kind(value.replace(",", "").replace("_", ""))
        if number <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {value}")
        return number

    return parse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--subjects", type=positive(int), default=20_000)
    parser.add_argument("--connections", type=positive(int), default=64)
    parser.add_argument("--duration", type=positive(float), default=20.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before each run")
    parser.add_argument("--rounds", type=positive(int), default=3, help="health+measures pairs")
    parser.add_argument("--threads", type=positive(int), default=1, help="wrk threads")
    parser.add_argument(
        "--load-generator", choices=("auto", "wrk", "python"), default="auto", dest="load_generator"
    )
    parser.add_argument("--seed", type=int, default=4_2026)
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get(
            "SOCIALCREDIT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL database to create the benchmark's database from",
    )
    parser.add_argument(
        "--legal-rep-index",
        action="store_true",
        dest="legal_rep_index",
        help=f"create {LEGAL_REP_INDEX} if missing (shipped since migration 0005)",
    )
    parser.add_argument("--label", default="", help="kept apart from other runs of the store")
    parser.add_argument(
        "--note", action="append", default=[], help="a line for the Markdown under this run"
    )
    parser.add_argument("--keep", action="store_true", help="keep the store afterwards")
    parser.add_argument("--out", type=Path, default=RESULTS / "api.json")
    parser.add_argument("--no-save", action="store_true", help="print the result only")
    args = parser.parse_args(argv)
    result = run(args)
    if args.no_save:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        save(result, args.out)
        print(f"wrote {args.out} and {args.out.with_suffix('.md')}", file=sys.stderr)
    t = result["targets"]
    print(
        f"ratio {result['summary']['ratio']['median']} ({_yes(t['ratio_met'])}), "
        f"p99 {result['summary']['measures_p99_ms']['median']} ms ({_yes(t['p99_met'])}), "
        f"audit {'complete' if t['audit_complete'] else 'MISMATCH'}, "
        f"verify {'ok' if t['audit_verified'] else 'FAILED'}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
