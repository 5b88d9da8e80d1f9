"""The public list and mutual recognition across YRD provinces (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from socialcredit.identity.ids import mask
from socialcredit.lists import count_public_entries, entries, public_entries, transitions
from socialcredit.measures import measures_for

from .conftest import COURT, REGULATOR, D, World


def test_public_list_shows_published_entries_only_with_masked_ids(world: World) -> None:
    published, pending, exited = world.person(), world.person(province="34"), world.person()
    world.record(COURT, published, "court.dishonest_debtor", D(2026, 9, 24), prid="P-1")
    world.record(COURT, exited, "court.dishonest_debtor", D(2026, 9, 24), prid="P-2")
    world.update(D(2026, 9, 28), published, exited)
    world.update(D(2026, 10, 12), published, exited)
    world.record(REGULATOR, pending, "fraud.contract", D(2026, 10, 15), prid="P-3")
    world.update(D(2026, 10, 16), pending)
    world.annul(COURT, "P-2", dt.datetime(2026, 10, 14, 9), ref="撤销")
    world.update(D(2026, 10, 16), exited)

    with world.engine.connect() as conn:
        page = public_entries(conn, "black")
        assert [e.name for e in page] == [published.name]
        (entry,) = page
        assert entry.subject == mask(published.number) != published.number
        assert published.number not in str(entry.as_dict())
        assert entry.legal_basis.startswith("《最高人民法院关于公布失信被执行人名单信息")
        assert (entry.origin_province, entry.published_on) == ("31", D(2026, 10, 12))
        assert entry.planned_exit_on == D(2028, 9, 24)
        assert count_public_entries(conn, "black") == 1
        # Display stops by itself at the planned exit, run or no run.
        assert public_entries(conn, "black", as_of=D(2028, 9, 24)) == []
        assert count_public_entries(conn, "black", as_of=D(2028, 9, 23)) == 1
        assert public_entries(conn, "black", search=published.name[1:]) == page
        assert public_entries(conn, "black", search=published.number) == page
        assert public_entries(conn, "black", search=exited.number) == []
        assert public_entries(conn, "red") == []
        with pytest.raises(ValueError, match="only published"):
            public_entries(conn, "black", status="exited")
        with pytest.raises(ValueError, match="unknown list"):
            public_entries(conn, "grey")
        # The caseworker's view has every status and the history.
        seen = {e.name: e for e in entries(conn, list_name="black")}
        assert {seen[n].status for n in seen} == {"published", "pending_notice", "exited"}
        gone = seen[exited.name]
        assert [t.to_status for t in transitions(conn, gone.entry_id)] == [
            "pending_notice",
            "published",
            "exited",
        ]


def test_an_entry_decided_in_one_province_holds_in_the_others(world: World) -> None:
    # Decided under Jiangsu's policy; asked about from Shanghai, Zhejiang and Anhui.
    fraudster = world.person(province="32")
    world.record(REGULATOR, fraudster, "fraud.telecom", D(2026, 10, 15), prid="Y-1")
    world.update(D(2026, 10, 16), fraudster)
    world.update(D(2026, 10, 26), fraudster)
    (entry,) = world.entries(fraudster)
    assert (entry.status, entry.origin_province) == ("published", "32")
    assert (entry.policy_id, entry.policy_version) == ("cn-32-jiangsu", "2026.1")
    assert "反电信网络诈骗法" in entry.legal_basis

    with world.engine.connect() as conn:
        for region in ("31", "32", "33", "34", None):
            answer = measures_for(
                conn,
                subject_id=fraudster.id,
                purpose="government_procurement",
                as_of=D(2026, 10, 27),
                region=region,
            )
            ids = {m.id for m in answer.measures}
            assert "no-government-procurement" in ids, region
            (basis,) = next(
                m for m in answer.measures if m.id == "no-government-procurement"
            ).triggered_by
            assert (basis.origin_province, basis.criterion) == ("32", "serious-fraud")
            # Shanghai adds its own sanction for parties in Shanghai.
            assert ("sh-no-public-funding" in ids) == (region == "31")
