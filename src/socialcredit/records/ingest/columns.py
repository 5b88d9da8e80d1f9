"""The feed columns: what a provider may send, what it must send, what it must never send."""

from __future__ import annotations

import re

FEED_COLUMNS: tuple[str, ...] = (
    "provider_record_id",
    "subject_id",
    "subject_name",
    "record_type",
    "decision_ref",
    "decided_on",
    "conduct_ended_on",
    "amount_cny",
    "account_provider",
    "account_id",
    "action",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("provider_record_id", "record_type", "decided_on")
ACTIONS = ("record", "annul", "correct")

# Data the platform must never collect (DESIGN.md): a file carrying any of these
# is refused whole, before a single row is stored. Matched on the normalised
# column name, in English and Chinese.
_PROHIBITED = re.compile(
    r"religio|faith|belief|ethnic|ethnicity|nationality_ethnic|race|minzu|"
    r"gene|genetic|dna|biometric|fingerprint|finger_print|face_?print|iris|voice_?print|"
    r"blood|health|medical_condition|medical_history|diagnos|disease|illness|disabilit|"
    r"宗教|信仰|民族|种族|基因|指纹|虹膜|人脸|声纹|生物特征|血型|健康|病史|疾病|诊断|残疾"
)


class HeaderError(ValueError):
    """A header that makes the whole file unusable."""


def normalise_column(name: str) -> str:
    return name.strip().lstrip("\ufeff").lower().replace(" ", "_").replace("-", "_")


def check_header(columns: list[str]) -> list[str]:
    """Return the normalised columns, or raise HeaderError saying what is wrong.

    Checked in order of gravity: prohibited data first (the file must not be
    stored at all), then unknown and missing columns.
    """
    normalised = [normalise_column(c) for c in columns]
    prohibited = [
        orig for orig, n in zip(columns, normalised, strict=True) if _PROHIBITED.search(n)
    ]
    if prohibited:
        raise HeaderError(
            "file refused: prohibited column(s) "
            + ", ".join(repr(c) for c in prohibited)
            + " (religion, ethnicity, genetic, biometric, blood type and health data are never"
            " collected)"
        )
    seen: set[str] = set()
    for n in normalised:
        if n in seen:
            raise HeaderError(f"file refused: column {n!r} appears twice")
        seen.add(n)
    unknown = [c for c in normalised if c not in FEED_COLUMNS]
    if unknown:
        raise HeaderError(
            "file refused: column(s) outside the published feed format: "
            + ", ".join(repr(c) for c in unknown)
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if "subject_id" not in seen and not {"account_provider", "account_id"} <= seen:
        missing.append("subject_id (or account_provider + account_id)")
    if missing:
        raise HeaderError("file refused: missing required column(s): " + ", ".join(missing))
    return normalised
