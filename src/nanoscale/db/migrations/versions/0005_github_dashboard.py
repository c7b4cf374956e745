"""GitHub dashboard: the connected account's avatar URL (from `GET /user`) and, on a delivery
found to duplicate another, the GUID of the original delivery (for "duplicate of delivery …")

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("github_user_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("avatar_url", sa.String(length=1024), nullable=True))
    with op.batch_alter_table("github_webhook_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duplicate_of", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("github_webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_column("duplicate_of")
    with op.batch_alter_table("github_user_links", schema=None) as batch_op:
        batch_op.drop_column("avatar_url")
