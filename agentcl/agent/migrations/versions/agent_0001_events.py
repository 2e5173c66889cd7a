"""The agent's event log becomes the agent's own table, `agent_events`.

Until now the memory store's schema held it (memory store revision 0001 creates `events`). Where that
table exists (every database the store has opened, with or without events in it) it is renamed, so its
rows, ids and id sequence stay as they are; its index gains the namespace every read filters by. Where
it does not, the table is created.

Revision ID: agent_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "agent_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("events"):
        op.drop_index("ix_events_run", table_name="events")
        op.rename_table("events", "agent_events")
    else:
        op.create_table(
            "agent_events",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("namespace", sa.String(200), nullable=False),
            sa.Column("run_id", sa.String(64), nullable=False),
            sa.Column("episode", sa.Integer, nullable=False),
            sa.Column("step", sa.Integer, nullable=False),
            sa.Column("stage", sa.String(40), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("payload", sa.JSON, nullable=False),
            sqlite_autoincrement=True,
        )
    op.create_index("ix_agent_events_run", "agent_events", ["namespace", "run_id", "step"])


def downgrade() -> None:
    """Back to the shape memory store revision 0001 made (so its own downgrade can drop it)."""
    op.drop_index("ix_agent_events_run", table_name="agent_events")
    op.rename_table("agent_events", "events")
    op.create_index("ix_events_run", "events", ["run_id", "step"])
