"""No answer without its audit entry: when the log cannot take the entry, the caller gets a
503 and none of the data; when an answer arrives, its entry is already committed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from socialcredit.api import ApiSettings, create_app
from socialcredit.audit import verify
from socialcredit.db.models import Record, Score
from tests.api.conftest import (
    Pilot,
    assert_error,
    audit_rows,
    break_audit_log,
    feed_row,
    make_client,
    repair_audit_log,
)

Request = Callable[[TestClient, Pilot], Any]

REQUESTS: dict[str, Request] = {
    "subjects.read": lambda c, p: c.get(
        f"/v1/subjects/{p.shanghai[0]}", headers=p.headers("caseworker")
    ),
    "subjects.score": lambda c, p: c.get(
        f"/v1/subjects/{p.shanghai[0]}/score", headers=p.headers("subject")
    ),
    "measures.query": lambda c, p: c.get(
        "/v1/measures",
        headers=p.headers("relying_party"),
        params={"subject": p.shanghai[0], "purpose": "employment"},
    ),
    "realname.verify": lambda c, p: c.post(
        "/v1/realname/verify",
        headers=p.headers("account_provider"),
        json={"id_number": p.jiangsu[0], "name": p.jiangsu[1]},
    ),
    "records.submit": lambda c, p: c.post(
        "/v1/records",
        headers=p.headers("provider"),
        json={"records": [feed_row(subject_id=p.shanghai[0])]},
    ),
    "public.lists.read": lambda c, p: c.get("/v1/public/lists/black"),
    # A refusal must not go out unrecorded either.
    "refusal": lambda c, p: c.get(f"/v1/subjects/{p.unregistered}", headers=p.headers("regulator")),
}


@pytest.mark.parametrize("group_commit", [True, False], ids=["group", "direct"])
def test_no_answer_when_the_log_is_down(pilot: Pilot, group_commit: bool) -> None:
    break_audit_log(pilot.engine)
    with make_client(pilot.engine, audit_group_commit=group_commit) as client:
        for name, request in REQUESTS.items():
            response = request(client, pilot)
            assert_error(response, 503, "audit_unavailable")
            for secret in (pilot.shanghai[1], pilot.jiangsu[1], "match", "grade"):
                assert secret not in response.text, name
    with pilot.engine.connect() as conn:
        # Nothing was written either: the batch was refused before import, and the
        # computed score rolled back with its failed entry.
        assert conn.scalar(select(func.count()).select_from(Record)) == 0
        assert conn.scalar(select(func.count()).select_from(Score)) == 0
    assert audit_rows(pilot.engine) == []
    repair_audit_log(pilot.engine)
    with make_client(pilot.engine, audit_group_commit=group_commit) as client:
        for name, request in REQUESTS.items():
            before = len(audit_rows(pilot.engine))
            response = request(client, pilot)
            assert response.status_code < 500, (name, response.text)
            # The response has arrived: its entry must already be there, committed.
            assert len(audit_rows(pilot.engine)) > before, name
    assert verify(pilot.engine).ok


@pytest.mark.parametrize("name", ["measures.query", "subjects.score", "records.submit"])
def test_entry_is_committed_when_the_response_starts(pilot: Pilot, name: str) -> None:
    """Look from the wire: at the first byte of each response, its entry is already
    visible to another connection, so it is committed, not merely written."""
    seen: list[int] = []

    class Spy:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async def spy(message: Message) -> None:
                if message["type"] == "http.response.start":
                    seen.append(len(audit_rows(pilot.engine, action=name)))
                await send(message)

            await self.app(scope, receive, spy)

    app = create_app(pilot.engine, ApiSettings())
    app.add_middleware(Spy)
    with TestClient(app) as client:
        response = REQUESTS[name](client, pilot)
    assert response.status_code == 200, response.text
    assert seen and seen[0] >= 1


def test_the_chain_stays_valid_under_mixed_traffic(client: TestClient, pilot: Pilot) -> None:
    for _ in range(3):
        for request in REQUESTS.values():
            request(client, pilot)
    result = verify(pilot.engine)
    assert result.ok and result.count >= 3 * len(REQUESTS)
