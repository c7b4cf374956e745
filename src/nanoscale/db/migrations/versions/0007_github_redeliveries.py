"""GitHub deliveries: how often GitHub's Redeliver sent an already handled delivery again, and
when last (a no-op each time, shown so a user sees the redelivery arrived)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import nanoscale.db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("github_webhook_deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("redeliveries", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("last_redelivered_at", nanoscale.db.base.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("github_webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_column("last_redelivered_at")
        batch_op.drop_column("redeliveries")
