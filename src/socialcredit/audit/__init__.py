"""The audit log: every read or write of personal data, append-only and hash-chained.

- ``append`` / ``append_many`` write entries inside the caller's transaction; the
  caller commits, then answers, so no answer goes out before its entry is durable.
- ``GroupCommitter`` batches many requests' entries into one commit for reads.
- ``verify`` walks the chain and says where it is broken; ``checkpoint`` gives a
  publishable root (hash, count, time) that later verifications can be held to.
- ``accesses`` lists who accessed a subject's file.

The hash format is documented in ``socialcredit.audit.chain``.
"""

from socialcredit.audit.chain import (
    GENESIS_HASH,
    AuditError,
    AuditEvent,
    AuditRecord,
    append,
    append_many,
    entry_hash,
)
from socialcredit.audit.group import GroupCommitter
from socialcredit.audit.query import Access, accesses, recent
from socialcredit.audit.verify import (
    Checkpoint,
    CheckpointFormatError,
    Problem,
    VerifyResult,
    checkpoint,
    verify,
)

__all__ = [
    "GENESIS_HASH",
    "Access",
    "AuditError",
    "AuditEvent",
    "AuditRecord",
    "Checkpoint",
    "CheckpointFormatError",
    "GroupCommitter",
    "Problem",
    "VerifyResult",
    "accesses",
    "append",
    "append_many",
    "checkpoint",
    "entry_hash",
    "recent",
    "verify",
]
