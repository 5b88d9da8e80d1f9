"""``POST /v1/records``: a provider submits a batch of feed rows.

The batch goes through the file importer itself (written as a JSON Lines file), so
validation, rejects and idempotency on (provider, provider_record_id) are exactly
those of ``socialcredit records import``: one behaviour to document and to test.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection, Engine, select

from socialcredit.access import Principal, Role
from socialcredit.api.auditing import AuditNote, Auditor, audited, note
from socialcredit.api.deps import AuditorDep, EngineDep, allow
from socialcredit.api.errors import ApiError, responses
from socialcredit.api.schemas import RecordBatch, RowReject, SubmitResult
from socialcredit.db.models import AccountLink, Provider, RecordType, RescoreQueue, Subject
from socialcredit.identity.ids import compact
from socialcredit.lists import rescore_and_list
from socialcredit.policy import PolicyError
from socialcredit.records.ingest import FeedRefusedError, import_feed
from socialcredit.records.ingest.columns import REQUIRED_COLUMNS

router = APIRouter(tags=["records"])

# Only a provider furnishes records, and only as itself: the key names the provider,
# whose catalogue types (narrowed by the key) bound what it may submit. Caseworkers
# change records through casework, not feeds; nobody else writes records.
ProviderKey = Annotated[Principal, allow(Role.PROVIDER)]

_IN_CHUNK = 500


# Present in every written row (null when not given). In a JSON object an absent key
# is what an empty cell is in a CSV file: the row is rejected for a missing value,
# rather than the whole batch refused for a missing column.
_ALWAYS = (*REQUIRED_COLUMNS, "subject_id")


def _row_dicts(batch: RecordBatch) -> list[dict[str, Any]]:
    return [
        {**dict.fromkeys(_ALWAYS), **row.model_dump(exclude_none=True)} for row in batch.records
    ]


def _scope_rejects(
    conn: Connection, principal: Principal, rows: list[dict[str, Any]]
) -> dict[int, RowReject]:
    """Rows refused before the importer sees them, by batch line.

    The importer enforces the provider's own scope. A key can be narrower: fewer
    record types, or only subjects registered in one region (e.g. a district office's
    key); those rows are rejected here with the importer's codes and shapes, as are
    rows carrying a NUL character.
    """
    out: dict[int, RowReject] = {}
    for line, row in enumerate(rows, start=1):
        # PostgreSQL cannot keep a NUL inside text: the row is rejected here rather than
        # letting the database fail the whole batch.
        bad = next((k for k, v in row.items() if isinstance(v, str) and "\x00" in v), None)
        if bad is not None:
            out[line] = RowReject(
                line=line,
                provider_record_id=None,
                field=bad,
                code="bad_character",
                reason=f"{bad} contains a NUL character",
            )
    known = set(conn.scalars(select(RecordType.code))) if principal.types_narrowed else set()
    for line, row in enumerate(rows, start=1):
        if line in out:
            continue
        rtype = row.get("record_type")
        if isinstance(rtype, str) and rtype in known and rtype not in principal.record_types:
            out[line] = RowReject(
                line=line,
                provider_record_id=_text(row.get("provider_record_id")),
                field="record_type",
                code="out_of_scope",
                reason=f"record type {rtype!r} is outside this key's scope",
            )
    if principal.region is None:
        return out
    divisions = _divisions(conn, rows)
    for line, row in enumerate(rows, start=1):
        if line in out or str(row.get("action") or "record").lower() == "annul":
            continue
        division = divisions.get(_subject_ref(row))
        if division is not None and not division.startswith(principal.region):
            out[line] = RowReject(
                line=line,
                provider_record_id=_text(row.get("provider_record_id")),
                field="subject_id" if row.get("subject_id") else "account_id",
                code="out_of_region",
                reason=f"the subject is registered outside this key's region {principal.region}",
            )
    return out


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _subject_ref(row: dict[str, Any]) -> tuple[str, str] | None:
    if row.get("subject_id"):
        return ("id", compact(str(row["subject_id"])))
    if row.get("account_provider") and row.get("account_id"):
        return (str(row["account_provider"]).strip(), str(row["account_id"]).strip())
    return None


def _divisions(conn: Connection, rows: list[dict[str, Any]]) -> dict[tuple[str, str] | None, str]:
    """Registered division of each subject the rows name (by ID or by linked account)."""
    refs = {_subject_ref(r) for r in rows} - {None}
    codes = sorted(ref[1] for ref in refs if ref is not None and ref[0] == "id")
    out: dict[tuple[str, str] | None, str] = {}
    s, a, p = Subject.__table__, AccountLink.__table__, Provider.__table__
    for start in range(0, len(codes), _IN_CHUNK):
        part = codes[start : start + _IN_CHUNK]
        for code, division in conn.execute(
            select(s.c.code, s.c.division_code).where(s.c.code.in_(part))
        ):
            out[("id", code)] = division
    accounts = sorted(ref for ref in refs if ref is not None and ref[0] != "id")
    for start in range(0, len(accounts), _IN_CHUNK):
        wanted = set(accounts[start : start + _IN_CHUNK])
        ids = sorted({acc for _, acc in wanted})
        for pname, acc, division in conn.execute(
            select(p.c.name, a.c.account_id, s.c.division_code)
            .join(a, a.c.provider_id == p.c.id)
            .join(s, s.c.id == a.c.subject_id)
            .where(a.c.account_id.in_(ids))
        ):
            if (pname, acc) in wanted:
                out[(pname, acc)] = division
    return out


def _import(
    engine: Engine, principal: Principal, rows: list[dict[str, Any]], lines: list[int]
) -> tuple[int, int, int, list[RowReject], set[int]]:
    """Run the file importer on ``rows``; ``lines[i]`` is the batch line of ``rows[i]``."""
    assert principal.provider_name is not None
    touched: set[int] = set()
    with tempfile.TemporaryDirectory(prefix="sc-api-") as tmp:
        # The batch's name in import history says it came through the API, and from
        # which key; a fresh one each time, so no batch is mistaken for a rerun.
        feed = Path(tmp) / f"api-{principal.prefix}-{uuid.uuid4().hex[:12]}.jsonl"
        rejects_file = Path(tmp) / "rejects.jsonl"
        with feed.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        try:
            result = import_feed(
                engine,
                feed,
                provider=principal.provider_name,
                rejects_path=rejects_file,
                parallel=False,  # never fork a worker process from inside a server
                on_chunk_committed=touched.update,
            )
        except FeedRefusedError as exc:
            message = str(exc).removeprefix(f"{feed.name}: ")
            raise ApiError(422, "batch_refused", message) from None
        rejects = []
        if rejects_file.exists():
            with rejects_file.open(encoding="utf-8") as f:
                for raw in f:
                    r = json.loads(raw)
                    rejects.append(
                        RowReject(
                            line=lines[int(r["line"]) - 1],
                            provider_record_id=r.get("provider_record_id"),
                            field=r["field"],
                            code=r["code"],
                            reason=r["reason"],
                        )
                    )
    return result.batch_id, result.accepted, result.duplicates, rejects, touched


def _rescore(engine: Engine, subjects: set[int]) -> tuple[int, int]:
    """Rescore the batch's subjects and update their list entries now, as a file import
    does, so the next read sees their new scores and lists."""
    if not subjects:
        return 0, 0
    # On a policy error they stay queued for `socialcredit rescore`; the answer says how many.
    with contextlib.suppress(PolicyError):
        rescore_and_list(engine, subjects)
    ids = sorted(subjects)
    pending: set[int] = set()
    with engine.connect() as conn:
        for start in range(0, len(ids), _IN_CHUNK):
            part = ids[start : start + _IN_CHUNK]
            pending.update(
                conn.scalars(
                    select(RescoreQueue.subject_id).where(RescoreQueue.subject_id.in_(part))
                )
            )
    return len(subjects - pending), len(pending)


def _write_entries(
    engine: Engine,
    auditor: Auditor,
    principal: Principal,
    n: AuditNote,
    outcome: str,
    subjects: set[int],
) -> None:
    """One entry per subject whose file changed (so each sees who wrote to it), then the
    batch's own entry, committed together before the answer."""
    events = [
        auditor.event(
            principal,
            AuditNote(
                action="records.write",
                subject_id=sid,
                detail={"batch_id": n.detail.get("batch_id")},
            ),
            "ok",
        )
        for sid in sorted(subjects)
    ]
    events.append(auditor.event(principal, n, outcome))
    with engine.begin() as conn:
        auditor.append_many_in(conn, events)
    n.written = True


@router.post(
    "/records",
    response_model=SubmitResult,
    summary="Submit a batch of feed rows (provider keys)",
    responses=responses(400, 401, 403, 413, 422, 503),
    openapi_extra=audited("records.submit"),
)
def submit_records(
    request: Request,
    principal: ProviderKey,
    engine: EngineDep,
    auditor: AuditorDep,
    batch: RecordBatch,
) -> SubmitResult:
    rows = _row_dicts(batch)
    n = note(request, rows=len(rows))
    # The attempt is on record before anything is stored: if the closing entry then
    # cannot be written, the log still shows that this key submitted this batch.
    auditor.record_event(auditor.event(principal, n, "received"))
    with engine.connect() as conn:
        refused = _scope_rejects(conn, principal, rows)
    keep = [(line, row) for line, row in enumerate(rows, start=1) if line not in refused]
    batch_id: int | None = None
    accepted = duplicates = 0
    rejects: list[RowReject] = list(refused.values())
    touched: set[int] = set()
    if keep:
        batch_id, accepted, duplicates, imported, touched = _import(
            engine, principal, [row for _, row in keep], [line for line, _ in keep]
        )
        rejects.extend(imported)
    rejects.sort(key=lambda r: r.line)
    n.detail.update(
        batch_id=batch_id, accepted=accepted, duplicates=duplicates, rejected=len(rejects)
    )
    rescored, pending = _rescore(engine, touched)
    if not rejects:
        outcome = "ok"
    elif accepted or duplicates:
        outcome = "partial"
    else:
        outcome = "rejected"
    _write_entries(engine, auditor, principal, n, outcome, touched)
    return SubmitResult(
        batch_id=batch_id,
        accepted=accepted,
        duplicates=duplicates,
        rejected=len(rejects),
        rejects=rejects,
        rescored=rescored,
        rescore_pending=pending,
    )
