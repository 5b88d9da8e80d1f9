"""Subject reports and signed certificates.

- ``assemble.build_report``: everything the platform holds on a subject as of a date
  (``model.SubjectReport``; JSON, canonical for signing);
- ``html``: the printable report page and certificate pages;
- ``eligibility``: when a "no dishonesty record" certificate may be issued;
- ``keys``: the platform's Ed25519 signing key and its published public key;
- ``certificate``: issuing, offline verification of a file, online lookup by code.

Reports are free, and reading one is audited by the caller (CLI, API) before it is shown.
"""

from socialcredit.reports.assemble import build_report, mask_account
from socialcredit.reports.certificate import (
    CREDIT_REPORT,
    KINDS,
    NO_DISHONESTY_RECORD,
    IssuedCertificate,
    OnlineStatus,
    Verification,
    issue_certificate,
    lookup,
    verify_file,
)
from socialcredit.reports.eligibility import dishonesty_reasons
from socialcredit.reports.errors import (
    CertificateFormatError,
    NotEligibleError,
    ReportError,
    SigningKeyError,
    UnknownSubjectError,
)
from socialcredit.reports.html import render_certificate, render_report
from socialcredit.reports.keys import PublicKey, SigningKey, load_signing_key, parse_public_key
from socialcredit.reports.model import SubjectReport

__all__ = [
    "CREDIT_REPORT",
    "KINDS",
    "NO_DISHONESTY_RECORD",
    "CertificateFormatError",
    "IssuedCertificate",
    "NotEligibleError",
    "OnlineStatus",
    "PublicKey",
    "ReportError",
    "SigningKey",
    "SigningKeyError",
    "SubjectReport",
    "UnknownSubjectError",
    "Verification",
    "build_report",
    "dishonesty_reasons",
    "issue_certificate",
    "load_signing_key",
    "lookup",
    "mask_account",
    "parse_public_key",
    "render_certificate",
    "render_report",
    "verify_file",
]
