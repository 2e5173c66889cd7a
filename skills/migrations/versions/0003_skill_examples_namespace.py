"""Usage examples belong to the namespace of the agent that learned them (task texts carry a tenant's
data); rows written before this revision belong to 'default', the namespace every registry used then.

Revision ID: skills_0003
Revises: skills_0002
"""
import sqlalchemy as sa
from alembic import op

revision = "skills_0003"
down_revision = "skills_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("skill_examples", sa.Column("namespace", sa.String(200), nullable=False, server_default="default"))
    op.create_index("ix_skill_examples_namespace", "skill_examples", ["namespace"])


def downgrade() -> None:
    op.drop_index("ix_skill_examples_namespace", table_name="skill_examples")
    with op.batch_alter_table("skill_examples") as batch:
        batch.drop_column("namespace")
