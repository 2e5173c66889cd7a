"""fact_states: every state a fact row has held, with its range of versions, so as-of reads are one
indexed query instead of a replay of the version log. Existing stores are backfilled from the log's
after-images (the replay done once, here).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "fact_states",
        sa.Column("fact_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("from_version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("to_version", sa.Integer, nullable=False),
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
        sa.Column("created_version", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_fact_states_asof", "fact_states", ["namespace", "to_version", "from_version"])
    from memory_store.states import backfill

    backfill(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_fact_states_asof", table_name="fact_states")
    op.drop_table("fact_states")
