"""Indexes on the version id of usage examples and notes (read on every call and every listing).

Revision ID: skills_0002
Revises: skills_0001
"""
from alembic import op

revision = "skills_0002"
down_revision = "skills_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_skill_examples_version_id", "skill_examples", ["version_id"])
    op.create_index("ix_skill_notes_version_id", "skill_notes", ["version_id"])


def downgrade() -> None:
    op.drop_index("ix_skill_notes_version_id", table_name="skill_notes")
    op.drop_index("ix_skill_examples_version_id", table_name="skill_examples")
