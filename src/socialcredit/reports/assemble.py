"""Building the subject report: everything the platform holds on a subject, as of a date.

**As of D** means what the platform knew at the end of D (UTC), as scoring reads it
(``socialcredit.scoring``): records, their status events, accounts, professional
profiles, stored scores and audit entries recorded before D + 1 day; list entries and
their transitions dated on or before D. The score is computed afresh for D under the
policy then in force, with every contribution, and is not stored: reading a report
changes nothing but the audit log.

Records are listed in every version (a corrected one stays, marked ``corrected``), each
with its provider, legal basis, decision reference, display window and status history.
``shown`` is the scoring contract's rule: active, inside the display window, and not
past the query bar. ``disputed`` says an objection against it is open
(``casework.objections.disputed_record_ids``); disputes are current, not as of D.

Measures in force are those of the subject's own province's catalogue, for every
published purpose: the report says what relying parties would be told, and why.

ID numbers are masked everywhere; the full number is never part of a report.

Writing the audit entry is the caller's duty (CLI, API), before the report is shown.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from socialcredit.audit import accesses
from socialcredit.casework.objections import disputed_record_ids
from socialcredit.db.models import (
    AccountLink,
    ProfessionalProfile,
    Provider,
    Record,
    RecordStatusEvent,
    RecordType,
    Score,
    Subject,
    utcnow,
)
from socialcredit.identity.ids import mask
from socialcredit.identity.regions import region_of
from socialcredit.lists import entries, transitions
from socialcredit.measures import MeasuresError, measures_for, published_purposes
from socialcredit.measures.question import MeasuresAnswer
from socialcredit.policy import NoPolicyInForceError, ResolvedPolicy, load_policies, select_policy
from socialcredit.policy.resolve import DEFAULT_BAR_YEARS
from socialcredit.records.catalogue import default_catalogue
from socialcredit.reports import model as m
from socialcredit.reports.errors import UnknownSubjectError
from socialcredit.scoring.dates import add_months, cutoff
from socialcredit.scoring.results import Contribution, parse_contributions
from socialcredit.scoring.store import compute

# lists.views pages entries; no subject has more than this many.
_MAX_ENTRIES = 500


def mask_account(account: str) -> str:
    """Hide the middle of an account number as phone numbers are shown: ``139****0001``.

    Shorter accounts keep a quarter at each end, so at least half is always hidden.
    """
    n = len(account)
    if n <= 4:
        return "*" * n
    head, tail = (3, 4) if n >= 11 else (n // 4, n // 4)
    return account[:head] + "*" * (n - head - tail) + account[n - tail :]


def _amount(fen: int | None) -> str | None:
    return None if fen is None else str(Decimal(fen) / 100)


def _contribution(c: Contribution) -> m.Contribution:
    return m.Contribution(
        kind=c.kind,
        category=c.category,
        points=c.points,
        status=c.status,
        record_id=c.record_id,
        record_ref=c.record_ref,
        record_type=c.record_type,
        base_points=c.base_points,
        repeat_points=c.repeat_points,
    )


def _identity(conn: Connection, subject: Any) -> m.Identity:
    region = region_of(subject.division_code)
    rep: str | None = None
    if subject.legal_rep_id is not None:
        row = conn.execute(
            select(Subject.code, Subject.name).where(Subject.id == subject.legal_rep_id)
        ).first()
        if row is not None:
            rep = f"{mask(row.code)} {row.name}"
    return m.Identity(
        kind=subject.kind,
        id=mask(subject.code),
        name=subject.name,
        province=region.province,
        city=region.city,
        registered_on=subject.registered_at.date(),
        legal_representative=rep,
    )


def _accounts(conn: Connection, subject_id: int, limit: dt.datetime) -> tuple[m.LinkedAccount, ...]:
    rows = conn.execute(
        select(Provider.name, AccountLink.account_id, AccountLink.linked_at)
        .join(Provider, Provider.id == AccountLink.provider_id)
        .where(AccountLink.subject_id == subject_id, AccountLink.linked_at < limit)
        .order_by(AccountLink.linked_at, AccountLink.id)
    )
    return tuple(
        m.LinkedAccount(provider=p, account=mask_account(a), linked_on=at.date())
        for p, a, at in rows
    )


def _professions(
    conn: Connection, subject_id: int, limit: dt.datetime
) -> tuple[m.ProfessionalProfile, ...]:
    employer = Subject.__table__.alias("employer")
    rows = conn.execute(
        select(
            ProfessionalProfile.profession,
            ProfessionalProfile.licence_no,
            ProfessionalProfile.registered_at,
            employer.c.code,
            employer.c.name,
        )
        .outerjoin(employer, employer.c.id == ProfessionalProfile.employer_id)
        .where(
            ProfessionalProfile.subject_id == subject_id,
            ProfessionalProfile.registered_at < limit,
        )
        .order_by(ProfessionalProfile.registered_at, ProfessionalProfile.id)
    )
    return tuple(
        m.ProfessionalProfile(
            profession=r.profession,
            licence_no=r.licence_no,
            employer=f"{mask(r.code)} {r.name}" if r.code else None,
            registered_on=r.registered_at.date(),
        )
        for r in rows
    )


def _records(
    conn: Connection, subject_id: int, as_of: dt.date, bar_years: int
) -> tuple[m.RecordEntry, ...]:
    limit = cutoff(as_of)
    r, p, t = Record.__table__, Provider.__table__, RecordType.__table__
    rows = conn.execute(
        select(
            r.c.id,
            p.c.name.label("provider"),
            r.c.provider_record_id,
            r.c.version,
            r.c.record_type,
            t.c.title,
            t.c.category,
            t.c.severity,
            t.c.polarity,
            t.c.legal_basis,
            t.c.min_window_months,
            t.c.max_window_months,
            r.c.decision_ref,
            r.c.decided_on,
            r.c.conduct_ended_on,
            r.c.amount_fen,
            r.c.recorded_at,
        )
        .join(p, p.c.id == r.c.provider_id)
        # Every record's type is in the catalogue (the importer refuses others).
        .join(t, t.c.code == r.c.record_type)
        .where(r.c.subject_id == subject_id, r.c.recorded_at < limit)
        .order_by(r.c.decided_on.desc(), r.c.id.desc())
    ).all()
    events: dict[int, list[m.StatusEvent]] = defaultdict(list)
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 5000):
        for e in conn.execute(
            select(
                RecordStatusEvent.record_id,
                RecordStatusEvent.status,
                RecordStatusEvent.reason,
                RecordStatusEvent.source,
                RecordStatusEvent.recorded_at,
            )
            .where(
                RecordStatusEvent.record_id.in_(ids[start : start + 5000]),
                RecordStatusEvent.recorded_at < limit,
            )
            # The scoring contract's order: newest is the highest (recorded_at, id).
            .order_by(RecordStatusEvent.recorded_at, RecordStatusEvent.id)
        ):
            events[e.record_id].append(
                m.StatusEvent(
                    status=e.status, reason=e.reason, source=e.source, recorded_at=e.recorded_at
                )
            )
    disputed = disputed_record_ids(conn, subject_id)
    out = []
    for row in rows:
        history = tuple(events.get(row.id, ()))
        status = history[-1].status if history else "active"
        until = add_months(row.decided_on, row.max_window_months)
        bar: dt.date | None = None
        if row.polarity == "negative":
            bar = add_months(row.conduct_ended_on or row.decided_on, 12 * bar_years)
        shown = (
            status == "active" and row.decided_on <= as_of < until and (bar is None or as_of < bar)
        )
        out.append(
            m.RecordEntry(
                record_id=row.id,
                provider=row.provider,
                provider_record_id=row.provider_record_id,
                version=row.version,
                record_type=row.record_type,
                title=row.title,
                category=row.category,
                severity=row.severity,
                polarity=row.polarity,
                legal_basis=row.legal_basis,
                decision_ref=row.decision_ref,
                decided_on=row.decided_on,
                conduct_ended_on=row.conduct_ended_on,
                amount_cny=_amount(row.amount_fen),
                recorded_at=row.recorded_at,
                status=status,
                status_history=history,
                window=m.DisplayWindow(
                    min_months=row.min_window_months,
                    max_months=row.max_window_months,
                    shown_from=row.decided_on,
                    shown_until=until,
                    query_bar_from=bar,
                ),
                shown=shown,
                disputed=row.id in disputed,
            )
        )
    return tuple(out)


def _current_score(
    conn: Connection, subject_id: int, as_of: dt.date, policies: Sequence[ResolvedPolicy]
) -> m.CurrentScore | None:
    try:
        (result,) = compute(conn, [subject_id], as_of, policies)
    except NoPolicyInForceError:
        return None
    return m.CurrentScore(
        score=result.score,
        grade=result.grade,
        as_of=result.as_of,
        policy=f"{result.policy_id}@{result.policy_version}",
        reasons=tuple(_contribution(c) for c in result.reasons),
        contributions=tuple(_contribution(c) for c in result.contributions),
    )


def _score_history(
    conn: Connection, subject_id: int, limit: dt.datetime
) -> tuple[m.HistoricScore, ...]:
    rows = conn.execute(
        select(
            Score.as_of,
            Score.computed_at,
            Score.engine,
            Score.score,
            Score.grade,
            Score.policy_id,
            Score.policy_version,
            Score.reasons,
        )
        .where(Score.subject_id == subject_id, Score.computed_at < limit)
        .order_by(Score.as_of.desc(), Score.computed_at.desc(), Score.id.desc())
    )
    return tuple(
        m.HistoricScore(
            as_of=s.as_of,
            computed_at=s.computed_at,
            engine=s.engine,
            score=s.score,
            grade=s.grade,
            policy=f"{s.policy_id}@{s.policy_version}",
            reasons=tuple(_contribution(c) for c in parse_contributions(s.reasons)),
        )
        for s in rows
    )


def _in_force(entry: Any, as_of: dt.date) -> bool:
    # The measures question's rule (measures.question._in_force), dated as of the report.
    return (
        entry.published_on is not None
        and entry.published_on <= as_of
        and (entry.exited_on is None or entry.exited_on > as_of)
        and (entry.planned_exit_on is None or entry.planned_exit_on > as_of)
    )


def _lists(conn: Connection, subject_id: int, as_of: dt.date) -> tuple[m.ListMembership, ...]:
    out = []
    for e in entries(conn, subject_id=subject_id, limit=_MAX_ENTRIES):
        if e.entered_on > as_of:
            continue
        steps = [s for s in transitions(conn, e.entry_id) if s.on <= as_of]
        # The entry row holds its newest state; as of an earlier date, its status is the
        # last transition's by then, and later dates are not known yet.
        status = steps[-1].to_status if steps else e.status
        exited = e.exited_on if e.exited_on is not None and e.exited_on <= as_of else None
        published = (
            e.published_on if e.published_on is not None and e.published_on <= as_of else None
        )
        out.append(
            m.ListMembership(
                entry_id=e.entry_id,
                list_name=e.list_name,
                status=status,
                criterion=e.criterion,
                legal_basis=e.legal_basis,
                origin_province=e.origin_province,
                policy=e.policy,
                record_id=e.record_id,
                entered_on=e.entered_on,
                notice_until=e.notice_until,
                published_on=published,
                planned_exit_on=e.planned_exit_on,
                exited_on=exited,
                exit_reason=e.exit_reason if exited is not None else None,
                in_force=_in_force(e, as_of),
                transitions=tuple(
                    m.ListTransition(
                        from_status=s.from_status, to_status=s.to_status, on=s.on, reason=s.reason
                    )
                    for s in steps
                ),
            )
        )
    return tuple(out)


def _measures(
    conn: Connection,
    subject_id: int,
    province: str,
    as_of: dt.date,
    policies: Sequence[ResolvedPolicy],
) -> tuple[tuple[m.MeasureInForce, ...], str | None]:
    """Measures in force for any published purpose, merged by measure, with the purposes."""
    answers: list[MeasuresAnswer] = []
    for purpose in published_purposes():
        try:
            answers.append(
                measures_for(
                    conn,
                    subject_id=subject_id,
                    purpose=purpose,
                    as_of=as_of,
                    region=province,
                    policies=policies,
                )
            )
        except MeasuresError:
            # No catalogue in force on that date: no measure can apply.
            return (), None
    found: dict[str, m.MeasureInForce] = {}
    purposes: dict[str, list[str]] = defaultdict(list)
    for answer in answers:
        for a in answer.measures:
            purposes[a.id].append(answer.purpose)
            if a.id in found:
                continue
            found[a.id] = m.MeasureInForce(
                id=a.id,
                title_zh=a.title_zh,
                title_en=a.title_en,
                category=a.category,
                legal_basis=a.legal_basis,
                defined_in=a.defined_in,
                purposes=(),
                triggered_by=tuple(
                    m.MeasureTrigger(
                        kind=b.kind,
                        via=b.via,
                        list_name=b.list_name,
                        criterion=b.criterion,
                        entry_id=b.entry_id,
                        grade=b.grade,
                        organisation=(
                            f"{b.organisation} {b.organisation_name}" if b.organisation else None
                        ),
                    )
                    for b in a.triggered_by
                ),
            )
    measures = tuple(
        found[k].model_copy(update={"purposes": tuple(purposes[k])})
        for k in sorted(found, key=lambda k: (found[k].category != "sanction", k))
    )
    catalogue = answers[0].catalogue if answers else None
    return measures, catalogue


def _accesses(conn: Connection, subject_id: int, limit: dt.datetime) -> tuple[m.Access, ...]:
    return tuple(
        m.Access(
            seq=a.seq,
            at=a.at,
            actor=a.actor,
            role=a.role,
            purpose=a.purpose,
            action=a.action,
            outcome=a.outcome,
        )
        for a in accesses(conn, subject_id)
        if a.at < limit
    )


def build_report(
    conn: Connection,
    subject_id: int,
    as_of: dt.date,
    *,
    policies: Sequence[ResolvedPolicy] | None = None,
    now: dt.datetime | None = None,
) -> m.SubjectReport:
    """The report on ``subject_id`` as of ``as_of``; ``UnknownSubjectError`` if no such subject.

    Reads only: the caller appends the audit entry and commits before showing it.
    """
    subject = conn.execute(
        select(
            Subject.id,
            Subject.kind,
            Subject.code,
            Subject.name,
            Subject.division_code,
            Subject.province_code,
            Subject.legal_rep_id,
            Subject.registered_at,
        ).where(Subject.id == subject_id)
    ).first()
    if subject is None:
        raise UnknownSubjectError(f"no subject {subject_id}")
    policies = policies or load_policies()
    limit = cutoff(as_of)
    try:
        policy: ResolvedPolicy | None = select_policy(policies, subject.province_code, as_of)
    except NoPolicyInForceError:
        policy = None
    records = _records(
        conn, subject.id, as_of, policy.bar_years if policy is not None else DEFAULT_BAR_YEARS
    )
    measures, measures_catalogue = _measures(
        conn, subject.id, subject.province_code, as_of, policies
    )
    return m.SubjectReport(
        as_of=as_of,
        generated_at=(now or utcnow()).replace(microsecond=0),
        identity=_identity(conn, subject),
        policies=m.Policies(
            score_policy=policy.ref if policy is not None else None,
            lineage=policy.lineage if policy is not None else (),
            record_catalogue=default_catalogue().version,
            measures_catalogue=measures_catalogue,
        ),
        accounts=_accounts(conn, subject.id, limit),
        professions=_professions(conn, subject.id, limit),
        records=records,
        disputed_records=sum(1 for r in records if r.disputed),
        score=_current_score(conn, subject.id, as_of, policies),
        score_history=_score_history(conn, subject.id, limit),
        lists=_lists(conn, subject.id, as_of),
        measures=measures,
        accesses=_accesses(conn, subject.id, limit),
    )
