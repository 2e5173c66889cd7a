"""The SQL schema (SQLAlchemy Core). SQL is the source of truth; vectors are stored with their rows.

Changes to this file need an Alembic migration in memory_store/migrations/versions. Other components keep
their own tables on the same database with their own migrations: the skill registry (skills/tables.py) and
the agent's event log (agentcl/agent/event_log.py, which took over the `events` table of revision 0001)."""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()
TZ = DateTime(timezone=True)

facts = Table(
    "facts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("namespace", String(200), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("predicate", String(200), nullable=False),
    Column("object", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("valid_from", TZ, nullable=False),
    Column("valid_to", TZ),
    Column("recorded_at", TZ, nullable=False),
    Column("retired_at", TZ),
    Column("expires_at", TZ),
    Column("confidence", Float, nullable=False),
    Column("source", String(200), nullable=False),
    Column("validation_count", Integer, nullable=False, default=0),
    Column("last_validated_at", TZ),
    Column("supersedes_id", Integer),
    Column("superseded_by_id", Integer),
    Column("in_conflict", Boolean, nullable=False, default=False),
    Column("meta", JSON, nullable=False, default=dict),
    Column("embedding", LargeBinary),
    Column("created_version", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_facts_slot", "namespace", "subject", "predicate", "status"),
    Index("ix_facts_version", "namespace", "version"),
    sqlite_autoincrement=True,  # ids are never reused, even after a prune
)

# System time per row: every state a fact row has held, with the range of versions it held it
# [from_version, to_version); to_version is OPEN for the state it holds now. Written in the same
# transaction as each version record (memory_store.states), so an as-of read is one indexed query.
fact_states = Table(
    "fact_states",
    metadata,
    Column("fact_id", Integer, primary_key=True, autoincrement=False),
    Column("from_version", Integer, primary_key=True, autoincrement=False),
    Column("to_version", Integer, nullable=False),
    Column("namespace", String(200), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("predicate", String(200), nullable=False),
    Column("object", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("valid_from", TZ, nullable=False),
    Column("valid_to", TZ),
    Column("recorded_at", TZ, nullable=False),
    Column("retired_at", TZ),
    Column("expires_at", TZ),
    Column("confidence", Float, nullable=False),
    Column("source", String(200), nullable=False),
    Column("validation_count", Integer, nullable=False),
    Column("last_validated_at", TZ),
    Column("supersedes_id", Integer),
    Column("superseded_by_id", Integer),
    Column("in_conflict", Boolean, nullable=False),
    Column("meta", JSON, nullable=False),
    Column("created_version", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    # as of N: to_version > N (a range scan) and from_version <= N (checked in the index itself)
    Index("ix_fact_states_asof", "namespace", "to_version", "from_version"),
)

notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("namespace", String(200), nullable=False),
    Column("note_type", String(40), nullable=False),
    Column("text", Text, nullable=False),
    Column("speaker", String(200)),
    Column("external_id", String(200)),
    Column("thread", String(200)),
    Column("occurred_at", TZ),
    Column("recorded_at", TZ, nullable=False),
    Column("expires_at", TZ),
    Column("retired_at", TZ),
    Column("status", String(16), nullable=False),
    Column("meta", JSON, nullable=False, default=dict),
    Column("embedding", LargeBinary),
    Column("created_version", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_notes_ns_status", "namespace", "status"),
    Index("ix_notes_version", "namespace", "version"),
    Index("ix_notes_external", "namespace", "external_id"),
    sqlite_autoincrement=True,
)

versions = Table(
    "versions",
    metadata,
    # Assigned as max+1 under the store's write lock, so the log is gap-free on every backend.
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("at", TZ, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("op", String(40), nullable=False),
    Column("namespace", String(200)),
    Column("affected", JSON, nullable=False),
    Column("before", JSON),
    Column("after", JSON),
    Index("ix_versions_ns", "namespace", "version"),
)

policies = Table(
    "predicate_policies",
    metadata,
    Column("namespace", String(200), primary_key=True),
    Column("predicate", String(200), primary_key=True),
    Column("functional", Boolean, nullable=False),
    Column("ttl_seconds", Float),
    Column("rule", String(40), nullable=False),
    Column("source_priority", JSON, nullable=False, default=list),
)

aliases = Table(
    "aliases",
    metadata,
    Column("namespace", String(200), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("alias", String(500), primary_key=True),
    Column("canonical", String(500), nullable=False),
)
