"""GitHub reconciler: per-link ETags, last seen head and check result; named leases
(`github_locks`) for the one reconciling process and per-repository hook writes

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import nanoscale.db.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "github_locks",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", nanoscale.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_github_locks")),
    )
    with op.batch_alter_table("project_github_links", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reconcile_etags", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(sa.Column("head_sha", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("checked_at", nanoscale.db.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("check_result", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("project_github_links", schema=None) as batch_op:
        batch_op.drop_column("check_result")
        batch_op.drop_column("checked_at")
        batch_op.drop_column("head_sha")
        batch_op.drop_column("reconcile_etags")
    op.drop_table("github_locks")
