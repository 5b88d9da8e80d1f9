"""Helpers other test packages use for report routes (the API authorization matrix)."""

from __future__ import annotations

from sqlalchemy import select

from socialcredit.db.models import Subject
from socialcredit.reports import CREDIT_REPORT, SigningKey, issue_certificate
from tests.api.conftest import Pilot


def certificate_path(p: Pilot) -> str:
    """The online-check path of a certificate issued to the pilot's Shanghai subject.

    Signed with a throwaway key: the online check reads the platform's table, not the key.
    """
    with p.engine.begin() as conn:
        sid = conn.scalar(select(Subject.id).where(Subject.code == p.shanghai[0]))
        assert sid is not None
        issued = issue_certificate(
            conn, sid, CREDIT_REPORT, SigningKey.generate(), issued_by="test"
        )
    return f"/v1/public/certificates/{issued.payload['code']}"
