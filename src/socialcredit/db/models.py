"""The store's tables.

Records are append-only facts: a correction adds a new version, an annulment adds
a status event; nothing is updated in place except the denormalised ``status``
column, which always equals the newest status event and exists so that scoring
does not have to replay the history for the common case.

Bitemporal: ``decided_on`` is when the authority decided, ``recorded_at`` is when
this platform learned of it. An as-of question only sees rows recorded by then.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Subject(Base):
    """A person (resident ID number) or an organisation (Unified Social Credit Code)."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(12))  # person | organisation
    code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    division_code: Mapped[str] = mapped_column(String(6))
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    city_code: Mapped[str] = mapped_column(String(4))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))  # M | F, persons only
    # Indexed: every measures question about a person asks which organisations it represents.
    legal_rep_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), index=True)
    # Legacy organisation codes that fail the GB 32100 check are accepted only
    # through an explicit override, and the reason is kept with the subject.
    check_override: Mapped[bool] = mapped_column(Boolean, default=False)
    override_reason: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Provider(Base):
    """An authority or service that furnishes records or links accounts."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str] = mapped_column(String(6))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ProviderRecordType(Base):
    """The record types a provider may furnish; anything else is out of scope."""

    __tablename__ = "provider_record_types"

    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    record_type: Mapped[str] = mapped_column(ForeignKey("record_types.code"), primary_key=True)


class AccountLink(Base):
    """A real-name link from a provider's account to a verified person."""

    __tablename__ = "account_links"
    __table_args__ = (UniqueConstraint("provider_id", "account_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    account_id: Mapped[str] = mapped_column(String(100))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    linked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ProfessionalProfile(Base):
    __tablename__ = "professional_profiles"
    __table_args__ = (UniqueConstraint("subject_id", "profession", "licence_no"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    profession: Mapped[str] = mapped_column(String(40))
    licence_no: Mapped[str] = mapped_column(String(60))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"))
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RecordType(Base):
    """One entry of the closed, published record catalogue."""

    __tablename__ = "record_types"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    issuing_body_kind: Mapped[str] = mapped_column(String(40))
    legal_basis: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))  # minor | general | serious
    polarity: Mapped[str] = mapped_column(String(10))  # negative | positive
    min_window_months: Mapped[int] = mapped_column(Integer)
    max_window_months: Mapped[int] = mapped_column(Integer)
    repairable: Mapped[bool] = mapped_column(Boolean, default=True)
    profession: Mapped[str | None] = mapped_column(String(40))
    amount_relevant: Mapped[bool] = mapped_column(Boolean, default=False)


class ImportBatch(Base):
    """One run of a feed import (or one API submission)."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    source: Mapped[str] = mapped_column(Text)
    file_format: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(12), default="running")
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    encoding: Mapped[str | None] = mapped_column(String(20))
    # {reason code: count}, JSON: what feed-health pages show per provider.
    reject_summary: Mapped[str] = mapped_column(Text, default="{}")


class Record(Base):
    """A fact furnished by a provider about a subject.

    ``version`` grows with each correction; the identity of a fact is
    (provider, provider_record_id), and ingestion is idempotent on it.

    This hot, append-only table carries no foreign-key constraints: the importer
    resolves every reference (provider, subject, record type, batch) before it
    writes, and on PostgreSQL the per-row constraint triggers cut COPY throughput
    by four. The columns still name what they point at.
    """

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("provider_id", "provider_record_id", "version"),
        Index("ix_records_subject", "subject_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    provider_id: Mapped[int] = mapped_column(Integer)
    provider_record_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    subject_id: Mapped[int] = mapped_column(BigInteger)
    record_type: Mapped[str] = mapped_column(String(60))
    decision_ref: Mapped[str | None] = mapped_column(String(200))
    decided_on: Mapped[dt.date] = mapped_column(Date)
    conduct_ended_on: Mapped[dt.date | None] = mapped_column(Date)
    # Money in fen (1/100 CNY) so every engine compares the same integers.
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    account_provider_id: Mapped[int | None] = mapped_column(Integer)
    account_id: Mapped[str | None] = mapped_column(String(100))
    content_hash: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12), default="active")
    batch_id: Mapped[int | None] = mapped_column(BigInteger)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RecordStatusEvent(Base):
    """Status history of a record: active, annulled, corrected (superseded), repaired, expired."""

    __tablename__ = "record_status_events"
    # The annulment cascade looks for annulments and corrections without one: a partial
    # index keeps that lookup small while expiry events pile up by the million.
    __table_args__ = (
        Index(
            "ix_record_status_events_annulments",
            "status",
            sqlite_where=text("status IN ('annulled', 'corrected')"),
            postgresql_where=text("status IN ('annulled', 'corrected')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))  # feed | api | casework | maintenance
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    content_hash: Mapped[str | None] = mapped_column(String(32))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RegistryEvent(Base):
    """Who registered, linked or overrode what: the registry's own change log."""

    __tablename__ = "registry_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"))
    detail: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100), default="cli")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Score(Base):
    """A score as of a date, with its policy and explanation. Append-only: recomputing
    adds a row, so every answer the system ever gave can be shown again."""

    __tablename__ = "scores"
    __table_args__ = (Index("ix_scores_subject_asof", "subject_id", "as_of", "computed_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(BigInteger)
    as_of: Mapped[dt.date] = mapped_column(Date)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    engine: Mapped[str] = mapped_column(String(12))
    policy_id: Mapped[str] = mapped_column(String(60))
    policy_version: Mapped[str] = mapped_column(String(20))
    score: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(4))
    reasons: Mapped[str] = mapped_column(Text)  # canonical JSON, see scoring.results
    # Null for population rescores, which store the reasons only; see migration 0004.
    contributions: Mapped[str | None] = mapped_column(Text)


class RescoreQueue(Base):
    """Subjects whose stored score is stale: filled in the same transaction that
    changes their records, drained by the in-process scorer. Durable, so a crash
    between the two loses no rescore."""

    __tablename__ = "rescore_queue"

    subject_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    enqueued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RelyingParty(Base):
    """An employer, school, licensing office, procurement agency, bank or transport
    operator, registered with the published purposes it may query for."""

    __tablename__ = "relying_parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str] = mapped_column(String(6))
    purposes: Mapped[str] = mapped_column(Text)  # JSON list of purpose codes
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ApiKey(Base):
    """An API key, stored only as a hash, bound to one role and one scope."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in logs; not enough to use the key
    role: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(200))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    relying_party_id: Mapped[int | None] = mapped_column(ForeignKey("relying_parties.id"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"))
    scope: Mapped[str] = mapped_column(Text, default="{}")  # JSON: purposes, region, types
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditEntry(Base):
    """One read or write of personal data. Append-only and hash-chained: each entry's
    hash covers its content and the previous entry's hash."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str | None] = mapped_column(String(60))
    subject_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    action: Mapped[str] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ListEntry(Base):
    """A subject's entry on the red or black list, from notice to exit."""

    __tablename__ = "list_entries"
    __table_args__ = (Index("ix_list_entries_subject", "subject_id", "list_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    list_name: Mapped[str] = mapped_column(String(10))  # black | red
    status: Mapped[str] = mapped_column(String(20))  # pending_notice | published | exited
    criterion: Mapped[str] = mapped_column(String(60))
    origin_province: Mapped[str] = mapped_column(String(2))
    policy_id: Mapped[str] = mapped_column(String(60))
    policy_version: Mapped[str] = mapped_column(String(20))
    legal_basis: Mapped[str] = mapped_column(Text)
    record_id: Mapped[int | None] = mapped_column(BigInteger)
    entered_on: Mapped[dt.date] = mapped_column(Date)
    notice_until: Mapped[dt.date | None] = mapped_column(Date)
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    planned_exit_on: Mapped[dt.date | None] = mapped_column(Date)
    exited_on: Mapped[dt.date | None] = mapped_column(Date)
    exit_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ListTransition(Base):
    """Each dated, explained move of a list entry."""

    __tablename__ = "list_transitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("list_entries.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# --- casework (issue #5): objections, annulments, credit repair, notifications, maintenance


class Objection(Base):
    """A subject's objection to one record (Shanghai Social Credit Regulations art. 36).

    filed → flagged (the record shows as disputed) → forwarded to the provider → decided
    (upheld, corrected or deleted). The three deadlines are counted in working days and
    stored when the case opens, so a later change of the holiday calendar never moves a
    promise already made to the subject.
    """

    __tablename__ = "objections"
    __table_args__ = (
        Index("ix_objections_subject", "subject_id"),
        Index("ix_objections_record", "record_id"),
        Index("ix_objections_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    # The provider that must check the record: a provider key sees its own cases only.
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    status: Mapped[str] = mapped_column(
        String(12), default="filed"
    )  # filed|flagged|forwarded|decided
    outcome: Mapped[str | None] = mapped_column(String(12))  # upheld | corrected | deleted
    reason: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[str] = mapped_column(String(100))
    filed_on: Mapped[dt.date] = mapped_column(Date)
    flag_due: Mapped[dt.date] = mapped_column(Date)
    forward_due: Mapped[dt.date] = mapped_column(Date)
    decision_due: Mapped[dt.date] = mapped_column(Date)
    flagged_on: Mapped[dt.date | None] = mapped_column(Date)
    forwarded_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # The first day the case was found overdue at its current step (reset by each step).
    escalated_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ObjectionEvent(Base):
    """Each dated step of an objection: who moved it, from what to what, and why."""

    __tablename__ = "objection_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    objection_id: Mapped[int] = mapped_column(ForeignKey("objections.id"), index=True)
    action: Mapped[str] = mapped_column(String(12))  # filed|flagged|forwarded|decided|escalated
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    on: Mapped[dt.date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RepairApplication(Base):
    """A credit-repair application for one record: obligations met and a credit commitment,
    decided within 3 working days, free of charge (there is deliberately no fee field)."""

    __tablename__ = "repair_applications"
    __table_args__ = (
        Index("ix_repair_applications_subject", "subject_id"),
        Index("ix_repair_applications_record", "record_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    status: Mapped[str] = mapped_column(String(12), default="filed")  # filed|approved|rejected
    obligations: Mapped[str] = mapped_column(Text)  # JSON list of obligations stated as met
    commitment: Mapped[str] = mapped_column(Text)  # the credit commitment, as given
    filed_by: Mapped[str] = mapped_column(String(100))
    filed_on: Mapped[dt.date] = mapped_column(Date)
    decision_due: Mapped[dt.date] = mapped_column(Date)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    escalated_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Annulment(Base):
    """The cascade of one annulment or correction (or an objection's deletion): the record
    stopped counting, scores and lists were recomputed and everyone who received an answer
    about the subject was told. One per status event, so the cascade runs once however
    often it is retried; ``removal_due`` is the 3-working-day deletion deadline."""

    __tablename__ = "annulments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    status_event_id: Mapped[int] = mapped_column(ForeignKey("record_status_events.id"), unique=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    action: Mapped[str] = mapped_column(String(12))  # annulled | corrected
    source: Mapped[str] = mapped_column(String(20))  # feed | api | cli | objection
    reason: Mapped[str] = mapped_column(Text)
    received_on: Mapped[dt.date] = mapped_column(Date)
    removal_due: Mapped[dt.date] = mapped_column(Date)
    removed_on: Mapped[dt.date | None] = mapped_column(Date)  # scores and lists recomputed
    notified: Mapped[int] = mapped_column(Integer, default=0)  # notifications written
    escalated_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Notification(Base):
    """The outbox: a message owed to a relying party or a subject. Delivery is a separate
    concern; ``delivered_at`` is set by whatever delivers it."""

    __tablename__ = "notifications"
    __table_args__ = (
        # One message per cause and recipient: retrying a cascade never tells anyone twice.
        UniqueConstraint("cause", "cause_id", "recipient"),
        Index("ix_notifications_subject", "subject_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    cause: Mapped[str] = mapped_column(String(20))  # annulment
    cause_id: Mapped[int] = mapped_column(BigInteger)
    recipient: Mapped[str] = mapped_column(String(40))  # "party:<id>" | "subject:<id>"
    relying_party_id: Mapped[int | None] = mapped_column(
        ForeignKey("relying_parties.id"), index=True
    )
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"))  # whom it is about
    record_id: Mapped[int | None] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(Text)
    created_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class MaintenanceRun(Base):
    """One day handled by ``socialcredit maintain``: a day with a row is done, so a second
    run for it changes nothing and a run after missed days starts from the first of them."""

    __tablename__ = "maintenance_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    summary: Mapped[str] = mapped_column(Text, default="{}")  # JSON counts of what moved
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# --- reports (issue #5): signed certificates


class Certificate(Base):
    """A signed certificate issued to a subject (a credit report, or "no dishonesty record").

    Kept so that anyone holding one can check it online by its verification code: the
    signed payload is stored as issued (canonical JSON, masked ID), the content it
    vouches for only by its digest.
    """

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # Crockford base32, no dashes
    kind: Mapped[str] = mapped_column(String(30))  # credit_report | no_dishonesty_record
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    key_id: Mapped[str] = mapped_column(String(40))
    content_digest: Mapped[str] = mapped_column(String(80))
    payload: Mapped[str] = mapped_column(Text)  # the signed payload, canonical JSON
    signature: Mapped[str] = mapped_column(String(100))  # base64 of the Ed25519 signature
    issued_by: Mapped[str] = mapped_column(String(100))  # API key prefix, or "cli"
