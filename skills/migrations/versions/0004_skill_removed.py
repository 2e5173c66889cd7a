"""Removed discovered skills: a built-in or plug-in skill is found again on every open, so its removal
is kept as a row here (name and origin) that discovery skips until `skills restore`.

Revision ID: skills_0004
Revises: skills_0003
"""
import sqlalchemy as sa
from alembic import op

revision = "skills_0004"
down_revision = "skills_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "skill_removed",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("origin", sa.String(1000), primary_key=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("skill_removed")
