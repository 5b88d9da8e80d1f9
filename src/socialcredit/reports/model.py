"""The subject report's shape: everything the platform holds on a subject, as of a date.

Pydantic models, frozen, so that one definition is the JSON the CLI prints, the API's
published schema, what the HTML page renders and what a credit-report certificate signs.
ID numbers appear masked everywhere: the report is meant to be printed and handed over.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from socialcredit.reports.canonical import canonical_json

REPORT_FORMAT = "socialcredit.report/1"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Identity(_Frozen):
    kind: str = Field(description="person or organisation")
    id: str = Field(description="Masked ID number or credit code; never the full number.")
    name: str
    province: str
    city: str
    registered_on: dt.date
    legal_representative: str | None = Field(
        default=None, description="Organisations: the legal representative's masked ID and name."
    )


class LinkedAccount(_Frozen):
    provider: str
    account: str = Field(description="Masked: the middle of the account number is hidden.")
    linked_on: dt.date


class ProfessionalProfile(_Frozen):
    profession: str
    licence_no: str
    employer: str | None = Field(default=None, description="Masked credit code and name.")
    registered_on: dt.date


class StatusEvent(_Frozen):
    status: str
    reason: str | None = None
    source: str
    recorded_at: dt.datetime


class DisplayWindow(_Frozen):
    """When the record may be shown: published rules, not a caseworker's choice."""

    min_months: int = Field(description="Earliest credit repair, in months after the decision.")
    max_months: int = Field(description="Display stops by itself after this many months.")
    shown_from: dt.date
    shown_until: dt.date = Field(description="First day it is no longer shown (exclusive).")
    query_bar_from: dt.date | None = Field(
        default=None,
        description="Negative records: first day it may no longer be queried at all "
        "(years after the conduct ended, from the policy).",
    )


class RecordEntry(_Frozen):
    record_id: int
    provider: str
    provider_record_id: str
    version: int
    record_type: str
    title: str
    category: str
    severity: str = Field(description="minor, general or serious")
    polarity: str = Field(description="negative or positive")
    legal_basis: str
    decision_ref: str | None = None
    decided_on: dt.date
    conduct_ended_on: dt.date | None = None
    amount_cny: str | None = None
    recorded_at: dt.datetime
    status: str = Field(description="As of the report date: active, annulled, corrected, ...")
    status_history: tuple[StatusEvent, ...]
    window: DisplayWindow
    shown: bool = Field(description="Active, inside its display window and not query-barred.")
    disputed: bool = Field(description="An objection against it is open.")


class Contribution(_Frozen):
    kind: str
    category: str
    points: int
    status: str
    record_id: int | None = None
    record_ref: str | None = None
    record_type: str | None = None
    base_points: int = 0
    repeat_points: int = 0


class CurrentScore(_Frozen):
    score: int
    grade: str
    as_of: dt.date
    policy: str = Field(description="id@version of the policy it was computed under.")
    reasons: tuple[Contribution, ...]
    contributions: tuple[Contribution, ...]


class HistoricScore(_Frozen):
    as_of: dt.date
    computed_at: dt.datetime
    engine: str
    score: int
    grade: str
    policy: str
    reasons: tuple[Contribution, ...]


class ListTransition(_Frozen):
    from_status: str | None = None
    to_status: str
    on: dt.date
    reason: str


class ListMembership(_Frozen):
    entry_id: int
    list_name: str
    status: str
    criterion: str
    legal_basis: str
    origin_province: str
    policy: str
    record_id: int | None = None
    entered_on: dt.date
    notice_until: dt.date | None = None
    published_on: dt.date | None = None
    planned_exit_on: dt.date | None = None
    exited_on: dt.date | None = None
    exit_reason: str | None = None
    in_force: bool = Field(description="Published and not exited on the report date.")
    transitions: tuple[ListTransition, ...]


class MeasureTrigger(_Frozen):
    kind: str = Field(description="list or grade")
    via: str = "self"
    list_name: str | None = None
    criterion: str | None = None
    entry_id: int | None = None
    grade: str | None = None
    organisation: str | None = Field(
        default=None, description="Masked code and name, when via the legal representative."
    )


class MeasureInForce(_Frozen):
    id: str
    title_zh: str
    title_en: str
    category: str = Field(description="reward or sanction")
    legal_basis: str
    defined_in: str
    purposes: tuple[str, ...] = Field(description="The published purposes it applies to.")
    triggered_by: tuple[MeasureTrigger, ...]


class Access(_Frozen):
    seq: int = Field(description="The audit log entry's number.")
    at: dt.datetime
    actor: str
    role: str
    purpose: str | None = None
    action: str
    outcome: str


class Policies(_Frozen):
    """The published rules the report was read under."""

    score_policy: str | None = Field(description="id@version, null if none was in force.")
    lineage: tuple[str, ...]
    record_catalogue: str
    measures_catalogue: str | None


class SubjectReport(_Frozen):
    format: str = REPORT_FORMAT
    as_of: dt.date
    generated_at: dt.datetime
    identity: Identity
    policies: Policies
    accounts: tuple[LinkedAccount, ...]
    professions: tuple[ProfessionalProfile, ...]
    records: tuple[RecordEntry, ...]
    disputed_records: int
    score: CurrentScore | None = Field(description="Null when no policy was in force.")
    score_history: tuple[HistoricScore, ...]
    lists: tuple[ListMembership, ...]
    measures: tuple[MeasureInForce, ...]
    accesses: tuple[Access, ...] = Field(
        description="Who read or wrote this file, newest first (this read is not yet in it)."
    )
    fee_cny: str = Field(default="0", description="Reports are free of charge.")

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def credit_content(self) -> dict[str, Any]:
        """What a credit-report certificate signs: the report without its access history,
        which is about who looked (relying parties' keys), not about the subject's credit."""
        return self.model_dump(mode="json", exclude={"accesses"})

    def canonical(self) -> str:
        return canonical_json(self.as_json())
