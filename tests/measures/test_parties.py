"""Relying parties and the published purposes (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from socialcredit.db.engine import session_scope
from socialcredit.measures import (
    PartyError,
    PurposeOutOfScopeError,
    UnknownPurposeError,
    get_party,
    party_purposes,
    published_purposes,
    register_party,
    require_party_purpose,
)


def test_published_purposes() -> None:
    purposes = published_purposes()
    for code in (
        "school_admission",
        "employment",
        "civil_service_recruitment",
        "business_licensing",
        "government_procurement",
        "financial_credit",
        "transport_ticketing",
    ):
        assert purposes[code].legal_basis.strip()
        assert purposes[code].title_zh and purposes[code].title_en
    assert purposes["employment"].open_to("bank")  # every organisation hires
    assert not purposes["financial_credit"].open_to("school")


def test_register_a_party(engine: Engine) -> None:
    with session_scope(engine) as s:
        party = register_party(
            s,
            name="中国建设银行上海市分行",
            kind="bank",
            region="31",
            purposes=["financial_credit", "employment", "financial_credit"],
        )
        assert party_purposes(party) == ("financial_credit", "employment")
    with session_scope(engine) as s:
        party = get_party(s, "中国建设银行上海市分行")
        assert (party.kind, party.region_code) == ("bank", "31")
        require_party_purpose(party, "financial_credit")
        with pytest.raises(PurposeOutOfScopeError):
            require_party_purpose(party, "transport_ticketing")
        with pytest.raises(UnknownPurposeError):
            require_party_purpose(party, "gossip")


@pytest.mark.parametrize(
    ("kind", "region", "purposes", "message"),
    [
        ("casino", "31", ["employment"], "unknown kind"),
        ("bank", "3", ["financial_credit"], "2-, 4- or 6-digit"),
        ("bank", "99", ["financial_credit"], "not a GB/T 2260"),
        ("bank", "31", [], "at least one purpose"),
        ("bank", "31", ["school_admission"], "open only to school"),
        ("school", "3301", ["school_admission", "gossip"], "unknown purpose"),
    ],
)
def test_refused_registrations(
    engine: Engine, kind: str, region: str, purposes: list[str], message: str
) -> None:
    with (
        pytest.raises((PartyError, UnknownPurposeError), match=message),
        session_scope(engine) as s,
    ):
        register_party(s, name="某机构", kind=kind, region=region, purposes=purposes)


def test_names_are_unique(engine: Engine) -> None:
    with session_scope(engine) as s:
        register_party(
            s,
            name="上海铁路局",
            kind="transport_operator",
            region="31",
            purposes=["transport_ticketing"],
        )
    with pytest.raises(PartyError, match="already registered"), session_scope(engine) as s:
        register_party(
            s, name="上海铁路局", kind="transport_operator", region="31", purposes=["employment"]
        )
