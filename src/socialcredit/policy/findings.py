"""What `policy check` reports: findings with a stable code, a file and a key path."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]

# A key path segment: a mapping key or a list index, as pydantic reports locations.
Loc = Sequence[str | int]

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def key_path(loc: Iterable[str | int]) -> str:
    """Render a location as ``rules[3].points`` or ``rollout.traffic``; the root is ''."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            # Keys such as record type codes contain dots; quote them so the path stays parseable.
            out += f"[{part!r}]"
    return out


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    code: str
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {
            "severity": self.severity,
            "code": self.code,
            "file": self.file,
            "path": self.path,
            "message": self.message,
        }


def error(code: str, file: str, loc: Loc, message: str) -> Finding:
    return Finding("error", code, file, key_path(loc), message)


def warning(code: str, file: str, loc: Loc, message: str) -> Finding:
    return Finding("warning", code, file, key_path(loc), message)


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
