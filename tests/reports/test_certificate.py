"""Certificates: signed, verifiable offline with the public key and online by code; a forged
or altered one — one byte anywhere — fails."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, func, select

from socialcredit.db.models import Certificate
from socialcredit.reports import (
    CREDIT_REPORT,
    NO_DISHONESTY_RECORD,
    IssuedCertificate,
    NotEligibleError,
    SigningKey,
    issue_certificate,
    lookup,
    verify_file,
)
from socialcredit.reports.canonical import canonical_bytes, canonical_json, digest
from socialcredit.reports.certificate import VALIDITY_DAYS, document_json
from tests.reports.conftest import COURT, POLICE, TODAY, Subj, World

D = dt.date
NOW = dt.datetime(2026, 11, 27, 3, 15, 42)


def _issue(engine: Engine, subject: Subj, kind: str, key: SigningKey) -> IssuedCertificate:
    with engine.begin() as conn:
        return issue_certificate(conn, subject.id, kind, key, issued_by="test", now=NOW)


@pytest.fixture
def clean(world: World) -> Subj:
    p = world.person(birth=D(1979, 12, 3))
    world.record(POLICE, p, "traffic.speeding", D(2026, 11, 2), prid="TP-9")
    return p


def test_issued_and_valid_in_both_forms(world: World, clean: Subj, signing_key: SigningKey) -> None:
    for kind in (CREDIT_REPORT, NO_DISHONESTY_RECORD):
        issued = _issue(world.engine, clean, kind, signing_key)
        p = issued.payload
        assert p["kind"] == kind and p["as_of"] == "2026-11-27"
        assert p["issued_at"] == "2026-11-27T03:15:42Z"
        assert p["valid_until"] == (TODAY + dt.timedelta(days=VALIDITY_DAYS)).isoformat()
        assert p["subject"] == {
            "kind": "person",
            "id": clean.number[:4] + "*" * 10 + clean.number[-4:],
            "name": clean.name,
        }
        assert p["verify_url"].endswith("/v1/public/certificates/" + p["code"])
        for data in (issued.json_bytes(), issued.html_bytes()):
            result = verify_file(data, signing_key.public, today=TODAY)
            assert result.ok and result.status == "valid", result.problems
            assert clean.number not in data.decode()
        assert result.form == "html"


def test_the_documented_format_verifies_without_this_code(
    world: World, clean: Subj, signing_key: SigningKey
) -> None:
    """A relying party with any Ed25519 library and the published key checks it so."""
    doc = json.loads(_issue(world.engine, clean, CREDIT_REPORT, signing_key).json_bytes())
    message = json.dumps(
        doc["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(signing_key.public.raw_base64()))
    public.verify(base64.b64decode(doc["signature"]), message)  # raises if forged
    content = json.dumps(doc["content"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    import hashlib

    assert (
        "sha256:" + hashlib.sha256(content.encode()).hexdigest() == doc["payload"]["content_digest"]
    )
    # The credit report signed is the report without its access history.
    assert "accesses" not in doc["content"]
    assert [r["provider_record_id"] for r in doc["content"]["records"]] == ["TP-9"]


def _altered(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01 if changed[position] != 0x0A else 0x20
    return bytes(changed)


def test_every_single_altered_byte_fails(
    world: World, clean: Subj, signing_key: SigningKey
) -> None:
    data = _issue(world.engine, clean, NO_DISHONESTY_RECORD, signing_key).json_bytes()
    for position in range(len(data)):
        result = verify_file(_altered(data, position), signing_key.public, today=TODAY)
        assert not result.ok and result.status == "invalid", position


@pytest.mark.parametrize("kind", [CREDIT_REPORT, NO_DISHONESTY_RECORD])
def test_altered_bytes_anywhere_in_an_html_or_report_certificate_fail(
    world: World, clean: Subj, signing_key: SigningKey, kind: str
) -> None:
    issued = _issue(world.engine, clean, kind, signing_key)
    rng = random.Random(5)
    for data in (issued.json_bytes(), issued.html_bytes()):
        text = data.decode()
        # The visible name and code, and positions spread over the whole file.
        chosen = {text.encode().find(clean.name.encode()), data.find(b"sha256:") + 9}
        chosen |= {rng.randrange(len(data)) for _ in range(120)}
        for position in sorted(chosen):
            result = verify_file(_altered(data, position), signing_key.public, today=TODAY)
            assert not result.ok, (kind, position)


def test_content_swapped_with_a_recomputed_digest_fails(
    world: World, clean: Subj, signing_key: SigningKey
) -> None:
    doc = json.loads(_issue(world.engine, clean, CREDIT_REPORT, signing_key).json_bytes())
    doc["content"]["records"] = []
    doc["payload"]["content_digest"] = digest(doc["content"])
    result = verify_file(document_json(doc), signing_key.public, today=TODAY)
    assert result.problems == ("the signature does not match the certificate's data",)


def test_signed_by_another_key_fails(world: World, clean: Subj, signing_key: SigningKey) -> None:
    forger = SigningKey.generate()
    # Issued honestly, but by another platform: wrong key for this one.
    other = _issue(world.engine, clean, NO_DISHONESTY_RECORD, forger)
    result = verify_file(other.json_bytes(), signing_key.public, today=TODAY)
    assert not result.ok
    assert any("not with the platform key" in p for p in result.problems)
    assert any("signature does not match" in p for p in result.problems)
    assert verify_file(other.json_bytes(), forger.public, today=TODAY).ok
    # A forgery claiming the platform's key id.
    doc = json.loads(other.json_bytes())
    doc["payload"]["key_id"] = signing_key.key_id
    doc["signature"] = base64.b64encode(forger.sign(canonical_bytes(doc["payload"]))).decode()
    result = verify_file(document_json(doc), signing_key.public, today=TODAY)
    assert result.problems == ("the signature does not match the certificate's data",)


def test_expired_is_not_valid(world: World, clean: Subj, signing_key: SigningKey) -> None:
    data = _issue(world.engine, clean, NO_DISHONESTY_RECORD, signing_key).json_bytes()
    last = TODAY + dt.timedelta(days=VALIDITY_DAYS)
    assert verify_file(data, signing_key.public, today=last).ok
    late = verify_file(data, signing_key.public, today=last + dt.timedelta(days=1))
    assert late.status == "expired" and not late.ok and late.problems == ()


def test_not_a_certificate(signing_key: SigningKey) -> None:
    for data in (b"", b"\xff\xfe", b"<html>hello</html>", b"{not json", b"[1, 2]", b'{"a": 1}'):
        result = verify_file(data, signing_key.public, today=TODAY)
        assert result.status == "invalid" and result.problems, data


def test_recorded_for_the_online_check(world: World, clean: Subj, signing_key: SigningKey) -> None:
    issued = _issue(world.engine, clean, NO_DISHONESTY_RECORD, signing_key)
    with world.engine.connect() as conn:
        row = conn.execute(select(Certificate)).one()
        assert row.payload == canonical_json(issued.payload)
        assert row.kind == NO_DISHONESTY_RECORD and row.subject_id == clean.id
        code = issued.payload["code"]
        found = lookup(conn, code.lower().replace("-", " "), today=TODAY)
        assert found is not None
        shown = found.as_dict()
        assert shown["status"] == "valid" and shown["valid"] and shown["code"] == code
        assert shown["subject"] == issued.payload["subject"]["id"]
        assert shown["name"] == clean.name[0] + "*" * (len(clean.name) - 1)
        assert shown["content_digest"] == issued.payload["content_digest"]
        assert clean.number not in json.dumps(shown, ensure_ascii=False)
        expired = lookup(conn, code, today=TODAY + dt.timedelta(days=VALIDITY_DAYS + 1))
        assert expired is not None and expired.status == "expired"
        assert lookup(conn, "0000-0000-0000-0000") is None
        assert lookup(conn, "not a code") is None


def test_no_dishonesty_refused_for_a_dishonest_subject_and_nothing_stored(
    world: World, signing_key: SigningKey
) -> None:
    p = world.person()
    world.record(COURT, p, "court.dishonest_debtor", D(2026, 7, 15), prid="EXEC-7")
    world.update(D(2026, 7, 15), p)
    world.update(TODAY, p)
    with pytest.raises(NotEligibleError) as refused:
        _issue(world.engine, p, NO_DISHONESTY_RECORD, signing_key)
    assert len(refused.value.reasons) == 2
    assert "black-list entry" in str(refused.value)
    with world.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Certificate)) == 0
    # The credit report itself is theirs to have, listing and all.
    issued = _issue(world.engine, p, CREDIT_REPORT, signing_key)
    assert issued.document["content"]["lists"][0]["list_name"] == "black"


def test_unknown_kind(world: World, clean: Subj, signing_key: SigningKey) -> None:
    with pytest.raises(ValueError, match="unknown certificate kind"):
        _issue(world.engine, clean, "good_conduct", signing_key)
