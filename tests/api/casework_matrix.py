"""Rows of the authorization matrix for the casework routes (objections, repair,
annulments, notifications), with the cases they need.

The matrix calls each route once per role on one pilot, so every call that is allowed to
succeed gets a fresh case in the state its step needs (a new record, a filed, flagged or
forwarded objection, a filed repair application), made through the casework services on
today's date. Calls by roles that are refused never reach the case.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from socialcredit.casework import objections, repair
from socialcredit.casework.common import Actor
from socialcredit.db.models import Record
from socialcredit.records.ingest import import_feed
from tests.api.conftest import TRAFFIC, Pilot, feed_row

CASEWORKER = Actor("cw-matrix", "caseworker")
_serial = itertools.count(1)


def new_record(p: Pilot) -> int:
    """A fresh speeding record of the pilot's Shanghai subject, furnished by the traffic
    police (the matrix's provider key), through the real importer."""
    prid = f"MX-{next(_serial)}"
    row = feed_row(provider_record_id=prid, subject_id=p.shanghai[0], decided_on="2026-11-02")
    with tempfile.TemporaryDirectory(prefix="sc-matrix-") as tmp:
        path = Path(tmp) / "feed.jsonl"
        path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
        result = import_feed(p.engine, path, provider=TRAFFIC, parallel=False)
    assert result.accepted == 1, result
    with p.engine.connect() as conn:
        rid = conn.scalar(select(Record.id).where(Record.provider_record_id == prid))
    assert rid is not None
    return int(rid)


def new_objection(p: Pilot, state: str) -> int:
    today = dt.date.today()
    view = objections.file_objection(
        p.engine, actor=CASEWORKER, record_id=new_record(p), reason="测速照片非本人车辆", on=today
    )
    if state in ("flagged", "forwarded"):
        objections.flag_objection(p.engine, actor=CASEWORKER, objection_id=view.id, on=today)
    if state == "forwarded":
        objections.forward_objection(p.engine, actor=CASEWORKER, objection_id=view.id, on=today)
    return view.id


def new_application(p: Pilot) -> int:
    view = repair.apply_for_repair(
        p.engine,
        actor=CASEWORKER,
        record_id=new_record(p),
        obligations=["罚款200元已缴清"],
        commitment="承诺遵守道路交通安全法规",
        on=dt.date.today(),
    )
    return view.id


def rows(endpoint: Any) -> list[Any]:
    """The casework rows, built with the matrix's ``Endpoint`` class."""
    readers = {"caseworker": 200, "regulator": 200}
    return [
        endpoint(
            "objection.file",
            "POST",
            "/v1/objections",
            lambda p: "/v1/objections",
            {"anonymous": 401, "subject": 201, "caseworker": 201},
            body=lambda p, role: (
                {"record_id": new_record(p), "reason": "非本人驾驶"}
                if role in ("subject", "caseworker")
                else {"record_id": 1, "reason": "x"}
            ),
        ),
        endpoint(
            "objection.list",
            "GET",
            "/v1/objections",
            lambda p: "/v1/objections",
            # The telecom's provider key covers no record types: it has no cases.
            {"anonymous": 401, **readers, "provider": 200, "subject": 200},
        ),
        endpoint(
            "objection.overdue",
            "GET",
            "/v1/objections/overdue",
            lambda p: "/v1/objections/overdue",
            {"anonymous": 401, **readers, "provider": 200},
        ),
        endpoint(
            "objection.read",
            "GET",
            "/v1/objections/{objection_id}",
            lambda p: f"/v1/objections/{new_objection(p, 'filed')}",
            {"anonymous": 401, **readers, "provider": 200, "subject": 200},
        ),
        endpoint(
            "objection.flag",
            "POST",
            "/v1/objections/{objection_id}/flag",
            lambda p: f"/v1/objections/{new_objection(p, 'filed')}/flag",
            {"anonymous": 401, "caseworker": 200},
        ),
        endpoint(
            "objection.forward",
            "POST",
            "/v1/objections/{objection_id}/forward",
            lambda p: f"/v1/objections/{new_objection(p, 'flagged')}/forward",
            {"anonymous": 401, "caseworker": 200},
        ),
        endpoint(
            "objection.decide",
            "POST",
            "/v1/objections/{objection_id}/decision",
            lambda p: f"/v1/objections/{new_objection(p, 'forwarded')}/decision",
            {"anonymous": 401, "provider": 200, "caseworker": 200},
            body=lambda p, role: {"outcome": "upheld", "reason": "经核查，记录无误"},
        ),
        endpoint(
            "repair.apply",
            "POST",
            "/v1/repairs",
            lambda p: "/v1/repairs",
            {"anonymous": 401, "subject": 201, "caseworker": 201},
            body=lambda p, role: {
                "record_id": new_record(p) if role in ("subject", "caseworker") else 1,
                "obligations": ["罚款已缴清"],
                "commitment": "承诺今后遵守交通法规",
            },
        ),
        endpoint(
            "repair.list",
            "GET",
            "/v1/repairs",
            lambda p: "/v1/repairs",
            {"anonymous": 401, **readers, "subject": 200},
        ),
        endpoint(
            "repair.read",
            "GET",
            "/v1/repairs/{application_id}",
            lambda p: f"/v1/repairs/{new_application(p)}",
            {"anonymous": 401, **readers, "subject": 200},
        ),
        endpoint(
            "repair.decide",
            "POST",
            "/v1/repairs/{application_id}/decision",
            lambda p: f"/v1/repairs/{new_application(p)}/decision",
            {"anonymous": 401, "caseworker": 200},
            body=lambda p, role: {"approve": True, "reason": "已核验缴款凭证"},
        ),
        endpoint(
            "record.annul",
            "POST",
            "/v1/annulments",
            lambda p: "/v1/annulments",
            {"anonymous": 401, "provider": 201},
            body=lambda p, role: {
                "provider_record_id": _prid(p, new_record(p)) if role == "provider" else "MX-0",
                "reason": "原处罚决定已被撤销",
            },
        ),
        endpoint(
            "annulment.list",
            "GET",
            "/v1/annulments",
            lambda p: "/v1/annulments",
            {"anonymous": 401, **readers, "provider": 200},
        ),
        endpoint(
            "notification.list",
            "GET",
            "/v1/notifications",
            lambda p: "/v1/notifications",
            {"anonymous": 401, **readers, "admin": 200, "relying_party": 200, "subject": 200},
        ),
    ]


def _prid(p: Pilot, record_id: int) -> str:
    with p.engine.connect() as conn:
        prid = conn.scalar(select(Record.provider_record_id).where(Record.id == record_id))
    assert prid is not None
    return str(prid)
