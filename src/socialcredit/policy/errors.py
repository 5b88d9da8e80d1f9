"""Errors raised when policy cannot be loaded or no policy applies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from socialcredit.policy.findings import Finding


class PolicyError(ValueError):
    """Policy files that cannot be used; ``findings`` holds every error, each with file and path."""

    def __init__(self, message: str, findings: Sequence[Finding] = ()) -> None:
        super().__init__(message)
        self.findings: tuple[Finding, ...] = tuple(findings)

    @classmethod
    def from_findings(cls, findings: Sequence[Finding]) -> PolicyError:
        errors = [f for f in findings if f.severity == "error"]
        return cls("\n".join(str(f) for f in errors), errors)


class NoPolicyInForceError(PolicyError):
    """No published policy covers the subject's province on the as-of date."""

    def __init__(self, province_code: str, as_of: dt.date, earliest: dt.date | None) -> None:
        hint = f" (the earliest takes effect on {earliest.isoformat()})" if earliest else ""
        super().__init__(
            f"no policy in force on {as_of.isoformat()} for province {province_code}{hint}"
        )
        self.province_code = province_code
        self.as_of = as_of
