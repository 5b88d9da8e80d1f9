"""Sample relying parties and one API key per role, so a newcomer can try the API."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from socialcredit.access import create_key
from socialcredit.db.engine import session_scope
from socialcredit.db.models import ListEntry, Provider, Subject
from socialcredit.measures import register_party

# (name, kind, region, purposes): one transport operator and one procurement agency,
# the two purposes where the debtor bans and the procurement exclusion show.
SAMPLE_PARTIES = (
    ("中国铁路上海局集团有限公司客运部", "transport_operator", "31", ["transport_ticketing"]),
    ("江苏省政府采购中心", "procurement_agency", "32", ["government_procurement"]),
)


@dataclass(frozen=True)
class SampleKey:
    role: str
    label: str
    key: str


def create_sample_access(engine: Engine) -> list[SampleKey]:
    """Register the sample parties and create a key for each role; keys are shown once."""
    with session_scope(engine) as session:
        for name, kind, region, purposes in SAMPLE_PARTIES:
            register_party(session, name=name, kind=kind, region=region, purposes=purposes)
        provider = session.scalar(
            select(Provider.name).where(Provider.kind == "traffic_police").order_by(Provider.id)
        )
        # A subject with a list entry makes the subject key worth trying.
        listed = session.scalar(
            select(Subject.code)
            .join(ListEntry, ListEntry.subject_id == Subject.id)
            .where(Subject.kind == "person")
            .order_by(ListEntry.id)
            .limit(1)
        ) or session.scalar(select(Subject.code).where(Subject.kind == "person").limit(1))
    # (role, label, provider, relying party, subject)
    wanted: list[tuple[str, str, str | None, str | None, str | None]] = [
        ("provider", f"demo: {provider}", provider, None, None),
        ("relying_party", f"demo: {SAMPLE_PARTIES[0][0]}", None, SAMPLE_PARTIES[0][0], None),
        ("relying_party", f"demo: {SAMPLE_PARTIES[1][0]}", None, SAMPLE_PARTIES[1][0], None),
        ("caseworker", "demo caseworker", None, None, None),
        ("regulator", "demo regulator", None, None, None),
        ("subject", "demo subject (own file)", None, None, listed),
        ("admin", "demo admin", None, None, None),
    ]
    keys = []
    with engine.begin() as conn:
        for role, label, prov, party, subject in wanted:
            key = create_key(
                conn, role=role, label=label, provider=prov, relying_party=party, subject=subject
            )
            keys.append(SampleKey(role, label, key))
    return keys
