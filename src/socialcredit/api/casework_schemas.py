"""Response models of the due-process routes: objections, repairs, annulments, notifications.

They mirror, field for field, the ``as_dict`` shapes of the views in
``socialcredit.casework`` (the one shape the command line's ``--json`` also prints): a
route validates the view's dictionary into its model and answers the model, so the JSON
is what it was and the published document says what it is. A list answers a bare JSON
array, as a named ``RootModel`` so that the document can name it.

The subject is shown as its ID number, masked unless the caller's role may see full
numbers (caseworker, regulator, admin).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, PlainSerializer, RootModel, WithJsonSchema

from socialcredit.api.schemas import Out

# A moment as ``datetime.isoformat`` writes it, as the views do (pydantic would write a
# UTC offset as Z): the answer stays the command line's --json to the byte.
IsoDateTime = Annotated[
    dt.datetime,
    PlainSerializer(dt.datetime.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

_SUBJECT = "The subject's ID number or credit code, masked unless the role may see full numbers."
_RECORD = "The record as the subject's file shows it: <provider name>:<provider's record id>."

# --- objections ------------------------------------------------------------------------


class ObjectionStep(Out):
    """One dated step of an objection, with who took it and why."""

    action: str = Field(description="filed, flagged, forwarded, decided or escalated.")
    from_status: str | None = Field(description="The status before the step; null at filing.")
    to_status: str = Field(description="The status after it (unchanged by an escalation).")
    on: dt.date = Field(description="The business day of the step.")
    actor: str = Field(description="Who took it: an API key's prefix, or a person's name.")
    reason: str


class ObjectionDeadlines(Out):
    """The three deadlines, fixed when the case is filed (working days)."""

    flag: dt.date = Field(description="Record flagged as disputed: filing + 1 working day.")
    forward: dt.date = Field(description="Forwarded to the provider: filing + 2 working days.")
    decision: dt.date = Field(description="Decided: forward deadline + 5 working days.")


class Objection(Out):
    """An objection to a record (Shanghai Social Credit Regulations art. 36)."""

    id: int = Field(description="The case number.")
    subject: str = Field(description=_SUBJECT)
    record_id: int = Field(description="The record objected to (the version then current).")
    record: str = Field(description=_RECORD)
    record_type: str = Field(description="A code from the record-type catalogue.")
    status: str = Field(description="filed, flagged, forwarded or decided.")
    outcome: str | None = Field(description="upheld, corrected or deleted; null until decided.")
    reason: str = Field(description="Why the record is wrong, as filed.")
    filed_by: str = Field(description="Who filed: an API key's prefix, or a person's name.")
    filed_on: dt.date
    deadlines: ObjectionDeadlines
    flagged_on: dt.date | None
    forwarded_on: dt.date | None
    decided_on: dt.date | None
    decision_reason: str | None
    escalated_on: dt.date | None = Field(
        description="When the case was escalated for missing the deadline of its current step."
    )
    steps: list[ObjectionStep] = Field(
        description="The dated steps, oldest first, when one case is read or changed; "
        "empty in lists."
    )


class ObjectionList(RootModel[list[Objection]]):
    """Objections, oldest first (without their steps)."""


class OverdueCase(Objection):
    """An open objection past the deadline of the step it waits for."""

    waiting_for: str = Field(description="The step overdue: flag, forward or decision.")
    due: dt.date = Field(description="Its deadline.")
    working_days_late: int = Field(description="Working days from the deadline to the day asked.")


class OverdueCaseList(RootModel[list[OverdueCase]]):
    """The escalation list: open objections past the deadline of their current step, the
    earliest deadline first."""


# --- credit repair -----------------------------------------------------------------------


class RepairApplication(Out):
    """An application for credit repair of one record (free of charge)."""

    id: int = Field(description="The case number.")
    subject: str = Field(description=_SUBJECT)
    record_id: int
    record: str = Field(description=_RECORD)
    record_type: str = Field(description="A code from the record-type catalogue.")
    status: str = Field(description="filed, approved or rejected.")
    obligations: list[str] = Field(description="The obligations met, as stated.")
    commitment: str = Field(description="The credit commitment (信用承诺), as given.")
    filed_by: str = Field(description="Who filed: an API key's prefix, or a person's name.")
    filed_on: dt.date
    decision_due: dt.date = Field(description="Filing + 3 working days.")
    decided_on: dt.date | None
    decided_by: str | None
    decision_reason: str | None
    escalated_on: dt.date | None = Field(
        description="When the application was escalated for an overdue decision."
    )


class RepairApplicationList(RootModel[list[RepairApplication]]):
    """Repair applications, oldest first."""


# --- annulments and the outbox -----------------------------------------------------------


class Annulment(Out):
    """A record annulled or corrected, and the cascade that takes it out of scores, lists
    and answers (due within 3 working days of receipt)."""

    id: int = Field(description="The cascade's number (a notification's cause_id).")
    record_id: int = Field(description="The record annulled, or the version corrected.")
    record: str = Field(description=_RECORD)
    record_type: str
    subject: str = Field(description=_SUBJECT)
    action: str = Field(description="annulled or corrected.")
    source: str = Field(description="Where the change came from: feed, api, cli or objection.")
    reason: str
    received_on: dt.date
    removal_due: dt.date = Field(description="Receipt + 3 working days.")
    removed_on: dt.date | None = Field(description="When the cascade ran.")
    late: bool = Field(description="Whether the cascade ran after its deadline.")
    notified: int = Field(description="Messages written: relying parties told, and the subject.")
    escalated_on: dt.date | None


class AnnulmentList(RootModel[list[Annulment]]):
    """Annulment cascades, oldest first."""


class Notification(Out):
    """A message in the outbox, to a relying party or to a subject."""

    id: int
    cause: str = Field(description="What caused it: annulment.")
    cause_id: int = Field(description="The cause's number (an annulment's id).")
    recipient: str = Field(description="party:<id> (a relying party) or subject:<id>.")
    relying_party: str | None = Field(description="The relying party's name; null for a subject.")
    subject: str = Field(description=_SUBJECT)
    record_id: int | None
    message: str
    created_on: dt.date
    delivered_at: IsoDateTime | None = Field(description="Null until delivered.")


class NotificationList(RootModel[list[Notification]]):
    """Notifications, oldest first."""
