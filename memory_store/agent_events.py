"""The agent's event log (run, episode, step, stage, payload): what an agent run did, for replay and
reports. Not memory: not versioned, never searched. Stored in the memory store's database only because
the agent has no database of its own."""
from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from . import tables
from .timeparse import utcnow

E = tables.events


class EventLog:
    def __init__(self, engine: Engine):
        self.engine = engine

    def log_events(self, rows: list[dict]) -> None:
        """Many events in one transaction (the agent flushes a step's stages at once)."""
        if not rows:
            return
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(insert(E), [{"at": now, "namespace": "default", **r} for r in rows])

    def events(self, run_id: str, *, stage: str | None = None) -> list[dict]:
        query = select(E).where(E.c.run_id == run_id).order_by(E.c.id)
        if stage:
            query = query.where(E.c.stage == stage)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]
