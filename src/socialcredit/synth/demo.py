"""The pilot demo: a fresh store filled through the real registry and ingestion paths.

Nothing here writes to the store directly: providers, persons, organisations,
account links and professional profiles go through the registry functions, and
every feed through ``import_feed``, exactly as an operator's commands would.
Registrations are batched a few thousand to a transaction for speed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from socialcredit.db.engine import session_scope
from socialcredit.db.models import Subject
from socialcredit.db.setup import init_store
from socialcredit.identity.regions import YRD_PROVINCES
from socialcredit.identity.registry import (
    RegistryError,
    link_account,
    register_organisation,
    register_person,
    register_profession,
)
from socialcredit.records.ingest import FeedRefusedError, import_feed
from socialcredit.records.providers import ProviderError, add_provider
from socialcredit.synth.generator import SUBJECT_FILES, generate, read_providers

DEFAULT_PERSONS = 20_000
DEFAULT_ORGS = 2_000
DEFAULT_SEED = 20260401
BATCH = 2_000  # registrations per transaction

# (stage label, done so far, total); the CLI turns it into progress bars.
Progress = Callable[[str, int, int], None]


@dataclass
class FeedOutcome:
    provider: str
    file: str
    fmt: str
    encoding: str | None
    rows: int
    malformed: int  # rows the generator made defective on purpose
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejects_file: str | None = None
    refused: str | None = None  # why the whole file was refused, if it was
    top_reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class DemoSummary:
    database_url: str
    data_dir: Path
    seconds: float = 0.0
    registered: dict[str, int] = field(default_factory=dict)
    registry_refusals: Counter[str] = field(default_factory=Counter)
    refusal_examples: list[str] = field(default_factory=list)
    subjects_by_province: dict[str, dict[str, int]] = field(default_factory=dict)
    feeds: list[FeedOutcome] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        keys = ("rows", "malformed", "accepted", "duplicates", "rejected")
        return {k: sum(getattr(f, k) for f in self.feeds) for k in keys}

    def top_reasons(self, n: int = 8) -> list[tuple[str, int]]:
        counts: Counter[str] = Counter()
        for f in self.feeds:
            counts.update(f.top_reasons)
        return counts.most_common(n)

    def as_json(self) -> dict[str, Any]:
        return {
            "database_url": self.database_url,
            "data_dir": str(self.data_dir),
            "seconds": round(self.seconds, 1),
            "registered": self.registered,
            "registry_refusals": dict(self.registry_refusals),
            "refusal_examples": self.refusal_examples,
            "subjects_by_province": self.subjects_by_province,
            "totals": self.totals(),
            "top_reject_reasons": dict(self.top_reasons()),
            "feeds": [f.__dict__ for f in self.feeds],
        }


def build_pilot(
    engine: Engine,
    work_dir: Path,
    *,
    persons: int = DEFAULT_PERSONS,
    orgs: int = DEFAULT_ORGS,
    seed: int = DEFAULT_SEED,
    today: dt.date | None = None,
    records_per_subject: float = 5.0,
    progress: Progress | None = None,
) -> DemoSummary:
    """Initialise the (empty) store behind ``engine`` and fill it with a generated pilot."""
    started = time.monotonic()
    today = today or dt.date.today()
    report = progress or _quiet
    data_dir = work_dir / "data"
    summary = DemoSummary(database_url=engine.url.render_as_string(), data_dir=data_dir)
    init_store(engine)
    generated = generate(
        data_dir,
        persons=persons,
        orgs=orgs,
        seed=seed,
        today=today,
        records_per_subject=records_per_subject,
        progress=lambda done, total: report("Generating data", done, total),
    )
    providers = read_providers(data_dir)
    with session_scope(engine) as session:
        for p in providers:
            add_provider(
                session,
                name=p.name,
                kind=p.kind,
                region_code=p.region_code,
                record_types=list(p.record_types),
            )
    summary.registered["providers"] = len(providers)
    _register_all(engine, data_dir, today, summary, report)
    summary.subjects_by_province = _subjects_by_province(engine)

    malformed = {f.file: sum(f.malformed.values()) for f in generated.feeds}
    rejects_dir = work_dir / "rejects"
    rejects_dir.mkdir(parents=True, exist_ok=True)
    total_rows = generated.rows
    done = 0
    report("Importing feeds", 0, total_rows)
    for spec in providers:
        if spec.feed_file is None or spec.fmt is None:
            continue
        info = next(f for f in generated.feeds if f.file == spec.feed_file)
        outcome = FeedOutcome(
            provider=spec.name,
            file=spec.feed_file,
            fmt=spec.fmt,
            encoding=spec.encoding,
            rows=info.rows,
            malformed=malformed[spec.feed_file],
        )
        summary.feeds.append(outcome)
        if info.rows == 0:
            continue

        def advance(n: int) -> None:
            nonlocal done
            done += n
            report("Importing feeds", done, total_rows)

        path = data_dir / spec.feed_file
        try:
            # Encoding left to detection, as an operator would: GB18030 files must be recognised.
            result = import_feed(
                engine,
                path,
                provider=spec.name,
                fmt=spec.fmt,
                rejects_path=rejects_dir / f"{path.stem}.rejects.csv",
                on_progress=advance,
            )
        except FeedRefusedError as exc:
            outcome.refused = str(exc)
            continue
        outcome.accepted = result.accepted
        outcome.duplicates = result.duplicates
        outcome.rejected = result.rejected
        outcome.rejects_file = result.rejects_file
        outcome.top_reasons = dict(result.top_reasons)
    report("Importing feeds", total_rows, total_rows)
    summary.seconds = time.monotonic() - started
    return summary


def _quiet(_stage: str, _done: int, _total: int) -> None:
    pass


def _batches(path: Path, size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=size):
        yield batch.to_pylist()


def _register_all(
    engine: Engine, data_dir: Path, today: dt.date, summary: DemoSummary, report: Progress
) -> None:
    def person(s: Session, r: dict[str, Any]) -> None:
        register_person(s, number=r["id_number"], name=r["name"])

    def organisation(s: Session, r: dict[str, Any]) -> None:
        register_organisation(s, code=r["uscc"], name=r["name"], legal_rep=r["legal_rep_id"])

    def account(s: Session, r: dict[str, Any]) -> None:
        link_account(
            s,
            provider=r["provider"],
            account_id=r["account_id"],
            number=r["id_number"],
            name=r["name"],
        )

    def profession(s: Session, r: dict[str, Any]) -> None:
        register_profession(
            s,
            number=r["id_number"],
            profession=r["profession"],
            licence_no=r["licence_no"],
            employer=r["employer_uscc"],
            on=today,
        )

    steps: tuple[tuple[str, str, Callable[[Session, dict[str, Any]], None]], ...] = (
        ("persons", "Registering persons", person),
        ("organisations", "Registering organisations", organisation),
        ("accounts", "Linking accounts", account),
        ("professions", "Professional profiles", profession),
    )
    for key, label, register in steps:
        path = data_dir / SUBJECT_FILES[key][0]
        total = pq.ParquetFile(path).metadata.num_rows
        done = ok = 0
        report(label, 0, total)
        for rows in _batches(path):
            with session_scope(engine) as session:
                for r in rows:
                    try:
                        register(session, r)
                        ok += 1
                    except (RegistryError, ProviderError) as exc:
                        # Generated data should all register; count what did not, and go on.
                        summary.registry_refusals[key] += 1
                        if len(summary.refusal_examples) < 5:
                            summary.refusal_examples.append(f"{key}: {exc}")
            done += len(rows)
            report(label, done, total)
        summary.registered[key] = ok


def _subjects_by_province(engine: Engine) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {
        code: {"person": 0, "organisation": 0} for code in YRD_PROVINCES
    }
    with session_scope(engine) as session:
        rows = session.execute(
            select(Subject.province_code, Subject.kind, func.count()).group_by(
                Subject.province_code, Subject.kind
            )
        )
        for province, kind, count in rows:
            out.setdefault(province, {"person": 0, "organisation": 0})[kind] = count
    return out
