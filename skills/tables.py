"""SQL tables of the skill registry (SQLAlchemy Core). Migrated by this package's own Alembic env."""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
TZ = sa.DateTime(timezone=True)

skills = sa.Table(
    "skill_skills", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("origin", sa.String(1000), nullable=False),  # builtin | entrypoint:<dist> | file:<path> | api | ...
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # active | candidate (composites before verification)
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("deprecated", sa.Boolean, nullable=False),
    sa.Column("replacement", sa.String(128)),
    sa.Column("current_version", sa.Integer, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
)

versions = sa.Table(
    "skill_versions", metadata,
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

stats = sa.Table(
    "skill_stats", metadata,
    sa.Column("version_id", sa.Integer, sa.ForeignKey("skill_versions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("calls", sa.Integer, nullable=False),
    sa.Column("successes", sa.Integer, nullable=False),
    sa.Column("failures", sa.JSON, nullable=False),  # {error kind: count}
    sa.Column("total_latency_ms", sa.Float, nullable=False),
    sa.Column("last_used_at", TZ),
)

examples = sa.Table(
    "skill_examples", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("skill_versions.id", ondelete="CASCADE"), nullable=False),
    sa.Column("task", sa.Text, nullable=False),
    sa.Column("args", sa.JSON, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    # Skills are shared by the whole database; what an agent learned using them belongs to its namespace
    # (task texts carry a tenant's data).
    sa.Column("namespace", sa.String(200), nullable=False, server_default="default"),
    # False: the call failed for this task (evidence against the tool for similar tasks, never replayed)
    sa.Column("ok", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Index("ix_skill_examples_version_id", "version_id"),  # every call with a task looks its version up
    sa.Index("ix_skill_examples_namespace", "namespace"),
)

notes = sa.Table(
    "skill_notes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("skill_versions.id", ondelete="CASCADE"), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.Index("ix_skill_notes_version_id", "version_id"),
)

# A removed built-in or plug-in skill: discovery finds it again on every open and skips it while this
# row exists (removed with `skills remove`, back with `skills restore`).
removed = sa.Table(
    "skill_removed", metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("origin", sa.String(1000), primary_key=True),
    sa.Column("removed_at", TZ, nullable=False),
)
