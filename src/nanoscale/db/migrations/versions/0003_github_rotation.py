"""Repository hook secret rotation: one alternate secret per link, accepted until a deadline

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import nanoscale.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("project_github_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alternate_secret_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("alternate_secret_until", nanoscale.db.base.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("project_github_links", schema=None) as batch_op:
        batch_op.drop_column("alternate_secret_until")
        batch_op.drop_column("alternate_secret_encrypted")
