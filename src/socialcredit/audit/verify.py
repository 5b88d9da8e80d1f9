"""Walking the audit chain, and the checkpoints that make truncation visible.

A walk recomputes every entry's hash and follows the ``prev_hash`` links in ``seq``
order, so it finds an entry whose content changed (hash mismatch), a removed entry
(a gap in ``seq``) and entries moved or rewritten with fresh hashes (a broken link
at the entry after them). What a walk alone cannot see is the loss of the newest
entries, or a history rewritten from some point on with every hash recomputed: the
result is again a valid chain. A checkpoint published earlier closes that gap: the
log must still hold entry ``count`` with hash ``root_hash``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Row, Text, select, type_coerce

from socialcredit.audit.chain import GENESIS_HASH, audit_table, canonical_time, entry_hash
from socialcredit.db.models import utcnow

# Rows per query: the walk holds one page at a time, so memory stays flat however
# long the log is, and no transaction or server-side cursor stays open for the walk.
PAGE_SIZE = 10_000

_HASH_RE = re.compile(r"[0-9a-f]{64}")


class CheckpointFormatError(ValueError):
    """A checkpoint given as text that is not ``HASH:COUNT``."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A publishable root: the log held ``count`` entries, the last with ``root_hash``."""

    root_hash: str
    count: int
    at: dt.datetime | None = None

    @property
    def token(self) -> str:
        """``HASH:COUNT``, the form ``audit verify --against`` takes."""
        return f"{self.root_hash}:{self.count}"

    def __str__(self) -> str:
        when = f" at {canonical_time(self.at)}Z" if self.at is not None else ""
        return f"audit log root {self.root_hash}, {self.count} entries{when}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "root_hash": self.root_hash,
            "count": self.count,
            "at": canonical_time(self.at) + "Z" if self.at is not None else None,
            "token": self.token,
        }

    @classmethod
    def parse(cls, token: str) -> Checkpoint:
        """Read ``HASH:COUNT`` as printed by ``audit checkpoint``."""
        root, sep, count = token.strip().partition(":")
        root = root.lower()
        if not sep or not _HASH_RE.fullmatch(root) or not count.isdigit():
            raise CheckpointFormatError(
                f"a checkpoint is HASH:COUNT (64 hex digits, a colon, a whole number), "
                f"not {token!r}"
            )
        n = int(count)
        if n == 0 and root != GENESIS_HASH:
            raise CheckpointFormatError("a checkpoint of 0 entries has the all-zero root hash")
        return cls(root_hash=root, count=n)


@dataclass(frozen=True, slots=True)
class Problem:
    """Where the chain is broken and how.

    ``kind`` is one of: ``changed`` (content no longer matches the entry's hash),
    ``missing`` (entries absent: removed), ``link`` (the entry does not follow the one
    before it: entries reordered, or an earlier one rewritten), ``checkpoint`` (the
    log no longer contains the given checkpoint).
    """

    seq: int
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    count: int  # entries read
    last_seq: int
    root_hash: str  # hash of the last entry read (all zeros when the log is empty)
    problems: tuple[Problem, ...] = ()
    truncated: bool = False  # more problems than were kept
    checkpoint_checked: bool = False
    at: dt.datetime = field(default_factory=utcnow)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_seq(self) -> int | None:
        return self.problems[0].seq if self.problems else None

    def checkpoint(self) -> Checkpoint:
        """The root of what was verified, to publish."""
        return Checkpoint(root_hash=self.root_hash, count=self.last_seq, at=self.at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "count": self.count,
            "last_seq": self.last_seq,
            "root_hash": self.root_hash,
            "first_bad_seq": self.first_bad_seq,
            "problems": [
                {"seq": p.seq, "kind": p.kind, "message": p.message} for p in self.problems
            ],
            "more_problems": self.truncated,
            "checkpoint_checked": self.checkpoint_checked,
        }


def _pages(engine: Engine) -> Iterator[Row[Any]]:
    t = audit_table
    # SQLite keeps timestamps as text and SQLAlchemy's parser ignores trailing bytes,
    # so an edited tail of the text would not change the parsed value: read the raw
    # text there and insist on the exact form SQLAlchemy writes.
    at_col = type_coerce(t.c.at, Text) if engine.dialect.name == "sqlite" else t.c.at
    cols = [
        t.c.seq,
        at_col.label("at"),
        t.c.actor,
        t.c.role,
        t.c.purpose,
        t.c.subject_id,
        t.c.action,
        t.c.outcome,
        t.c.detail,
        t.c.prev_hash,
        t.c.hash,
    ]
    after: int | None = None
    with engine.connect() as conn:
        while True:
            query = select(*cols).order_by(t.c.seq).limit(PAGE_SIZE)
            if after is not None:
                query = query.where(t.c.seq > after)
            rows = conn.execute(query).all()
            yield from rows
            if len(rows) < PAGE_SIZE:
                return
            after = rows[-1].seq
            conn.rollback()  # end the read transaction between pages


def _stored_time(value: object) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is not None or value != parsed.isoformat(" ", "microseconds"):
        return None
    return parsed


def verify(
    engine: Engine, *, checkpoint: Checkpoint | None = None, max_problems: int = 100
) -> VerifyResult:
    """Walk the whole log in ``seq`` order; an empty log is valid.

    Keeps going after a problem, following the stored hashes, so one edited entry is
    reported once rather than poisoning everything after it; at most ``max_problems``
    are kept. With ``checkpoint``, also requires entry ``checkpoint.count`` to exist
    with hash ``checkpoint.root_hash``.
    """
    problems: list[Problem] = []
    truncated = False

    def report(seq: int, kind: str, message: str) -> None:
        nonlocal truncated
        if len(problems) < max_problems:
            problems.append(Problem(seq, kind, message))
        else:
            truncated = True

    expected = 1
    prev_hash = GENESIS_HASH
    count = 0
    checkpoint_seen = checkpoint is None or checkpoint.count == 0
    if checkpoint is not None and checkpoint.count == 0 and checkpoint.root_hash != GENESIS_HASH:
        report(0, "checkpoint", "a checkpoint of 0 entries must have the all-zero root hash")

    for row in _pages(engine):
        count += 1
        seq = int(row.seq)
        gap = seq != expected
        if gap:
            missing = (
                f"entry {expected}" if seq == expected + 1 else f"entries {expected}-{seq - 1}"
            )
            report(expected, "missing", f"{missing} removed (the next entry present is {seq})")
        elif row.prev_hash != prev_hash:
            before = f"entry {seq - 1}" if seq > 1 else "the start of the log"
            report(
                seq,
                "link",
                f"entry {seq} does not follow {before} (prev_hash mismatch): entries were "
                f"reordered, or {before} was rewritten",
            )
        at = _stored_time(row.at)
        if at is None:
            report(seq, "changed", f"entry {seq} has an altered timestamp {row.at!r}")
        else:
            digest = entry_hash(
                seq=seq,
                at=at,
                actor=row.actor,
                role=row.role,
                purpose=row.purpose,
                subject_id=row.subject_id,
                action=row.action,
                outcome=row.outcome,
                detail=row.detail,
                prev_hash=row.prev_hash,
            )
            if digest != row.hash:
                report(
                    seq,
                    "changed",
                    f"entry {seq} was changed (its content no longer matches its hash)",
                )
        if checkpoint is not None and seq == checkpoint.count:
            checkpoint_seen = True
            if row.hash != checkpoint.root_hash:
                report(
                    seq,
                    "checkpoint",
                    f"entry {seq} no longer has the checkpoint's hash {checkpoint.root_hash}: "
                    f"history up to the checkpoint was rewritten",
                )
        # Follow what is stored, not what was expected, so each fault is reported once.
        prev_hash = str(row.hash)
        expected = seq + 1

    last_seq = expected - 1
    if not checkpoint_seen and checkpoint is not None:
        if last_seq >= checkpoint.count:
            why = f"entry {checkpoint.count}, the checkpoint's last, is missing"
        else:
            why = (
                f"the log ends at entry {last_seq} but the checkpoint covers "
                f"{checkpoint.count} entries: entries after {last_seq} were removed"
            )
        report(checkpoint.count, "checkpoint", why)
    problems.sort(key=lambda p: p.seq)
    return VerifyResult(
        count=count,
        last_seq=last_seq,
        root_hash=prev_hash,
        problems=tuple(problems),
        truncated=truncated,
        checkpoint_checked=checkpoint is not None,
    )


def checkpoint(engine: Engine) -> Checkpoint:
    """The current root: the last entry's hash and number, and the time it was read.

    Cheap (one indexed read) and trusts the log; ``verify(engine).checkpoint()`` gives
    the root of a log that was checked first, which is what should be published.
    """
    t = audit_table
    with engine.connect() as conn:
        row = conn.execute(select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)).first()
    if row is None:
        return Checkpoint(root_hash=GENESIS_HASH, count=0, at=utcnow())
    return Checkpoint(root_hash=str(row.hash), count=int(row.seq), at=utcnow())
