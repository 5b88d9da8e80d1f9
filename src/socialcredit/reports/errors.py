"""Errors of reports and certificates; each message is meant for the person who asked."""

from __future__ import annotations


class ReportError(ValueError):
    """A report or certificate that cannot be produced as asked."""


class UnknownSubjectError(ReportError):
    """No subject with that id or ID number."""


class NotEligibleError(ReportError):
    """A "no dishonesty record" certificate refused: the file holds dishonesty records.

    ``reasons`` name each one (a black-list entry or a shown serious record), so the
    subject can see what stands in the way and object to it or wait for it to end.
    """

    def __init__(self, message: str, reasons: tuple[str, ...]) -> None:
        super().__init__(message)
        self.reasons = reasons


class SigningKeyError(ReportError):
    """The platform's signing key cannot be read, created or used."""


class CertificateFormatError(ReportError):
    """A file that is not a certificate this platform issues (unreadable, wrong shape)."""
