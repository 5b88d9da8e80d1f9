"""When a "no dishonesty record" (无失信记录) certificate may be issued.

A subject has a dishonesty record on day D — and the certificate is refused — when its
report as of D shows either of:

1. **A black-list entry that is open**: under notice (``pending_notice``) or
   ``published``, not exited on D and not past its planned exit. An entry under notice
   counts: the listing has been decided and is being notified, and a clean certificate
   would be contradicted within days.
2. **A serious negative record that is shown**: severity ``serious``, polarity
   ``negative``, status ``active`` on D, inside its display window and before the query
   bar (the scoring contract's rule, ``RecordEntry.shown``). Whether the policy already
   counts its category in the score does not matter: the record is a fact on display,
   not a scoring matter.

Nothing else refuses it: minor and general records are not dishonesty records (they are
not serious), red-list entries and grades say nothing about dishonesty, and exited
entries, expired, repaired, annulled or corrected records are over. A record under
objection (``disputed``) still refuses it until the objection is decided: an objection
is not a decision. A black-list entry of an organisation the subject represents does
not refuse the representative's own certificate; it is the organisation's record.
"""

from __future__ import annotations

from socialcredit.reports.model import SubjectReport

OPEN_LIST_STATUSES = ("pending_notice", "published")


def dishonesty_reasons(report: SubjectReport) -> tuple[str, ...]:
    """What stands in the way of a "no dishonesty record" certificate; empty if nothing."""
    day = report.as_of
    reasons: list[str] = []
    for e in report.lists:
        if (
            e.list_name == "black"
            and e.status in OPEN_LIST_STATUSES
            and (e.exited_on is None or e.exited_on > day)
            and (e.planned_exit_on is None or e.planned_exit_on > day)
        ):
            reasons.append(
                f"black-list entry {e.entry_id} ({e.criterion}, {e.status} since "
                f"{(e.published_on or e.entered_on).isoformat()})"
            )
    for r in report.records:
        if r.shown and r.severity == "serious" and r.polarity == "negative":
            note = ", under objection" if r.disputed else ""
            reasons.append(
                f"serious record {r.record_type} decided {r.decided_on.isoformat()} "
                f"({r.decision_ref or r.provider_record_id}; shown until "
                f"{r.window.shown_until.isoformat()}{note})"
            )
    return tuple(reasons)
