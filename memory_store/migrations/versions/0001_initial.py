"""The first schema: facts, notes, versions, predicate policies, aliases, events.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "facts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("namespace", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("predicate", sa.String(200), nullable=False),
        sa.Column("object", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("valid_from", TZ, nullable=False),
        sa.Column("valid_to", TZ),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("retired_at", TZ),
        sa.Column("expires_at", TZ),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("validation_count", sa.Integer, nullable=False),
        sa.Column("last_validated_at", TZ),
        sa.Column("supersedes_id", sa.Integer),
        sa.Column("superseded_by_id", sa.Integer),
        sa.Column("in_conflict", sa.Boolean, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("embedding", sa.LargeBinary),
        sa.Column("created_version", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_facts_slot", "facts", ["namespace", "subject", "predicate", "status"])
    op.create_index("ix_facts_version", "facts", ["namespace", "version"])
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("namespace", sa.String(200), nullable=False),
        sa.Column("note_type", sa.String(40), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("speaker", sa.String(200)),
        sa.Column("external_id", sa.String(200)),
        sa.Column("thread", sa.String(200)),
        sa.Column("occurred_at", TZ),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("expires_at", TZ),
        sa.Column("retired_at", TZ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("embedding", sa.LargeBinary),
        sa.Column("created_version", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_notes_ns_status", "notes", ["namespace", "status"])
    op.create_index("ix_notes_version", "notes", ["namespace", "version"])
    op.create_index("ix_notes_external", "notes", ["namespace", "external_id"])
    op.create_table(
        "versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("op", sa.String(40), nullable=False),
        sa.Column("namespace", sa.String(200)),
        sa.Column("affected", sa.JSON, nullable=False),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
    )
    op.create_index("ix_versions_ns", "versions", ["namespace", "version"])
    op.create_table(
        "predicate_policies",
        sa.Column("namespace", sa.String(200), primary_key=True),
        sa.Column("predicate", sa.String(200), primary_key=True),
        sa.Column("functional", sa.Boolean, nullable=False),
        sa.Column("ttl_seconds", sa.Float),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("source_priority", sa.JSON, nullable=False),
    )
    op.create_table(
        "aliases",
        sa.Column("namespace", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("alias", sa.String(500), primary_key=True),
        sa.Column("canonical", sa.String(500), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("namespace", sa.String(200), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_run", "events", ["run_id", "step"])


def downgrade() -> None:
    for table in ("events", "aliases", "predicate_policies", "versions", "notes", "facts"):
        op.drop_table(table)
