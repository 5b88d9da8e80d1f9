"""Giving a freshly built demo store a plausible past.

A demo imports years of decisions in one minute, so every record would look as if
the platform learnt of it today; as-of questions about last month would then see an
empty store, and no black-list notice period would have run. The demo therefore
dates each synthetic record's arrival the day after its decision, as if the feeds
had been flowing all along. Only the demo does this: real feeds keep the time the
platform actually received them.
"""

from __future__ import annotations

from sqlalchemy import Engine, text


def simulate_arrival(engine: Engine) -> int:
    """Set ``recorded_at`` of every record to the day after its decision; returns rows."""
    if engine.dialect.name == "postgresql":
        sql = "UPDATE records SET recorded_at = decided_on + interval '1 day'"
    else:
        sql = "UPDATE records SET recorded_at = datetime(decided_on, '+1 day') || '.000000'"
    with engine.begin() as conn:
        return conn.execute(text(sql)).rowcount
