"""The agent's event log: what a run did (run, episode, step, stage, payload), for replay and reports.

Not memory (not versioned, never searched), so not part of the memory store's schema: the agent owns its
table, `agent_events`, and migrates it with its own Alembic environment (agentcl/agent/migrations,
version table `agent_alembic_version`) on the database of the store it runs with, as the skill registry
does with its `skill_*` tables. Its first revision adopts the `events` table that memory store revision
0001 created (renamed, rows kept), so databases written before keep their events.

Namespaces are a boundary here too: every read is of one namespace."""
from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from memory_store import retry
from memory_store.db import run_migrations
from memory_store.timeparse import utcnow

metadata = sa.MetaData()

events = sa.Table(
    "agent_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("namespace", sa.String(200), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("episode", sa.Integer, nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("stage", sa.String(40), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Index("ix_agent_events_run", "namespace", "run_id", "step"),
    sqlite_autoincrement=True,
)

MIGRATE_LOCK_KEY = 0x6167656E  # "agen": serialises two processes creating the table at once
_migrated: set[str] = set()
_lock = threading.Lock()


def migrate(engine: Engine) -> None:
    """The agent's tables at head (once per process per database; per engine for in-memory ones)."""
    key = f"{engine.url!r}:{id(engine) if engine.url.database in (None, '', ':memory:') else ''}"
    with _lock:
        if key in _migrated:
            return
        # immediate: the agent migrates after the store and registry opened, when another process's
        # run may already be writing to a SQLite database
        run_migrations(engine, Path(__file__).parent / "migrations", "head", lock_key=MIGRATE_LOCK_KEY,
                       immediate=True)
        _migrated.add(key)


class EventLog:
    """Writes and reads `agent_events` on `engine` (migrated when opened)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        migrate(engine)

    def log_events(self, rows: list[dict]) -> None:
        """Many events in one transaction (the agent flushes a step's stages at once). Each row names
        its namespace, run_id, episode, step, stage and payload."""
        if not rows:
            return
        missing = [r for r in rows if not r.get("namespace")]
        if missing:
            raise ValueError(f"{len(missing)} event(s) without a namespace")
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(sa.insert(events), [{"at": now, **r} for r in rows])

    def events(self, run_id: str, *, namespace: str, stage: str | None = None) -> list[dict]:
        """The events of one run in `namespace`, in the order they were written."""
        query = (sa.select(events).where(events.c.namespace == namespace, events.c.run_id == run_id)
                 .order_by(events.c.id))
        if stage:
            query = query.where(events.c.stage == stage)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]


# A lost PostgreSQL connection is ridden out like the store's own operations (nothing committed: re-run).
retry.wrap_public_methods(EventLog)
