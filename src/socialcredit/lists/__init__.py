"""The red and black lists: entry criteria met on a date (``decisions``), entries moved
through notice, publication and exit in the store (``store``), and read back for the
public site and caseworkers (``views``)."""

from socialcredit.lists.decisions import (
    BLACK,
    LIST_NAMES,
    RED,
    ListDecision,
    NotListed,
    black_exit,
    list_decisions,
    red_exit,
)
from socialcredit.lists.store import (
    EXITED,
    OPEN_STATUSES,
    PENDING,
    PUBLISHED,
    ListChange,
    due_subjects,
    publication_day,
    rescore_and_list,
    update_lists,
)
from socialcredit.lists.views import (
    EntryView,
    PublicEntry,
    TransitionView,
    count_public_entries,
    entries,
    public_entries,
    transitions,
)

__all__ = [
    "BLACK",
    "EXITED",
    "LIST_NAMES",
    "OPEN_STATUSES",
    "PENDING",
    "PUBLISHED",
    "RED",
    "EntryView",
    "ListChange",
    "ListDecision",
    "NotListed",
    "PublicEntry",
    "TransitionView",
    "black_exit",
    "count_public_entries",
    "due_subjects",
    "entries",
    "list_decisions",
    "public_entries",
    "publication_day",
    "red_exit",
    "rescore_and_list",
    "transitions",
    "update_lists",
]
