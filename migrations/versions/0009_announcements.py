"""announcements: HQ messages to all dealers or chosen tiers, and who read them

Revision ID: b9a1e0c4d201
Revises: 0a26df9def03
Create Date: 2026-12-02 07:00:00

"""

import sqlalchemy as sa
from alembic import op

import app.models.types

revision = "b9a1e0c4d201"
down_revision = "0a26df9def03"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("publish_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_announcements_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    with op.batch_alter_table("announcements", schema=None) as batch_op:
        batch_op.create_index("ix_announcements_publish_at_id", ["publish_at", "id"], unique=False)

    op.create_table(
        "announcement_tiers",
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("tier_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_announcement_tiers_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"],
            ["tiers.id"],
            name=op.f("fk_announcement_tiers_tier_id_tiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("announcement_id", "tier_id", name=op.f("pk_announcement_tiers")),
    )
    with op.batch_alter_table("announcement_tiers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_announcement_tiers_tier_id"), ["tier_id"], unique=False
        )

    op.create_table(
        "announcement_reads",
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("read_at", app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["announcements.id"],
            name=op.f("fk_announcement_reads_announcement_id_announcements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_announcement_reads_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("announcement_id", "user_id", name=op.f("pk_announcement_reads")),
    )
    with op.batch_alter_table("announcement_reads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_announcement_reads_user_id"), ["user_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("announcement_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_announcement_reads_user_id"))
    op.drop_table("announcement_reads")
    with op.batch_alter_table("announcement_tiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_announcement_tiers_tier_id"))
    op.drop_table("announcement_tiers")
    with op.batch_alter_table("announcements", schema=None) as batch_op:
        batch_op.drop_index("ix_announcements_publish_at_id")
    op.drop_table("announcements")
