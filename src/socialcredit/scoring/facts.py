"""What the evaluator needs to know about one subject, already cut at the as-of instant."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecordFact:
    record_id: int
    provider_id: int
    provider_record_id: str
    record_type: str
    decided_on: dt.date
    conduct_ended_on: dt.date | None
    amount_fen: int | None
    status: str  # as of the cut-off instant

    @property
    def ref(self) -> str:
        return f"{self.provider_id}:{self.provider_record_id}"


@dataclass(frozen=True, slots=True)
class SubjectFacts:
    subject_id: int
    province_code: str
    professions: frozenset[str]
    records: tuple[RecordFact, ...]  # recorded before the cut-off
