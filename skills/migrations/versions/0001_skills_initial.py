"""Skill registry tables: skills, versions, per-version stats, usage examples and notes.

Revision ID: skills_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "skills_0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "skill_skills",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("origin", sa.String(1000), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("deprecated", sa.Boolean, nullable=False),
        sa.Column("replacement", sa.String(128)),
        sa.Column("current_version", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "skill_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("skill_id", sa.Integer, sa.ForeignKey("skill_skills.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("label", sa.String(64)),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("examples", sa.JSON, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("definition", sa.JSON),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("diff", sa.JSON),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("skill_id", "version", name="uq_skill_version"),
    )
    op.create_table(
        "skill_stats",
        sa.Column("version_id", sa.Integer, sa.ForeignKey("skill_versions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("calls", sa.Integer, nullable=False),
        sa.Column("successes", sa.Integer, nullable=False),
        sa.Column("failures", sa.JSON, nullable=False),
        sa.Column("total_latency_ms", sa.Float, nullable=False),
        sa.Column("last_used_at", TZ),
    )
    for table, column, ctype in (("skill_examples", "task", sa.Text), ("skill_notes", "text", sa.Text)):
        cols = [sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                sa.Column("version_id", sa.Integer, sa.ForeignKey("skill_versions.id", ondelete="CASCADE"),
                          nullable=False),
                sa.Column(column, ctype, nullable=False)]
        if table == "skill_examples":
            cols.append(sa.Column("args", sa.JSON, nullable=False))
        cols.append(sa.Column("created_at", TZ, nullable=False))
        op.create_table(table, *cols)


def downgrade() -> None:
    for table in ("skill_notes", "skill_examples", "skill_stats", "skill_versions", "skill_skills"):
        op.drop_table(table)
