"""Scores in the store: in-process rescoring, history, and bulk write-back.

In-process rescoring reads the store directly with the same as-of rules the
snapshot executors apply, so a subject's stored score after a feed equals what
a population rescore would give.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine, delete, insert, select, text
from sqlalchemy.orm import Session

from socialcredit.db.models import (
    ProfessionalProfile,
    Record,
    RecordStatusEvent,
    RescoreQueue,
    Score,
    Subject,
    utcnow,
)
from socialcredit.policy import ResolvedPolicy, load_policies, select_policy
from socialcredit.scoring.catalogue_view import catalogue_view
from socialcredit.scoring.dates import cutoff
from socialcredit.scoring.evaluator import evaluate
from socialcredit.scoring.facts import RecordFact, SubjectFacts
from socialcredit.scoring.results import ScoreResult

_BATCH = 500


def load_facts(conn: Connection, subject_ids: Sequence[int], as_of: dt.date) -> list[SubjectFacts]:
    """Facts for a batch of subjects, cut at the end of ``as_of``."""
    limit = cutoff(as_of)
    ids = list(subject_ids)
    subjects = conn.execute(
        select(Subject.id, Subject.province_code).where(Subject.id.in_(ids))
    ).all()
    professions: dict[int, set[str]] = defaultdict(set)
    for sid, prof in conn.execute(
        select(ProfessionalProfile.subject_id, ProfessionalProfile.profession).where(
            ProfessionalProfile.subject_id.in_(ids), ProfessionalProfile.registered_at < limit
        )
    ):
        professions[sid].add(prof)
    rows = conn.execute(
        select(
            Record.id,
            Record.subject_id,
            Record.provider_id,
            Record.provider_record_id,
            Record.record_type,
            Record.decided_on,
            Record.conduct_ended_on,
            Record.amount_fen,
        ).where(Record.subject_id.in_(ids), Record.recorded_at < limit)
    ).all()
    status: dict[int, tuple[dt.datetime, int, str]] = {}
    record_ids = [r[0] for r in rows]
    for start in range(0, len(record_ids), 5000):
        events = conn.execute(
            select(
                RecordStatusEvent.record_id,
                RecordStatusEvent.id,
                RecordStatusEvent.status,
                RecordStatusEvent.recorded_at,
            ).where(
                RecordStatusEvent.record_id.in_(record_ids[start : start + 5000]),
                RecordStatusEvent.recorded_at < limit,
            )
        )
        for rid, eid, st, at in events:
            current = status.get(rid)
            if current is None or (at, eid) > current[:2]:
                status[rid] = (at, eid, st)
    records: dict[int, list[RecordFact]] = defaultdict(list)
    for rid, sid, pid, prid, rtype, decided, ended, amount in rows:
        records[sid].append(
            RecordFact(
                record_id=rid,
                provider_id=pid,
                provider_record_id=prid,
                record_type=rtype,
                decided_on=decided,
                conduct_ended_on=ended,
                amount_fen=amount,
                status=status[rid][2] if rid in status else "active",
            )
        )
    return [
        SubjectFacts(
            subject_id=sid,
            province_code=province,
            professions=frozenset(professions.get(sid, ())),
            records=tuple(records.get(sid, ())),
        )
        for sid, province in subjects
    ]


def compute(
    conn: Connection,
    subject_ids: Sequence[int],
    as_of: dt.date,
    policies: Sequence[ResolvedPolicy] | None = None,
) -> list[ScoreResult]:
    policies = policies or load_policies()
    catalogue = catalogue_view()
    out = []
    for facts in load_facts(conn, subject_ids, as_of):
        policy = select_policy(policies, facts.province_code, as_of)
        out.append(evaluate(facts, policy, as_of, catalogue))
    return out


def _score_rows(
    results: Iterable[ScoreResult], engine_name: str, at: dt.datetime
) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        row = r.to_row()
        row.update(engine=engine_name, computed_at=at)
        rows.append(row)
    return rows


def rescore_subjects(
    engine: Engine,
    subject_ids: Iterable[int],
    *,
    as_of: dt.date | None = None,
    policies: Sequence[ResolvedPolicy] | None = None,
) -> int:
    """Score the subjects in process and store the results (one transaction per batch)."""
    as_of = as_of or dt.date.today()
    ids = sorted(set(subject_ids))
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        with engine.begin() as conn:
            results = compute(conn, batch, as_of, policies)
            if results:
                conn.execute(insert(Score), _score_rows(results, "python", utcnow()))
            conn.execute(delete(RescoreQueue).where(RescoreQueue.subject_id.in_(batch)))
    return len(ids)


def drain_queue(
    engine: Engine,
    *,
    as_of: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rescore every subject waiting in the queue; returns how many."""
    done = 0
    policies = load_policies()
    while True:
        with engine.connect() as conn:
            ids = list(conn.scalars(select(RescoreQueue.subject_id).limit(_BATCH * 10)))
        if not ids:
            return done
        for start in range(0, len(ids), _BATCH):
            part = ids[start : start + _BATCH]
            # Lists move with scores: the same facts decide both. Imported here because
            # the lists package builds on this module.
            from socialcredit.lists import rescore_and_list

            rescore_and_list(engine, part, as_of=as_of, policies=policies)
            done += len(part)
            if progress is not None:
                progress(len(part))


def queue_size(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT count(*) FROM rescore_queue")) or 0)


def write_back(
    engine: Engine, results: Path, *, engine_name: str, snapshot_taken: dt.datetime | None = None
) -> int:
    """Load an executor's Parquet results into the score history in bulk.

    With ``snapshot_taken``, subjects queued before the snapshot was exported leave the
    rescore queue: the results include their changes. Later entries stay queued.

    ``contributions`` is stored as the file has it: null from a population rescore, which
    asks its executor for the reasons only (``contributions=False``).
    """
    at = utcnow()
    n = 0
    pf = pq.ParquetFile(results)
    postgres = engine.dialect.name == "postgresql"
    cols = (
        "subject_id",
        "as_of",
        "computed_at",
        "engine",
        "policy_id",
        "policy_version",
        "score",
        "grade",
        "reasons",
        "contributions",
    )
    with engine.begin() as conn:
        for batch in pf.iter_batches(batch_size=50_000):
            data = batch.to_pydict()
            rows = [
                (s, a, at, engine_name, pid, pv, sc, g, r, c)
                for s, a, pid, pv, sc, g, r, c in zip(
                    data["subject_id"],
                    data["as_of"],
                    data["policy_id"],
                    data["policy_version"],
                    data["score"],
                    data["grade"],
                    data["reasons"],
                    data["contributions"],
                    strict=True,
                )
            ]
            n += len(rows)
            driver: Any = conn.connection.driver_connection
            if postgres:
                with (
                    driver.cursor() as cur,
                    cur.copy(f"COPY scores ({', '.join(cols)}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
            else:
                stamp = at.strftime("%Y-%m-%d %H:%M:%S.%f")
                driver.executemany(
                    f"INSERT INTO scores ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [(r[0], r[1].isoformat(), stamp, *r[3:]) for r in rows],
                )
        if snapshot_taken is not None:
            conn.execute(delete(RescoreQueue).where(RescoreQueue.enqueued_at < snapshot_taken))
    return n


def latest_score(session: Session, subject_id: int, as_of: dt.date) -> Score | None:
    """The newest stored answer for exactly this as-of date."""
    return session.scalars(
        select(Score)
        .where(Score.subject_id == subject_id, Score.as_of == as_of)
        .order_by(Score.computed_at.desc(), Score.id.desc())
        .limit(1)
    ).first()


def score_history(session: Session, subject_id: int) -> list[Score]:
    return list(
        session.scalars(
            select(Score)
            .where(Score.subject_id == subject_id)
            .order_by(Score.as_of.desc(), Score.computed_at.desc(), Score.id.desc())
        )
    )
