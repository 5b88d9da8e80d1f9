"""``POST /v1/realname/verify``: does this ID number belong to this name? Yes or no.

The answer is the same for an unregistered ID and a wrong name, so it cannot be
used to learn who is registered; the rate limit per key stops it being used to
guess names; and every check is audited against the subject, so a person can see
which providers checked their ID.
"""

from __future__ import annotations

import hmac
import math
from typing import Annotated, Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from socialcredit.access import Principal, Role
from socialcredit.api.auditing import audited, note
from socialcredit.api.deps import AuditorDep, EngineDep, RealnameLimiterDep, allow
from socialcredit.api.errors import ApiError, responses
from socialcredit.api.schemas import RealnameAnswer, RealnameQuery
from socialcredit.db.models import Subject
from socialcredit.identity.ids import InvalidIdError, mask, parse_ric
from socialcredit.identity.registry import normalise_name
from socialcredit.records.providers import ACCOUNT_PROVIDER_KINDS

router = APIRouter(prefix="/realname", tags=["real-name"])

# Only account providers (telecom, bank, postal, online service) link accounts to
# persons, so only they need to check a real name, and only before linking; the
# kind is checked below, since the role alone does not say it.
AccountProviderKey = Annotated[Principal, allow(Role.PROVIDER)]


@router.post(
    "/verify",
    response_model=RealnameAnswer,
    summary="Check that an ID number is registered under a name (account providers)",
    responses=responses(400, 401, 403, 413, 422, 429, 503),
    openapi_extra=audited("realname.verify"),
)
async def verify_realname(
    request: Request,
    principal: AccountProviderKey,
    engine: EngineDep,
    auditor: AuditorDep,
    limiter: RealnameLimiterDep,
    query: RealnameQuery,
) -> RealnameAnswer:
    n = note(request, subject=mask(query.id_number))
    if not principal.is_account_provider:
        raise ApiError(
            403,
            "not_account_provider",
            f"only {', '.join(sorted(ACCOUNT_PROVIDER_KINDS))} providers verify real names",
        )
    wait = limiter.take(principal.key_id)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "rate_limited",
            f"too many real-name checks with this key; retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    try:
        number = parse_ric(query.id_number).number
    except InvalidIdError as exc:
        # Checked without the store: the answer says nothing about who is registered.
        raise ApiError(422, "malformed_id", str(exc)) from None

    def registered() -> Any:
        s = Subject.__table__
        with engine.connect() as conn:
            return conn.execute(
                select(s.c.id, s.c.name).where(s.c.code == number, s.c.kind == "person")
            ).first()

    row = await run_in_threadpool(registered)
    given = normalise_name(query.name).encode("utf-8")
    match = row is not None and hmac.compare_digest(given, str(row.name).encode("utf-8"))
    # The subject is named in the entry even on a mismatch: a wrong name tried against
    # someone's ID is exactly what they should be able to see.
    n.subject_id = row.id if row is not None else None
    if row is None:
        n.detail["registered"] = False
    await auditor.record_async(request, principal, "match" if match else "no_match")
    return RealnameAnswer(match=match)
