"""The pilot demo: a fresh store filled through the real registry and ingestion paths.

Nothing here writes to the store directly: providers, persons, organisations,
account links and professional profiles go through the registry functions, and
every feed through ``import_feed``, exactly as an operator's commands would.
Registrations are batched a few thousand to a transaction for speed.
"""

from __future__ import annotations

import datetime as dt
import json
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


# --- due process (issue #5): cases a newcomer can look at -----------------------------------


@dataclass
class CaseworkDemo:
    """What ``add_casework`` left in the pilot, by case number."""

    open_objections: list[int] = field(default_factory=list)
    overdue_objections: list[int] = field(default_factory=list)
    decided_objections: list[int] = field(default_factory=list)
    repaired: list[int] = field(default_factory=list)  # approved repair applications
    annulments: list[int] = field(default_factory=list)
    notifications: int = 0
    maintained_through: str | None = None
    skipped: list[str] = field(default_factory=list)  # what the pilot had no record for

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def add_casework(engine: Engine, today: dt.date | None = None) -> CaseworkDemo:
    """Give the pilot open, overdue and decided objections, a repaired record and an
    annulled decision whose relying parties and subject are notified, then run the daily
    job for today (which escalates the overdue cases).

    Runs after ``create_sample_access``: the sample relying parties ask about the subject
    whose decision is then annulled, so the annulment has someone to tell. Every step
    goes through the casework services, dated in working days back from today as a
    caseworker would have done it, and is audited like any other.
    """
    # Imported here: casework pulls in lists and scoring, which the generator never needs.
    from socialcredit.audit import append
    from socialcredit.casework import annulments, maintenance, objections, repair
    from socialcredit.casework.calendar import add_working_days
    from socialcredit.casework.common import Actor, CaseworkError
    from socialcredit.db.models import (
        ApiKey,
        ListEntry,
        Record,
        RecordType,
        RelyingParty,
    )
    from socialcredit.identity.ids import compact
    from socialcredit.measures.question import measures_for_code
    from socialcredit.scoring.dates import add_months

    today = today or dt.date.today()
    out = CaseworkDemo()
    caseworker = Actor("demo caseworker 李静", "caseworker")
    used: set[int] = set()  # one case per subject, so each file tells one story

    def back(n: int) -> dt.date:
        return add_working_days(today, -n)

    with engine.connect() as conn:
        # Current negative records of persons, oldest subjects first (deterministic).
        rows = conn.execute(
            select(
                Record.id,
                Record.subject_id,
                Record.provider_id,
                Record.provider_record_id,
                Record.record_type,
                Record.decided_on,
                RecordType.repairable,
                RecordType.min_window_months,
            )
            .join(RecordType, RecordType.code == Record.record_type)
            .join(Subject, Subject.id == Record.subject_id)
            .where(
                Record.status == "active",
                RecordType.polarity == "negative",
                Subject.kind == "person",
                Record.decided_on <= today,
            )
            .order_by(Record.subject_id, Record.id)
        ).all()
        listed = set(
            conn.scalars(
                select(ListEntry.record_id).where(
                    ListEntry.list_name == "black", ListEntry.status.in_(("published",))
                )
            )
        )

    def pick(test: Callable[[Any], bool]) -> Any | None:
        for r in rows:
            if r.subject_id not in used and test(r):
                used.add(r.subject_id)
                return r
        return None

    def provider_actor(r: Any) -> Actor:
        return Actor(f"demo provider {r.provider_id}", "provider", provider_id=r.provider_id)

    # An annulled decision: a listed court debtor, asked about by both sample parties, whose
    # court then annuls the listing on performance.
    debtor = pick(lambda r: r.id in listed and r.record_type == "court.dishonest_debtor") or pick(
        lambda r: r.id in listed
    )
    if debtor is None:
        out.skipped.append("annulment: no published black-list entry in the pilot")
    else:
        with engine.begin() as conn:
            code = conn.scalar(select(Subject.code).where(Subject.id == debtor.subject_id))
            parties = conn.execute(
                select(
                    RelyingParty.id, RelyingParty.region_code, RelyingParty.purposes, ApiKey.prefix
                )
                .join(ApiKey, ApiKey.relying_party_id == RelyingParty.id)
                .order_by(RelyingParty.id)
            ).all()
            for _pid, region, purposes, prefix in parties:
                purpose = json.loads(purposes)[0]
                # What the measures route does for a relying party: answer, then audit.
                found = measures_for_code(
                    conn, compact(str(code)), purpose=purpose, as_of=back(3), region=region
                )
                append(
                    conn,
                    actor=prefix,
                    role="relying_party",
                    action="measures.query",
                    outcome="ok" if found else "unknown_subject",
                    purpose=purpose,
                    subject_id=debtor.subject_id,
                    detail={"demo": True},
                )
        annulled = annulments.annul_record(
            engine,
            actor=provider_actor(debtor),
            provider=debtor.provider_id,
            provider_record_id=debtor.provider_record_id,
            reason="被执行人已全部履行生效法律文书确定的义务",
            decision_ref=f"（{today.year}）执恢字第{debtor.id % 10000:04d}号结案通知书",
            on=today,
        )
        out.annulments.append(annulled.id)
        out.notifications += annulled.notified

    # A repaired record: repairable, negative, past its minimum window; a listed one if
    # there is one, so the subject is seen leaving the black list.
    def repairable(r: Any) -> bool:
        return bool(r.repairable) and add_months(r.decided_on, r.min_window_months) <= back(2)

    fixed = pick(lambda r: repairable(r) and r.id in listed) or pick(repairable)
    if fixed is None:
        out.skipped.append("repair: no record past its minimum window")
    else:
        app = repair.apply_for_repair(
            engine,
            actor=Actor(f"demo subject {fixed.subject_id}", "subject", subject_id=fixed.subject_id),
            record_id=fixed.id,
            obligations=["行政处罚决定书确定的罚款已全部缴清", "已完成信用修复培训并取得结业证明"],
            commitment="本人郑重承诺：今后诚实守信，严格遵守相关法律法规，如有违反，自愿接受相应惩戒。",
            on=back(2),
        )
        repair.decide_repair(
            engine,
            actor=caseworker,
            application_id=app.id,
            approve=True,
            reason="已核验缴款凭证、培训证明及信用承诺书，符合信用修复条件",
            on=today,
        )
        out.repaired.append(app.id)

    # Objections in every state. (filed days ago, steps taken, outcome)
    plans: list[tuple[int, int, str | None, str]] = [
        (0, 0, None, "open"),  # filed today
        (1, 1, None, "open"),  # flagged, forward due tomorrow
        (6, 0, None, "overdue"),  # never flagged: 5 working days late
        (12, 2, None, "overdue"),  # forwarded, the provider never answered
        (4, 2, "upheld", "decided"),
        (4, 2, "deleted", "decided"),
    ]
    reasons = [
        "处罚决定所载车牌号与本人车辆不符，当日车辆停放于单位停车场",
        "该笔欠款已于判决前清偿，有银行回单为证",
        "本人从未在该公司任职，系身份证被冒用",
        "处罚金额与决定书原件不一致",
        "违法行为发生时本人在外地出差，有行程记录",
        "该案已撤销立案，信息提供单位未及时更新",
    ]
    for (filed_ago, steps, outcome, kind), why in zip(plans, reasons, strict=True):
        r = pick(lambda _r: True)
        if r is None:
            out.skipped.append(f"objection ({kind}): no more subjects with records")
            continue
        filed = back(filed_ago)
        try:
            view = objections.file_objection(
                engine,
                actor=Actor(f"demo subject {r.subject_id}", "subject", subject_id=r.subject_id),
                record_id=r.id,
                reason=why,
                on=filed,
            )
            if steps >= 1:
                objections.flag_objection(engine, actor=caseworker, objection_id=view.id, on=filed)
            if steps >= 2:
                objections.forward_objection(
                    engine, actor=caseworker, objection_id=view.id, on=back(filed_ago - 1)
                )
            if outcome is not None:
                objections.decide_objection(
                    engine,
                    actor=provider_actor(r),
                    objection_id=view.id,
                    outcome=outcome,
                    reason="经调阅原始执法记录核实，记录无误"
                    if outcome == "upheld"
                    else "经核查，该记录系录入错误，予以删除",
                    on=today,
                )
        except CaseworkError as exc:  # the pilot's data should never get here
            out.skipped.append(f"objection ({kind}): {exc.code}: {exc.message}")
            continue
        {"open": out.open_objections, "overdue": out.overdue_objections}.get(
            kind, out.decided_objections
        ).append(view.id)

    # The daily job for today: the overdue cases are escalated, and any annulment in the
    # generated feeds has had its cascade.
    done = maintenance.maintain(engine, as_of=today)
    out.maintained_through = today.isoformat() if done.days else None
    with engine.connect() as conn:
        out.notifications = len(annulments.list_notifications(conn))
    return out
