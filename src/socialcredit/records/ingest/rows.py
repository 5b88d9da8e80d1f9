"""Checking one feed row on its own, before anything is looked up in the store."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from socialcredit.identity.ids import compact
from socialcredit.identity.registry import normalise_name
from socialcredit.records.ingest.columns import ACTIONS
from socialcredit.records.ingest.readers import Row

MAX_AMOUNT_FEN = 10**17  # far above any real decision; guards against unit mistakes


@dataclass(frozen=True)
class Reject:
    line: int
    field: str
    code: str
    reason: str
    provider_record_id: str | None = None


class ParsedRow(NamedTuple):
    line: int
    provider_record_id: str
    action: str
    record_type: str | None
    subject_code: str | None
    subject_name: str | None
    account_provider: str | None
    account_id: str | None
    decision_ref: str | None
    decided_on: str | None  # ISO dates, checked
    conduct_ended_on: str | None
    amount_fen: int | None
    # Hash of the row's content as sent (subject as given): equal content, equal hash.
    content_hash: str


class RowError(ValueError):
    def __init__(self, field: str, code: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.code = code
        self.reason = reason


def _date(row: Row, field: str, today: str) -> str | None:
    """A checked date as ISO text: it compares correctly as text, goes to the store as
    is, and crosses from the parsing process to the importer cheaply."""
    raw = row.get(field)
    if raw is None:
        return None
    try:
        value = dt.date.fromisoformat(raw[:10] if len(raw) > 10 and raw[10] in "T " else raw)
    except ValueError:
        raise RowError(field, "bad_date", f"{field} {raw!r} is not a date (YYYY-MM-DD)") from None
    text = value.isoformat()
    if text > today:
        raise RowError(field, "future_date", f"{field} {text} is in the future")
    return text


def _amount_fen(raw: str | None) -> int | None:
    if raw is None:
        return None
    if raw.isdigit() and len(raw) < 15:  # the common case: whole yuan
        return int(raw) * 100
    try:
        amount = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        raise RowError("amount_cny", "bad_amount", f"amount_cny {raw!r} is not a number") from None
    if not amount.is_finite():
        raise RowError("amount_cny", "bad_amount", f"amount_cny {raw!r} is not a number")
    if amount < 0:
        raise RowError("amount_cny", "negative_amount", f"amount_cny {raw} is negative")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise RowError("amount_cny", "bad_amount", f"amount_cny {raw} has more than 2 decimals")
    if fen >= MAX_AMOUNT_FEN:
        raise RowError("amount_cny", "bad_amount", f"amount_cny {raw} is implausibly large")
    return int(fen)


_names: dict[str, str] = {}


def _name(raw: str) -> str:
    # Feeds repeat the same names many times; NFKC on each would dominate parsing.
    found = _names.get(raw)
    if found is None:
        if len(_names) > 100_000:
            _names.clear()
        found = _names[raw] = normalise_name(raw)
    return found


def content_hash(
    subject: str | None,
    record_type: str | None,
    decision_ref: str | None,
    decided_on: str | None,
    conduct_ended_on: str | None,
    amount_fen: int | None,
) -> str:
    key = f"{subject}|{record_type}|{decision_ref}|{decided_on}|{conduct_ended_on}|{amount_fen}"
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def parse_row(line: int, row: Row, *, today: dt.date | str) -> ParsedRow:
    """Parse and check a row's own fields; raises RowError naming the field."""
    if isinstance(today, dt.date):
        today = today.isoformat()
    prid = row.get("provider_record_id")
    if prid is None:
        raise RowError("provider_record_id", "missing_value", "provider_record_id is empty")
    if len(prid) > 100:
        raise RowError(
            "provider_record_id", "too_long", "provider_record_id exceeds 100 characters"
        )
    action = (row.get("action") or "record").lower()
    if action not in ACTIONS:
        raise RowError(
            "action", "bad_action", f"action {action!r} is not one of {', '.join(ACTIONS)}"
        )
    subject = row.get("subject_id")
    account_provider = row.get("account_provider")
    account_id = row.get("account_id")
    name = row.get("subject_name")
    if (account_provider is None) != (account_id is None):
        field = "account_id" if account_id is None else "account_provider"
        raise RowError(field, "missing_value", "account_provider and account_id go together")
    record_type = row.get("record_type")
    decided_on = _date(row, "decided_on", today)
    if action != "annul":
        if subject is None and account_id is None:
            if name is not None:
                raise RowError(
                    "subject_id",
                    "name_only",
                    "a subject is identified by ID number, credit code or linked account, "
                    "never by name alone",
                )
            raise RowError("subject_id", "missing_value", "no subject_id and no linked account")
        if record_type is None:
            raise RowError("record_type", "missing_value", "record_type is empty")
        if decided_on is None:
            raise RowError("decided_on", "missing_value", "decided_on is empty")
    decision_ref = row.get("decision_ref")
    if decision_ref is not None and len(decision_ref) > 200:
        raise RowError("decision_ref", "too_long", "decision_ref exceeds 200 characters")
    subject_code = compact(subject) if subject else None
    conduct_ended_on = _date(row, "conduct_ended_on", today)
    amount_fen = _amount_fen(row.get("amount_cny"))
    given = subject_code or (f"{account_provider}/{account_id}" if account_id else None)
    return ParsedRow(
        line=line,
        provider_record_id=prid,
        action=action,
        record_type=record_type,
        subject_code=subject_code,
        subject_name=_name(name) if name else None,
        account_provider=account_provider,
        account_id=account_id,
        decision_ref=decision_ref,
        decided_on=decided_on,
        conduct_ended_on=conduct_ended_on,
        amount_fen=amount_fen,
        content_hash=content_hash(
            given, record_type, decision_ref, decided_on, conduct_ended_on, amount_fen
        ),
    )
