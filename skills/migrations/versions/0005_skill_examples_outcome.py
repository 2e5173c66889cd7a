"""Usage examples record their outcome: a failed call for a task is evidence against that tool for similar
tasks (skills/usage.py). Rows written before this revision were all successes.

Revision ID: skills_0005
Revises: skills_0004
"""
import sqlalchemy as sa
from alembic import op

revision = "skills_0005"
down_revision = "skills_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("skill_examples", sa.Column("ok", sa.Boolean, nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("skill_examples") as batch:
        batch.drop_column("ok")
