"""Signed certificates: a credit report, or "no dishonesty record" (无失信记录证明).

A certificate is a JSON document of three parts::

    {"payload": {...}, "signature": "<base64>", "content": {...}}

- ``payload`` is what is signed: ``format`` (``socialcredit.certificate/1``),
  ``algorithm`` (``Ed25519``), ``kind`` (``credit_report`` or ``no_dishonesty_record``),
  ``title`` (zh, en), ``issuer``, ``code`` (the verification code), ``subject`` (kind,
  masked ID, name), ``as_of``, ``issued_at`` (UTC, ``...Z``), ``valid_until`` (last day
  of validity), ``content_digest`` (``sha256:<hex>`` of the canonical JSON of
  ``content``), ``key_id`` (see ``reports.keys``) and ``verify_url``.
- ``signature`` is the base64 of the Ed25519 signature of the payload's canonical JSON
  (``reports.canonical``: sorted keys, no spaces, UTF-8, non-ASCII as is).
- ``content`` is what the certificate vouches for: the subject report as of ``as_of``
  without its access history (``credit_report``), or the statement and the definition
  it was checked against (``no_dishonesty_record``, see ``reports.eligibility``).

A certificate is issued in one of two forms, and only in that form does it verify:

- **JSON**: ``json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)`` and
  a newline, UTF-8;
- **HTML**: a printable page with a QR code of ``verify_url`` and the verification code,
  the document embedded in ``<script type="application/json" id="certificate-data">``.

Anyone can verify a file offline with the published public key and any Ed25519
library: check the signature over the payload's canonical JSON, that the key id is the
key's, that the digest of ``content`` is ``content_digest``, and that the file is exactly
the form it was issued in (``verify_file`` re-renders it and compares every byte), so
a forged or altered certificate — one changed byte anywhere — fails. Online, the code
alone finds the certificate in the platform's table (``lookup``), which answers with
its validity and masked content only.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select

from socialcredit.db.models import Certificate, utcnow
from socialcredit.reports.assemble import build_report
from socialcredit.reports.canonical import canonical_bytes, canonical_json, digest
from socialcredit.reports.codes import format_code, new_code, normalise_code
from socialcredit.reports.eligibility import dishonesty_reasons
from socialcredit.reports.errors import CertificateFormatError, NotEligibleError
from socialcredit.reports.html import render_certificate
from socialcredit.reports.keys import ALGORITHM, PublicKey, SigningKey
from socialcredit.reports.model import SubjectReport

CERTIFICATE_FORMAT = "socialcredit.certificate/1"
CREDIT_REPORT = "credit_report"
NO_DISHONESTY_RECORD = "no_dishonesty_record"
KINDS = (CREDIT_REPORT, NO_DISHONESTY_RECORD)

TITLES: dict[str, dict[str, str]] = {
    CREDIT_REPORT: {"zh": "信用报告", "en": "Credit report"},
    NO_DISHONESTY_RECORD: {"zh": "无失信记录证明", "en": "Certificate of no dishonesty record"},
}
ISSUER = {
    "zh": "长三角公共信用信息平台",
    "en": "Yangtze River Delta Public Credit Information Platform",
}
# How long a relying party may rely on a certificate: a month, as for the paper
# no-violation certificates it replaces. After that, a subject downloads a new one (free).
VALIDITY_DAYS = 30

# Where the QR code points. The platform's public address, which this process cannot
# know; the default suits `socialcredit serve` on this machine.
ENV_PUBLIC_URL = "SOCIALCREDIT_PUBLIC_URL"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
VERIFY_PATH = "/v1/public/certificates/"

NO_DISHONESTY_STATEMENT = {
    "zh": "经查询本平台归集的信用信息，截至{as_of}，{name}（{id}）无失信记录：无有效的严重失信"
    "主体名单（黑名单）记录，无处于公示期内的严重失信行为记录。",
    "en": "The credit information held by this platform shows no dishonesty record for "
    "{name} ({id}) as of {as_of}: no open black-list entry and no serious negative record "
    "within its display window.",
}
NO_DISHONESTY_DEFINITION = {
    "zh": "失信记录指：公示期内或已列入的严重失信主体名单（黑名单）记录；"
    "处于展示期内且未届查询期限的严重失信行为记录（含异议处理中的记录）。"
    "一般及轻微记录、红名单和信用等级不属于失信记录。",
    "en": "A dishonesty record is an open black-list entry (under notice or published), or a "
    "serious negative record that is active, within its display window and before its "
    "query bar (including one under objection). Minor and general records, the red list "
    "and grades are not dishonesty records.",
}


def public_base_url() -> str:
    return os.environ.get(ENV_PUBLIC_URL, DEFAULT_PUBLIC_URL).rstrip("/")


def verify_url(code: str) -> str:
    return f"{public_base_url()}{VERIFY_PATH}{format_code(code)}"


def _utc(at: dt.datetime) -> str:
    return at.replace(microsecond=0).isoformat() + "Z"


def masked_name(name: str, kind: str) -> str:
    """A person's name shown online: the surname only (张**); organisations' names are public."""
    if kind != "person" or len(name) <= 1:
        return name
    return name[0] + "*" * (len(name) - 1)


@dataclass(frozen=True)
class IssuedCertificate:
    code: str
    kind: str
    document: dict[str, Any]
    report: SubjectReport

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = self.document["payload"]
        return payload

    def json_bytes(self) -> bytes:
        return document_json(self.document)

    def html_bytes(self) -> bytes:
        return render_certificate(self.document).encode("utf-8")


def document_json(document: dict[str, Any]) -> bytes:
    """The JSON form of a certificate, byte for byte as issued."""
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode(
        "utf-8"
    )


def _content(kind: str, report: SubjectReport) -> dict[str, Any]:
    if kind == CREDIT_REPORT:
        return report.credit_content()
    fill = {
        "as_of": report.as_of.isoformat(),
        "name": report.identity.name,
        "id": report.identity.id,
    }
    return {
        "statement": {k: v.format(**fill) for k, v in NO_DISHONESTY_STATEMENT.items()},
        "definition": dict(NO_DISHONESTY_DEFINITION),
        "score_policy": report.policies.score_policy,
        "record_catalogue": report.policies.record_catalogue,
    }


def _unused_code(conn: Connection) -> str:
    while True:
        code = new_code()
        if conn.scalar(select(Certificate.id).where(Certificate.code == code)) is None:
            return code


def issue_certificate(
    conn: Connection,
    subject_id: int,
    kind: str,
    key: SigningKey,
    *,
    issued_by: str,
    now: dt.datetime | None = None,
) -> IssuedCertificate:
    """Sign a certificate about ``subject_id`` and record it, in the caller's transaction.

    A certificate speaks of the present: it is as of today (the day of ``now``, naive
    UTC, when given). A "no dishonesty record" certificate is refused with
    ``NotEligibleError`` when the report shows one (``reports.eligibility``). The caller
    appends the audit entry and commits before handing the certificate out.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown certificate kind {kind!r}; one of: {', '.join(KINDS)}")
    # Today as every other as-of default has it (CLI, API); the issue time is UTC.
    day = now.date() if now is not None else dt.date.today()
    now = (now or utcnow()).replace(microsecond=0)
    report = build_report(conn, subject_id, day, now=now)
    if kind == NO_DISHONESTY_RECORD:
        reasons = dishonesty_reasons(report)
        if reasons:
            raise NotEligibleError(
                "a no-dishonesty-record certificate cannot be issued: " + "; ".join(reasons),
                reasons,
            )
    content = _content(kind, report)
    code = _unused_code(conn)
    valid_until = day + dt.timedelta(days=VALIDITY_DAYS)
    payload: dict[str, Any] = {
        "format": CERTIFICATE_FORMAT,
        "algorithm": ALGORITHM,
        "kind": kind,
        "title": TITLES[kind],
        "issuer": ISSUER,
        "code": format_code(code),
        "subject": {
            "kind": report.identity.kind,
            "id": report.identity.id,
            "name": report.identity.name,
        },
        "as_of": day.isoformat(),
        "issued_at": _utc(now),
        "valid_until": valid_until.isoformat(),
        "content_digest": digest(content),
        "key_id": key.key_id,
        "verify_url": verify_url(code),
    }
    signature = base64.b64encode(key.sign(canonical_bytes(payload))).decode("ascii")
    conn.execute(
        insert(Certificate).values(
            code=code,
            kind=kind,
            subject_id=subject_id,
            as_of=day,
            issued_at=now,
            valid_until=valid_until,
            key_id=key.key_id,
            content_digest=payload["content_digest"],
            payload=canonical_json(payload),
            signature=signature,
            issued_by=issued_by,
        )
    )
    document = {"payload": payload, "signature": signature, "content": content}
    return IssuedCertificate(code=code, kind=kind, document=document, report=report)


# --- offline verification ----------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a certificate file: ``ok`` only if every check passed."""

    form: str  # json | html | unknown
    payload: dict[str, Any] | None
    problems: tuple[str, ...] = field(default=())
    expired: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and not self.expired

    @property
    def status(self) -> str:
        if self.problems:
            return "invalid"
        return "expired" if self.expired else "valid"

    def as_dict(self) -> dict[str, Any]:
        p = self.payload or {}
        return {
            "status": self.status,
            "valid": self.ok,
            "form": self.form,
            "problems": list(self.problems),
            "kind": p.get("kind"),
            "code": p.get("code"),
            "subject": p.get("subject"),
            "as_of": p.get("as_of"),
            "issued_at": p.get("issued_at"),
            "valid_until": p.get("valid_until"),
            "key_id": p.get("key_id"),
        }


HTML_MARKER = b'<script type="application/json" id="certificate-data">'


def read_document(data: bytes) -> tuple[str, dict[str, Any]]:
    """The form (json or html) and the embedded document; ``CertificateFormatError`` if none."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CertificateFormatError("the file is not UTF-8 text") from None
    if text.lstrip().startswith("{"):
        form, raw = "json", text
    else:
        start = text.find(HTML_MARKER.decode("ascii"))
        end = text.find("</script>", start)
        if start < 0 or end < 0:
            raise CertificateFormatError("neither a JSON nor an HTML certificate of this platform")
        form, raw = "html", text[start + len(HTML_MARKER) : end]
    try:
        document = json.loads(raw)
    except ValueError:
        raise CertificateFormatError(f"the {form} certificate's data is not valid JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("payload"), dict):
        raise CertificateFormatError("the file holds no certificate payload")
    return form, document


def _issued_form(form: str, document: dict[str, Any]) -> bytes | None:
    if form == "json":
        return document_json(document)
    try:
        return render_certificate(document).encode("utf-8")
    except Exception:
        # A document too damaged to render cannot be the one that was issued.
        return None


def verify_file(data: bytes, public: PublicKey, *, today: dt.date | None = None) -> Verification:
    """Check a certificate file against the platform's public key, offline."""
    try:
        form, document = read_document(data)
    except CertificateFormatError as exc:
        return Verification(form="unknown", payload=None, problems=(str(exc),))
    payload: dict[str, Any] = document["payload"]
    problems: list[str] = []
    if payload.get("format") != CERTIFICATE_FORMAT:
        problems.append(f"unknown certificate format {payload.get('format')!r}")
    if payload.get("key_id") != public.key_id:
        problems.append(
            f"signed with key {payload.get('key_id')!r}, not with the platform key {public.key_id}"
        )
    signature = document.get("signature")
    try:
        raw = base64.b64decode(signature if isinstance(signature, str) else "", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not public.verify(raw, canonical_bytes(payload)):
        problems.append("the signature does not match the certificate's data")
    if "content" not in document or digest(document["content"]) != payload.get("content_digest"):
        problems.append("the content does not match the signed digest")
    if set(document) != {"payload", "signature", "content"}:
        problems.append("the certificate carries fields that were not issued")
    # Re-rendered only once everything signed checks out: a forgery is not worth the work,
    # and the renderer never sees data the platform did not sign.
    if not problems and _issued_form(form, document) != data:
        problems.append(
            f"the {form} file differs from the certificate as issued (altered, or "
            "rendered by another version of the platform)"
        )
    expired = False
    try:
        until = dt.date.fromisoformat(str(payload.get("valid_until")))
        expired = (today or dt.date.today()) > until
    except ValueError:
        problems.append("the certificate has no valid_until date")
    return Verification(form=form, payload=payload, problems=tuple(problems), expired=expired)


# --- online verification -----------------------------------------------------------------


@dataclass(frozen=True)
class OnlineStatus:
    """What anyone with the code learns: validity and masked content, no more."""

    subject_id: int  # for the audit entry; never shown
    code: str
    kind: str
    title: dict[str, str]
    status: str  # valid | expired
    subject_kind: str
    subject: str  # masked ID
    name: str  # masked for persons
    as_of: dt.date
    issued_at: dt.datetime
    valid_until: dt.date
    content_digest: str
    key_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind,
            "title": self.title,
            "status": self.status,
            "valid": self.status == "valid",
            "subject_kind": self.subject_kind,
            "subject": self.subject,
            "name": self.name,
            "as_of": self.as_of.isoformat(),
            "issued_at": _utc(self.issued_at),
            "valid_until": self.valid_until.isoformat(),
            "content_digest": self.content_digest,
            "key_id": self.key_id,
        }


def lookup(conn: Connection, text: str, *, today: dt.date | None = None) -> OnlineStatus | None:
    """The certificate with this verification code, or None (also for a malformed code)."""
    code = normalise_code(text)
    if code is None:
        return None
    row = conn.execute(
        select(
            Certificate.subject_id,
            Certificate.code,
            Certificate.kind,
            Certificate.as_of,
            Certificate.issued_at,
            Certificate.valid_until,
            Certificate.content_digest,
            Certificate.key_id,
            Certificate.payload,
        ).where(Certificate.code == code)
    ).first()
    if row is None:
        return None
    # The subject as certified (masked ID, name then), not as the registry has it now.
    subject = json.loads(row.payload)["subject"]
    day = today or dt.date.today()
    return OnlineStatus(
        subject_id=row.subject_id,
        code=format_code(row.code),
        kind=row.kind,
        title=TITLES.get(row.kind, {"zh": row.kind, "en": row.kind}),
        status="valid" if day <= row.valid_until else "expired",
        subject_kind=subject["kind"],
        subject=subject["id"],
        name=masked_name(subject["name"], subject["kind"]),
        as_of=row.as_of,
        issued_at=row.issued_at,
        valid_until=row.valid_until,
        content_digest=row.content_digest,
        key_id=row.key_id,
    )
