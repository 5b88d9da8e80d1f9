"""The shape of a score, identical whatever executor computed it."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

REASON_COUNT = 4


@dataclass(frozen=True, slots=True)
class Contribution:
    kind: str  # "record" | "cap"
    category: str
    points: int
    status: str  # counted | category_not_in_force | no_rule | cap
    record_id: int | None = None
    record_ref: str | None = None  # "<provider_id>:<provider_record_id>"
    record_type: str | None = None
    base_points: int = 0
    repeat_points: int = 0

    def sort_key(self) -> tuple[int, int, str, str, int, str]:
        return (
            -abs(self.points),
            self.points,
            self.kind,
            self.record_type or "",
            self.record_id or 0,
            self.category,
        )


@dataclass(frozen=True, slots=True)
class ScoreResult:
    subject_id: int
    as_of: dt.date
    policy_id: str
    policy_version: str
    score: int
    grade: str
    contributions: tuple[Contribution, ...]  # sorted by Contribution.sort_key

    @property
    def reasons(self) -> tuple[Contribution, ...]:
        return tuple(c for c in self.contributions if c.points != 0)[:REASON_COUNT]

    def to_row(self, *, contributions: bool = True) -> dict[str, Any]:
        """The result as a RESULT_SCHEMA row; without ``contributions`` that column is null
        (the reasons are all a stored score needs, and the full list is the costly part)."""
        return {
            "subject_id": self.subject_id,
            "as_of": self.as_of,
            "policy_id": self.policy_id,
            "policy_version": self.policy_version,
            "score": self.score,
            "grade": self.grade,
            "reasons": contributions_json(self.reasons),
            "contributions": contributions_json(self.contributions) if contributions else None,
        }


def contributions_json(items: tuple[Contribution, ...] | list[Contribution]) -> str:
    """Canonical JSON for a contribution list: keys sorted, no spaces, no nulls."""
    return json.dumps(
        [{k: v for k, v in asdict(c).items() if v is not None} for c in items],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def parse_contributions(text: str) -> tuple[Contribution, ...]:
    return tuple(Contribution(**item) for item in json.loads(text))


# The Parquet file every population executor writes and the write-back reads.
# ``contributions`` is null unless the executor was asked for the full list.
RESULT_SCHEMA = pa.schema(
    [
        ("subject_id", pa.int64()),
        ("as_of", pa.date32()),
        ("policy_id", pa.string()),
        ("policy_version", pa.string()),
        ("score", pa.int64()),
        ("grade", pa.string()),
        ("reasons", pa.string()),
        ("contributions", pa.string()),
    ]
)


# The Parquet file of list memberships an executor writes beside the scores when asked:
# one row per list criterion a subject meets on the as-of date (``lists.list_decisions``
# is the contract), sorted by subject, list, criterion and record id. What the store does
# with them (notice, publication, exit) is ``lists.update_lists``'s business, not the
# executor's.
LIST_SCHEMA = pa.schema(
    [
        ("subject_id", pa.int64()),
        ("list_name", pa.string()),
        ("criterion", pa.string()),
        ("legal_basis", pa.string()),
        ("policy_id", pa.string()),
        ("policy_version", pa.string()),
        ("origin_province", pa.string()),
        ("notice_working_days", pa.int32()),
        ("record_id", pa.int64()),
        ("record_ref", pa.string()),
        ("record_type", pa.string()),
        ("decided_on", pa.date32()),
        ("planned_exit_on", pa.date32()),
        ("grade", pa.string()),
    ]
)
