"""GitHub operations: hook secret rotation (an alternate secret per link, accepted until a
deadline) and the App registered from a manifest (encrypted credentials, single-use states)

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
    op.create_table(
        "github_app_registrations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("github_app_id", sa.BigInteger(), nullable=False),
        sa.Column("slug", sa.String(length=255), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("html_url", sa.String(length=1024), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("webhook_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("private_key_encrypted", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", nanoscale.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_github_app_registrations")),
    )
    op.create_table(
        "github_manifest_states",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("local_user_id", sa.String(length=32), nullable=False),
        sa.Column("expires_at", nanoscale.db.base.UTCDateTime(), nullable=False),
        sa.Column("used_at", nanoscale.db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["local_user_id"],
            ["users.id"],
            name=op.f("fk_github_manifest_states_local_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_github_manifest_states")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_github_manifest_states_state_hash")),
    )
    with op.batch_alter_table("project_github_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alternate_secret_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("alternate_secret_until", nanoscale.db.base.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    op.drop_table("github_manifest_states")
    op.drop_table("github_app_registrations")
    with op.batch_alter_table("project_github_links", schema=None) as batch_op:
        batch_op.drop_column("alternate_secret_until")
        batch_op.drop_column("alternate_secret_encrypted")
