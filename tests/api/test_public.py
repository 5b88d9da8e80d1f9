"""Public endpoints: published list entries only, masked IDs, the published catalogues."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from socialcredit.db.models import ListEntry, Subject
from socialcredit.identity.ids import mask
from socialcredit.records.catalogue import default_catalogue
from tests.api.conftest import Pilot, audit_rows


def _enter(pilot: Pilot, number: str, list_name: str, status: str, day: dt.date) -> None:
    with pilot.engine.begin() as conn:
        sid = conn.scalar(select(Subject.id).where(Subject.code == number))
        conn.execute(
            insert(ListEntry).values(
                subject_id=sid,
                list_name=list_name,
                status=status,
                criterion="court-dishonest-debtor",
                origin_province="31",
                policy_id="cn-31-shanghai",
                policy_version="2026.1",
                legal_basis="《最高人民法院关于公布失信被执行人名单信息的若干规定》",
                entered_on=day,
                notice_until=day + dt.timedelta(days=7),
                published_on=day + dt.timedelta(days=8) if status == "published" else None,
                planned_exit_on=day + dt.timedelta(days=730),
                updated_at=dt.datetime(2026, 11, 1),
            )
        )


def test_only_published_entries_with_masked_ids(client: TestClient, pilot: Pilot) -> None:
    _enter(pilot, pilot.shanghai[0], "black", "published", dt.date(2026, 9, 1))
    _enter(pilot, pilot.jiangsu[0], "black", "pending_notice", dt.date(2026, 11, 20))
    _enter(pilot, pilot.org[0], "black", "published", dt.date(2026, 10, 1))
    page = client.get("/v1/public/lists/black").json()
    assert page["total"] == 2 and page["list_name"] == "black"
    ids = [e["subject"] for e in page["entries"]]
    assert ids == [mask(pilot.org[0]), mask(pilot.shanghai[0])]  # newest publication first
    entry = page["entries"][1]
    assert entry["name"] == pilot.shanghai[1] and entry["legal_basis"]
    assert entry["entered_on"] == "2026-09-01" and entry["planned_exit_on"]
    assert pilot.shanghai[0] not in str(page) and pilot.jiangsu[1] not in str(page)
    assert client.get("/v1/public/lists/red").json()["entries"] == []
    searched = client.get("/v1/public/lists/black", params={"q": pilot.shanghai[1]}).json()
    assert [e["subject"] for e in searched["entries"]] == [mask(pilot.shanghai[0])]
    by_id = client.get("/v1/public/lists/black", params={"q": pilot.org[0]}).json()
    assert [e["subject"] for e in by_id["entries"]] == [mask(pilot.org[0])]
    paged = client.get("/v1/public/lists/black?limit=1&offset=1").json()
    assert [e["subject"] for e in paged["entries"]] == [mask(pilot.shanghai[0])]
    assert paged["total"] == 2
    reads = audit_rows(pilot.engine, action="public.lists.read")
    assert len(reads) == 5 and {r.actor for r in reads} == {"anonymous"}
    assert pilot.shanghai[1] not in reads[2].detail  # the search term is not kept


def test_catalogues(client: TestClient) -> None:
    purposes = client.get("/v1/public/purposes").json()["purposes"]
    codes = {p["code"] for p in purposes}
    assert {
        "school_admission",
        "employment",
        "civil_service_recruitment",
        "government_procurement",
        "financial_credit",
        "transport_ticketing",
    } <= codes
    assert all(p["title"]["zh"] and p["legal_basis"] for p in purposes)
    catalogues = client.get("/v1/public/measures").json()["catalogues"]
    regions = {c["region"] for c in catalogues}
    assert "00" in regions
    for c in catalogues:
        assert c["legal_basis"] and c["measures"]
        for m in c["measures"]:
            assert m["legal_basis"] and m["purposes"] and m["category"] in ("reward", "sanction")
            # No sanction is triggered by a grade or score alone.
            if m["category"] == "sanction":
                assert m["trigger"]["list"] in ("black", "red")
    types = client.get("/v1/public/record-types").json()
    catalogue = default_catalogue()
    assert types["version"] == catalogue.version
    assert [t["code"] for t in types["record_types"]] == [t.code for t in catalogue.record_types]
    assert all(t["legal_basis"] for t in types["record_types"])
