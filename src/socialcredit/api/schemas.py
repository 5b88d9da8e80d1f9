"""Request and response models: the published shape of every answer.

Response models accept attributes as well as mappings, so the lists and measures
modules can hand over their own dataclasses and the API still answers in this shape.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="ignore")


class Health(Out):
    status: Literal["ok"] = "ok"


# --- records -------------------------------------------------------------------------


class FeedRow(BaseModel):
    """One row with the columns of the file feed; checked exactly like a file row.

    Values are taken as text, as from a CSV file: a bad date or amount is a rejected
    row, not a refused batch. A column outside the feed format (or a prohibited one:
    religion, ethnicity, biometrics, health...) refuses the whole batch.
    """

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "provider_record_id": "TP31-2026-000123",
                "subject_id": "310104198807150417",
                "record_type": "traffic.speeding",
                "decision_ref": "沪公交决字〔2026〕第000123号",
                "decided_on": "2026-11-20",
            }
        },
    )

    provider_record_id: str | None = None
    subject_id: str | None = Field(default=None, description="Resident ID or credit code.")
    subject_name: str | None = None
    record_type: str | None = Field(default=None, description="A code from the catalogue.")
    decision_ref: str | None = None
    decided_on: str | None = Field(default=None, description="YYYY-MM-DD.")
    conduct_ended_on: str | None = Field(default=None, description="YYYY-MM-DD.")
    amount_cny: str | int | float | None = None
    account_provider: str | None = None
    account_id: str | None = None
    action: str | None = Field(default=None, description="record (default), correct or annul.")


class RecordBatch(BaseModel):
    records: list[FeedRow] = Field(min_length=1)


class RowReject(Out):
    line: int = Field(description="1-based position of the row in the batch.")
    provider_record_id: str | None = None
    field: str
    code: str
    reason: str


class SubmitResult(Out):
    batch_id: int | None = Field(description="Import batch; null if no row reached the importer.")
    accepted: int
    duplicates: int
    rejected: int
    rejects: list[RowReject]
    rescored: int = Field(description="Subjects rescored before this answer.")
    rescore_pending: int = Field(
        description="Subjects left in the rescore queue (e.g. no policy in force for them)."
    )


# --- subjects ------------------------------------------------------------------------


class SubjectIdentity(Out):
    kind: str
    id: str = Field(description="Masked (3101**********123X) unless full_id was granted.")
    name: str
    # Birth date, sex and the full division code are what the mask hides; they are
    # shown only with the full ID.
    birth_date: dt.date | None = None
    sex: str | None = None
    division_code: str | None = None
    province: str
    city: str
    registered_at: dt.datetime


class RecordView(Out):
    provider: str
    provider_record_id: str
    version: int
    record_type: str
    category: str | None
    severity: str | None
    polarity: str | None
    decision_ref: str | None
    decided_on: dt.date
    conduct_ended_on: dt.date | None
    amount_cny: str | None
    status: str
    recorded_at: dt.datetime


class ListEntryView(Out):
    list_name: str
    status: str
    criterion: str
    origin_province: str
    legal_basis: str
    policy: str
    entered_on: dt.date
    notice_until: dt.date | None
    published_on: dt.date | None
    planned_exit_on: dt.date | None
    exited_on: dt.date | None
    exit_reason: str | None


class PolicyRef(Out):
    id: str
    version: str


class ScoreSummary(Out):
    score: int
    grade: str
    as_of: dt.date
    policy: PolicyRef
    computed_at: dt.datetime
    engine: str


class SubjectFile(Out):
    subject: SubjectIdentity
    record_counts: dict[str, int] = Field(description="Current records by status.")
    records: list[RecordView] = Field(description="Current version of each record.")
    lists: list[ListEntryView]
    latest_score: ScoreSummary | None


class Contribution(Out):
    kind: str
    category: str
    points: int
    status: str
    record_id: int | None = None
    record_ref: str | None = None
    record_type: str | None = None
    base_points: int = 0
    repeat_points: int = 0


class ScoreExplanation(Out):
    subject: str
    score: int
    grade: str
    policy: PolicyRef
    as_of: dt.date
    computed_at: dt.datetime
    engine: str
    reasons: list[Contribution] = Field(description="The four largest contributions.")
    contributions: list[Contribution] | None = Field(
        default=None, description="Every contribution, with ?contributions=true."
    )


# --- real-name verification ----------------------------------------------------------


class RealnameQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(min_length=1, max_length=40, description="Resident ID number.")
    name: str = Field(min_length=1, max_length=100, description="Name as on the ID card.")


class RealnameAnswer(Out):
    match: bool = Field(description="Whether this ID number is registered under this name.")


# --- measures ------------------------------------------------------------------------
# These mirror the ``as_dict`` shapes of socialcredit.measures and socialcredit.lists.


class Title(Out):
    zh: str
    en: str


class Basis(Out):
    """What triggered a measure: a published list entry, or the subject's grade."""

    kind: str = Field(description="list or grade")
    via: str = Field(default="self", description="self, or legal_representative")
    list_name: str | None = None
    criterion: str | None = None
    entry_id: int | None = None
    entry_legal_basis: str | None = Field(default=None, description="Legal basis of the listing.")
    origin_province: str | None = Field(
        default=None, description="Where the entry was decided (it holds in all of the YRD)."
    )
    published_on: dt.date | None = None
    planned_exit_on: dt.date | None = None
    grade: str | None = None
    score_policy: str | None = Field(default=None, description="id@version behind the grade.")
    organisation: str | None = Field(
        default=None, description="Masked credit code, when via the legal representative."
    )
    organisation_name: str | None = None


class AppliedMeasure(Out):
    id: str
    title: Title
    category: str = Field(description="reward or sanction")
    legal_basis: str
    defined_in: str = Field(description="id@version of the catalogue that defines it.")
    triggered_by: list[Basis]


class MeasuresAnswer(Out):
    subject: str = Field(description="The subject as asked about, masked.")
    subject_kind: str = Field(description="person or organisation (from the ID's form).")
    purpose: str
    as_of: dt.date
    catalogue: str = Field(description="id@version of the measures catalogue applied.")
    measures: list[AppliedMeasure]


# --- public catalogues and lists -----------------------------------------------------


class PublicListEntry(Out):
    entry_id: int
    subject: str = Field(description="Masked ID number or credit code.")
    name: str
    subject_kind: str
    list_name: str
    criterion: str
    legal_basis: str
    origin_province: str
    policy: str = Field(description="id@version of the policy it was decided under.")
    entered_on: dt.date
    published_on: dt.date | None = None
    planned_exit_on: dt.date | None = None


class PublicListPage(Out):
    list_name: str
    limit: int
    offset: int
    total: int
    entries: list[PublicListEntry]


class Purpose(Out):
    code: str
    title: Title
    legal_basis: str
    kinds: list[str] | None = Field(
        default=None, description="Kinds of relying party that may hold it; null: any."
    )


class PurposeCatalogue(Out):
    purposes: list[Purpose]


class MeasureTriggerSpec(Out):
    model_config = ConfigDict(from_attributes=True, extra="ignore", populate_by_name=True)

    list_name: str | None = Field(default=None, alias="list", description="black or red")
    criteria: list[str] | None = Field(default=None, description="List criteria it is narrowed to.")
    grade: list[str] | None = Field(default=None, description="Grades that earn it (rewards).")


class MeasureSpec(Out):
    id: str
    title: Title
    category: str
    legal_basis: str
    trigger: MeasureTriggerSpec
    target: list[str]
    purposes: list[str]
    defined_in: str


class MeasureCatalogueView(Out):
    id: str
    version: str
    region: str = Field(description="00 national, else the province's two digits.")
    title: str
    legal_basis: str
    effective_from: dt.date
    effective_until: dt.date | None = None
    lineage: list[str]
    measures: list[MeasureSpec]


class MeasureCatalogues(Out):
    catalogues: list[MeasureCatalogueView]


class RecordTypeInfo(Out):
    code: str
    title: str
    category: str
    issuing_body_kind: str
    legal_basis: str
    severity: str
    polarity: str
    window_months: tuple[int, int]
    repairable: bool
    profession: str | None = None
    amount_relevant: bool = False


class RecordTypeCatalogue(Out):
    version: str
    published_on: dt.date
    categories: dict[str, str]
    record_types: list[RecordTypeInfo]
