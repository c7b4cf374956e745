"""GitHub status reporting: what was reported per deployment, and each installation's
permissions (which decide between a GitHub Deployment, a commit status, or nothing)

Existing deployments are recorded as done, so an upgrade never reports history to GitHub.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import nanoscale.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "github_status_reports",
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("github_deployment_id", sa.BigInteger(), nullable=True),
        sa.Column("reported_state", sa.String(length=16), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_at", nanoscale.db.base.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("updated_at", nanoscale.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_github_status_reports_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("deployment_id", name=op.f("pk_github_status_reports")),
    )
    op.create_index(
        op.f("ix_github_status_reports_done"), "github_status_reports", ["done"], unique=False
    )
    with op.batch_alter_table("github_installations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("permissions", sa.JSON(), nullable=True))
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC (db.base.UTCDateTime)
    op.execute(
        sa.text(
            "INSERT INTO github_status_reports (deployment_id, mode, done, attempts, updated_at) "
            "SELECT id, 'none', :done, 0, :now FROM deployments"
        ).bindparams(done=True, now=now)
    )


def downgrade() -> None:
    with op.batch_alter_table("github_installations", schema=None) as batch_op:
        batch_op.drop_column("permissions")
    op.drop_index(op.f("ix_github_status_reports_done"), table_name="github_status_reports")
    op.drop_table("github_status_reports")
