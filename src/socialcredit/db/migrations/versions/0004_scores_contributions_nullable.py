"""scores.contributions nullable

A population rescore stores each score with its reasons only: rendering every
contribution of every subject was most of its cost, and the full list is computed
on request instead (``scoring.store.compute``). Scores stored in process keep it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite cannot alter a column in place; the batch copies the table.
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.alter_column("contributions", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    # The lists left out cannot be rebuilt here (that needs the records as of each date),
    # and any text put in their place would be a false explanation: refuse instead.
    bind = op.get_bind()
    missing = bind.scalar(sa.text("SELECT count(*) FROM scores WHERE contributions IS NULL"))
    if missing:
        raise RuntimeError(
            f"{missing} stored scores have no contribution list (population rescores); "
            "delete them or keep revision 0004"
        )
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.alter_column("contributions", existing_type=sa.Text(), nullable=False)
