"""API settings: limits that an operator may tune, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV_MAX_BODY = "SOCIALCREDIT_API_MAX_BODY_BYTES"
ENV_REALNAME_RATE = "SOCIALCREDIT_REALNAME_PER_MINUTE"
ENV_REALNAME_BURST = "SOCIALCREDIT_REALNAME_BURST"
ENV_GROUP_COMMIT = "SOCIALCREDIT_AUDIT_GROUP_COMMIT"
ENV_KEY_CACHE = "SOCIALCREDIT_API_KEY_CACHE_SECONDS"


@dataclass(frozen=True)
class ApiSettings:
    # A 5 MB batch is ~20,000 feed rows; bigger feeds go through the file import.
    max_body_bytes: int = 5 * 1024 * 1024
    # Real-name checks answer yes/no about an ID and a name; the limit is what stops a
    # provider's key from being used to enumerate who is registered under which name.
    realname_per_minute: float = 60.0
    realname_burst: int = 20
    # Reads write only their audit entry; committing many requests' entries together
    # keeps the audit log from capping throughput at one commit per request.
    audit_group_commit: bool = True
    # How long an authenticated key is trusted without looking it up again: the delay
    # before a revocation takes effect, traded for one round trip less per request.
    key_cache_seconds: float = 2.0

    @classmethod
    def from_env(cls) -> ApiSettings:
        default = cls()
        return cls(
            max_body_bytes=int(os.environ.get(ENV_MAX_BODY, default.max_body_bytes)),
            realname_per_minute=float(
                os.environ.get(ENV_REALNAME_RATE, default.realname_per_minute)
            ),
            realname_burst=int(os.environ.get(ENV_REALNAME_BURST, default.realname_burst)),
            audit_group_commit=os.environ.get(ENV_GROUP_COMMIT, "1") not in ("0", "false", "no"),
            key_cache_seconds=float(os.environ.get(ENV_KEY_CACHE, default.key_cache_seconds)),
        )
