"""Errors of the measures question and the relying-party registry.

Each carries a stable ``code`` the API turns into its JSON error, so a caller can tell an
unknown purpose from an unknown subject without parsing the message.
"""

from __future__ import annotations

from collections.abc import Sequence

from socialcredit.policy.findings import Finding


class MeasuresError(ValueError):
    code = "measures_error"


class UnknownPurposeError(MeasuresError):
    """A purpose that is not on the published list."""

    code = "unknown_purpose"

    def __init__(self, purpose: str, known: Sequence[str]) -> None:
        super().__init__(
            f"unknown purpose {purpose!r}; the published purposes are: {', '.join(known)}"
        )
        self.purpose = purpose


class UnknownSubjectError(MeasuresError):
    code = "unknown_subject"


class PartyError(MeasuresError):
    """A relying party that cannot be registered as asked."""

    code = "invalid_party"


class CatalogueError(MeasuresError):
    """Measure catalogue files that cannot be used; ``findings`` says where and why."""

    code = "catalogue_invalid"

    def __init__(self, message: str, findings: Sequence[Finding] = ()) -> None:
        super().__init__(message)
        self.findings: tuple[Finding, ...] = tuple(findings)


class NoCatalogueInForceError(MeasuresError):
    code = "no_catalogue_in_force"


class PurposeOutOfScopeError(MeasuresError):
    """A published purpose the relying party is not registered for."""

    code = "purpose_out_of_scope"
