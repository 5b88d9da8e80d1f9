"""``GET /v1/measures``: which measures apply to a subject for a purpose, and why.

A relying party gets the measures, their legal basis and the list or grade that
triggered them, never the file. A valid ID that is not registered gets the same
answer as a registered subject with no measures (an empty list): a relying party is
not entitled to learn who is registered, and no measure can apply to someone with
no file, so the empty answer is also the true one. The audit entry records which
case it was, for regulators.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import Connection

from socialcredit.access import Principal, Role
from socialcredit.api import services
from socialcredit.api.auditing import Auditor, audited, clean, note
from socialcredit.api.deps import allow
from socialcredit.api.errors import ApiError, responses
from socialcredit.api.lookup import as_of_or_today, check_unregistered, storable_code
from socialcredit.api.reads import StoreReads
from socialcredit.api.schemas import MeasuresAnswer
from socialcredit.identity.ids import looks_like_uscc, mask

router = APIRouter(tags=["measures"])

# Relying parties ask, for a registered purpose, what applies to a subject. Case
# workers and regulators read the file itself; subjects see their own file; nobody
# else has a purpose to declare.
RelyingPartyKey = Annotated[Principal, allow(Role.RELYING_PARTY)]


@router.get(
    "/measures",
    response_model=MeasuresAnswer,
    summary="Measures that apply to a subject for a purpose (relying parties)",
    responses=responses(401, 403, 422, 503),
    openapi_extra=audited("measures.query"),
)
async def query_measures(
    request: Request,
    principal: RelyingPartyKey,
    subject: Annotated[str, Query(max_length=40, description="ID number or credit code.")],
    purpose: Annotated[str, Query(max_length=60, description="A published purpose code.")],
    as_of: Annotated[dt.date | None, Query(description="YYYY-MM-DD; default today.")] = None,
) -> Response:
    # Taken from the app rather than declared as dependencies: each dependency costs
    # FastAPI a resolution step per request, and this is the hottest route.
    reads: StoreReads = request.app.state.reads
    auditor: Auditor = request.app.state.auditor
    day = as_of_or_today(as_of)
    n = note(request, subject=mask(subject), as_of=day.isoformat())
    n.purpose = clean(purpose, 60) or None
    # Both purpose checks come before the subject is looked at: a refusal says nothing
    # about the subject.
    if purpose not in services.purpose_codes():
        raise ApiError(422, "unknown_purpose", f"{purpose!r} is not a published purpose")
    if purpose not in principal.purposes:
        raise ApiError(
            403,
            "purpose_out_of_scope",
            f"this relying party is not registered for purpose {purpose!r}",
        )
    code = storable_code(subject)
    region = principal.relying_party_region

    def read(conn: Connection) -> tuple[int, services.MeasuresAnswer] | None:
        # One statement: the subject by code, the entries and the grade the answer needs.
        return services.measures_for_code(conn, code, purpose=purpose, as_of=day, region=region)

    try:
        found = await reads.run(read)
        if found is None:
            # Checked only now: legacy credit codes that fail the checksum are registered
            # through an override and must still be found.
            check_unregistered(code)
            # Built to be indistinguishable from a registered subject with no measures:
            # the kind comes from the ID's form, the catalogue from the party.
            answer = MeasuresAnswer(
                subject=mask(subject),
                subject_kind="organisation" if looks_like_uscc(subject) else "person",
                purpose=purpose,
                as_of=day,
                catalogue=services.catalogue_for(region, day).ref,
                measures=[],
            )
        else:
            n.subject_id, result = found
            answer = MeasuresAnswer.model_validate(result.as_dict())
    except services.MeasuresError as exc:
        raise ApiError(422, exc.code, str(exc)) from None
    n.detail["measures"] = [m.id for m in answer.measures]
    await auditor.record_async(
        request, principal, "ok" if n.subject_id is not None else "unknown_subject"
    )
    # Serialised here, by pydantic's own JSON encoder, in the response model's shape:
    # returned as a model, FastAPI would validate it again and encode it field by field
    # in Python, which cost as much as the rest of the answer.
    return Response(answer.model_dump_json(), media_type="application/json")
