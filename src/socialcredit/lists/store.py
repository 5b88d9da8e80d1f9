"""List entries in the store: notice, publication and exit, each a dated, explained transition.

``update_lists`` brings the entries of some subjects in line with what their facts say
on a date:

- a criterion newly met opens an entry in ``pending_notice``; the notice lasts the
  policy's number of working days after the entry date (``notice_until``, the last day
  of notice), and the entry is published on the next working day after it;
- a ``pending_notice`` entry whose notice is over becomes ``published``, dated on its
  publication day whenever the run happens, so a late run does not move it;
- an open entry whose criterion is no longer met becomes ``exited``, dated when the
  cause took effect (the end of the listing period, the day an annulment or repair was
  recorded) or else on the run's date, and explained by that cause.

An entry keeps the policy, province and legal basis it was decided under: in any YRD
province it holds as decided (mutual recognition). Running twice for a date changes
nothing; a run for a date before an entry's latest transition leaves that entry alone,
so runs are meant to go forward in time (``maintain`` catches up day by day).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, insert, or_, select, update

from socialcredit.casework.calendar import add_working_days
from socialcredit.casework.objections import disputed_by_subject, disputes_decided_on
from socialcredit.db.models import (
    ListEntry,
    ListTransition,
    Record,
    RecordStatusEvent,
    RescoreQueue,
    Score,
    Subject,
    utcnow,
)
from socialcredit.lists.decisions import (
    BLACK,
    STATUS_REASONS,
    ListDecision,
    NotListed,
    black_exit,
    list_decisions,
    red_exit,
)
from socialcredit.policy import ResolvedPolicy, load_policies, select_policy
from socialcredit.scoring.catalogue_view import catalogue_view
from socialcredit.scoring.dates import cutoff
from socialcredit.scoring.evaluator import evaluate
from socialcredit.scoring.facts import RecordFact, SubjectFacts
from socialcredit.scoring.results import ScoreResult
from socialcredit.scoring.store import load_facts

PENDING = "pending_notice"
PUBLISHED = "published"
EXITED = "exited"
OPEN_STATUSES = (PENDING, PUBLISHED)

BATCH = 500

Key = tuple[str, str, str | None]


@dataclass(frozen=True, slots=True)
class ListChange:
    """One transition written by a run (what a notification to the subject will say)."""

    entry_id: int
    subject_id: int
    list_name: str
    criterion: str
    from_status: str | None
    to_status: str
    on: dt.date
    reason: str


def publication_day(notice_until: dt.date) -> dt.date:
    """Entries are published on the first working day after their notice ends."""
    return add_working_days(notice_until, 1)


def _latest_day(entry: Row[Any]) -> dt.date:
    days: list[dt.date] = [
        d for d in (entry.entered_on, entry.published_on, entry.exited_on) if d is not None
    ]
    return max(days)


class _Run:
    """One batch of subjects inside the caller's transaction."""

    def __init__(
        self,
        conn: Connection,
        as_of: dt.date,
        *,
        disputed: frozenset[int] = frozenset(),
        cleared: Mapping[int, dt.date] | None = None,
    ) -> None:
        self.conn = conn
        self.as_of = as_of
        self.changes: list[ListChange] = []
        # Records with an objection not yet decided, and the day a record's latest
        # objection was decided (casework.objections).
        self.disputed = disputed
        self.cleared = cleared or {}

    def transition(
        self, entry: Row[Any], from_status: str | None, to: str, on: dt.date, reason: str
    ) -> None:
        self.conn.execute(
            insert(ListTransition).values(
                entry_id=entry.id, from_status=from_status, to_status=to, on=on, reason=reason
            )
        )
        self.changes.append(
            ListChange(
                entry_id=entry.id,
                subject_id=entry.subject_id,
                list_name=entry.list_name,
                criterion=entry.criterion,
                from_status=from_status,
                to_status=to,
                on=on,
                reason=reason,
            )
        )

    def enter(self, subject_id: int, d: ListDecision) -> None:
        notice_until = add_working_days(self.as_of, d.notice_working_days)
        values: dict[str, Any] = {
            "subject_id": subject_id,
            "list_name": d.list_name,
            "status": PENDING,
            "criterion": d.criterion,
            "origin_province": d.origin_province,
            "policy_id": d.policy_id,
            "policy_version": d.policy_version,
            "legal_basis": d.legal_basis,
            "record_id": d.record_id,
            "entered_on": self.as_of,
            "notice_until": notice_until,
            "planned_exit_on": d.planned_exit_on,
            "updated_at": utcnow(),
        }
        entry = self.conn.execute(insert(ListEntry).values(**values).returning(ListEntry)).one()
        if d.list_name == BLACK:
            why = f"{d.record_type} decided on {d.decided_on} (record {d.record_ref})"
        else:
            why = f"grade {d.grade} with a clean record"
        self.transition(
            entry,
            None,
            PENDING,
            self.as_of,
            f"{why} meets {d.criterion} under {d.policy_id}@{d.policy_version}; notice of "
            f"{d.notice_working_days} working days until {notice_until}, publication on "
            f"{publication_day(notice_until)}",
        )

    def publish_if_due(self, entry: Row[Any], before: dt.date | None = None) -> str:
        """Publish a pending entry whose notice is over by the run date (and, when given,
        strictly before ``before``); returns the entry's status afterwards."""
        if entry.status != PENDING:
            return str(entry.status)
        # A disputed record is not newly published until its objection is decided, and
        # then not before the decision day: it was not public before.
        if entry.record_id is not None and entry.record_id in self.disputed:
            return PENDING
        day = publication_day(entry.notice_until)
        cleared = self.cleared.get(entry.record_id) if entry.record_id is not None else None
        if cleared is not None and cleared > day:
            day = cleared
        if day > self.as_of or (before is not None and day >= before):
            return PENDING
        self.conn.execute(
            update(ListEntry)
            .where(ListEntry.id == entry.id)
            .values(status=PUBLISHED, published_on=day, updated_at=utcnow())
        )
        self.transition(
            entry,
            PENDING,
            PUBLISHED,
            day,
            f"notice period ended on {entry.notice_until}; published",
        )
        return PUBLISHED

    def refresh(self, entry: Row[Any], status: str, d: ListDecision) -> None:
        """Follow a corrected record to its new version, and a moved exit date."""
        if (entry.record_id, entry.planned_exit_on) == (d.record_id, d.planned_exit_on):
            return
        self.conn.execute(
            update(ListEntry)
            .where(ListEntry.id == entry.id)
            .values(record_id=d.record_id, planned_exit_on=d.planned_exit_on, updated_at=utcnow())
        )
        if entry.record_id != d.record_id:
            reason = f"record corrected (now record {d.record_id}); still meets {d.criterion}"
        else:
            reason = f"planned exit moved from {entry.planned_exit_on} to {d.planned_exit_on}"
        self.transition(entry, status, status, self.as_of, reason)

    def exit(self, entry: Row[Any], cause: NotListed) -> None:
        on = min(max(cause.since, _latest_day(entry)), self.as_of)
        status = self.publish_if_due(entry, before=on)
        self.conn.execute(
            update(ListEntry)
            .where(ListEntry.id == entry.id)
            .values(status=EXITED, exited_on=on, exit_reason=cause.reason, updated_at=utcnow())
        )
        self.transition(entry, status, EXITED, on, cause.reason)


def _status_events(
    conn: Connection, record_ids: Iterable[int], as_of: dt.date
) -> dict[int, tuple[dt.date, str | None]]:
    """The newest status event of each record known by ``as_of``: its day and reason."""
    ids = list(record_ids)
    if not ids:
        return {}
    newest: dict[int, tuple[dt.datetime, int, str | None]] = {}
    for rid, eid, at, reason in conn.execute(
        select(
            RecordStatusEvent.record_id,
            RecordStatusEvent.id,
            RecordStatusEvent.recorded_at,
            RecordStatusEvent.reason,
        ).where(RecordStatusEvent.record_id.in_(ids), RecordStatusEvent.recorded_at < cutoff(as_of))
    ):
        current = newest.get(rid)
        if current is None or (at, eid) > current[:2]:
            newest[rid] = (at, eid, reason)
    return {rid: (at.date(), reason) for rid, (at, _eid, reason) in newest.items()}


def _black_cause(
    run: _Run,
    entry: Row[Any],
    fact: RecordFact | None,
    policy: ResolvedPolicy,
    birth_date: dt.date | None,
) -> NotListed:
    criterion = next((c for c in policy.lists.black.criteria if c.id == entry.criterion), None)
    if criterion is None:
        return NotListed(run.as_of, f"{policy.ref} no longer has the criterion {entry.criterion}")
    if fact is None:
        return NotListed(run.as_of, "the record is no longer held")
    if fact.record_type not in criterion.record_types:
        return NotListed(
            run.as_of, f"record corrected to {fact.record_type}, which {criterion.id} does not name"
        )
    cause = black_exit(fact, criterion, policy, run.as_of, birth_date)
    if cause is None:
        return NotListed(run.as_of, f"no longer meets {criterion.id}")
    if fact.status != "active":
        # The status event says when the record stopped counting, and often why (the
        # decision that annulled it, the obligation performed).
        event = _status_events(run.conn, [fact.record_id], run.as_of).get(fact.record_id)
        if event is not None:
            day, why = event
            return NotListed(day, why or STATUS_REASONS.get(fact.status, f"record {fact.status}"))
    return cause


def _newest_versions(facts: SubjectFacts) -> dict[str, RecordFact]:
    out: dict[str, RecordFact] = {}
    for r in facts.records:
        if r.ref not in out or r.record_id > out[r.ref].record_id:
            out[r.ref] = r
    return out


def _apply(
    conn: Connection,
    batch: Sequence[SubjectFacts],
    as_of: dt.date,
    policies: Sequence[ResolvedPolicy],
    scores: Mapping[int, ScoreResult],
    decisions: Mapping[int, Sequence[ListDecision]] | None = None,
) -> list[ListChange]:
    ids = [f.subject_id for f in batch]
    if not ids:
        return []
    # Serialises concurrent runs over the same subjects on PostgreSQL (two would otherwise
    # both open the same entry); NO KEY UPDATE leaves inserts that reference the subjects
    # unblocked. SQLite serialises writers anyway and ignores the clause.
    births: dict[int, dt.date | None] = {
        sid: born
        for sid, born in conn.execute(
            select(Subject.id, Subject.birth_date)
            .where(Subject.id.in_(ids))
            .with_for_update(key_share=True)
        )
    }
    entries: dict[int, list[Row[Any]]] = defaultdict(list)
    for entry in conn.execute(
        select(ListEntry).where(
            ListEntry.subject_id.in_(ids),
            or_(ListEntry.status.in_(OPEN_STATUSES), ListEntry.exited_on > as_of),
        )
    ):
        entries[entry.subject_id].append(entry)
    record_ids = {e.record_id for es in entries.values() for e in es if e.record_id is not None}
    refs = {
        rid: f"{pid}:{prid}"
        for rid, pid, prid in conn.execute(
            select(Record.id, Record.provider_id, Record.provider_record_id).where(
                Record.id.in_(record_ids)
            )
        )
    }
    disputed = disputed_by_subject(conn, ids)
    run = _Run(
        conn,
        as_of,
        disputed=frozenset(r for rs in disputed.values() for r in rs),
        cleared=disputes_decided_on(conn, record_ids),
    )
    catalogue = catalogue_view()

    def key(e: Row[Any]) -> Key:
        return (e.list_name, e.criterion, refs.get(e.record_id) if e.record_id else None)

    for facts in batch:
        policy = select_policy(policies, facts.province_code, as_of)
        score = scores.get(facts.subject_id) or evaluate(facts, policy, as_of, catalogue)
        birth = births.get(facts.subject_id)
        met = (
            list_decisions(facts, policy, as_of, score, birth)
            if decisions is None
            else decisions.get(facts.subject_id, ())
        )
        decided = {d.key: d for d in met}
        newest = _newest_versions(facts)
        mine = entries.get(facts.subject_id, [])
        # Keys some entry has already moved past this date: leave them as they are.
        ahead = {key(e) for e in mine if _latest_day(e) > as_of}
        open_entries = {key(e): e for e in mine if e.status in OPEN_STATUSES}
        for k, entry in open_entries.items():
            if k in ahead:
                continue
            d = decided.get(k)
            if d is not None:
                status = run.publish_if_due(entry)
                run.refresh(entry, status, d)
                continue
            if entry.list_name == BLACK:
                fact = newest.get(k[2] or "")
                cause = _black_cause(run, entry, fact, policy, birth)
            else:
                red = next((c for c in policy.lists.red.criteria if c.id == entry.criterion), None)
                found = (
                    red_exit(facts, red, policy, as_of, score.grade)
                    if red is not None
                    else NotListed(as_of, f"{policy.ref} no longer has {entry.criterion}")
                )
                cause = found or NotListed(as_of, f"no longer meets {entry.criterion}")
            run.exit(entry, cause)
        for k, d in decided.items():
            if k not in open_entries and k not in ahead:
                run.enter(facts.subject_id, d)
    return run.changes


def due_subjects(conn: Connection, as_of: dt.date) -> list[int]:
    """Subjects whose entries move on ``as_of`` with no new record: a notice that has
    ended, or a planned exit that has come. The daily job updates these besides the
    subjects whose records changed (the red list can also change with no new record, when
    a category starts counting; that takes a run over everyone)."""
    due: set[int] = set()
    for sid, notice_until in conn.execute(
        select(ListEntry.subject_id, ListEntry.notice_until).where(
            ListEntry.status == PENDING, ListEntry.notice_until < as_of
        )
    ):
        if notice_until is not None and publication_day(notice_until) <= as_of:
            due.add(sid)
    due.update(
        conn.scalars(
            select(ListEntry.subject_id).where(
                ListEntry.status.in_(OPEN_STATUSES), ListEntry.planned_exit_on <= as_of
            )
        )
    )
    return sorted(due)


def update_lists(
    conn: Connection,
    subject_ids: Iterable[int],
    as_of: dt.date,
    *,
    policies: Sequence[ResolvedPolicy] | None = None,
    scores: Mapping[int, ScoreResult] | None = None,
    decisions: Mapping[int, Sequence[ListDecision]] | None = None,
) -> list[ListChange]:
    """Bring the list entries of ``subject_ids`` in line with their facts on ``as_of``,
    inside the caller's transaction; returns the transitions written.

    ``scores`` are the subjects' scores on ``as_of`` when the caller has them (a batch
    executor's results); any subject without one is scored in process from the same
    facts, which is cheap next to reading them. ``decisions`` are the criteria each
    subject meets, when a batch executor has decided them (a subject missing from it
    meets none); without them they are decided here, in process.
    """
    policies = policies or load_policies()
    ids = sorted(set(subject_ids))
    changes: list[ListChange] = []
    for start in range(0, len(ids), BATCH):
        facts = load_facts(conn, ids[start : start + BATCH], as_of)
        changes += _apply(conn, facts, as_of, policies, scores or {}, decisions)
    return changes


def rescore_and_list(
    engine: Engine,
    subject_ids: Iterable[int],
    as_of: dt.date | None = None,
    *,
    policies: Sequence[ResolvedPolicy] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Score subjects in process, store the scores, and update their list entries: one
    transaction per batch, which also takes the batch off the rescore queue (the drop-in
    for ``scoring.store.rescore_subjects``). Returns how many subjects were done.

    The facts are read once per batch and feed both the scores and the lists, so a stored
    score and the list entries written with it always agree.
    """
    as_of = as_of or dt.date.today()
    policies = policies or load_policies()
    catalogue = catalogue_view()
    ids = sorted(set(subject_ids))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        with engine.begin() as conn:
            facts = load_facts(conn, batch, as_of)
            # The body of scoring.store.compute, on facts already read.
            results = {
                f.subject_id: evaluate(
                    f, select_policy(policies, f.province_code, as_of), as_of, catalogue
                )
                for f in facts
            }
            if results:
                at = utcnow()
                rows = [
                    r.to_row() | {"engine": "python", "computed_at": at} for r in results.values()
                ]
                conn.execute(insert(Score), rows)
            _apply(conn, facts, as_of, policies, results)
            conn.execute(delete(RescoreQueue).where(RescoreQueue.subject_id.in_(batch)))
        if progress is not None:
            progress(len(batch))
    return len(ids)
