"""Global CLI options (--db, --home) and opening the stores they point at."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class CliState:
    db: str | None = None
    home: str | None = None


STATE = CliState()


def apply_globals(db: str | None, home: str | None) -> None:
    STATE.db = db
    STATE.home = home
    if home:
        # Downstream code (checkpoints, reports, index files) reads AGENTCL_HOME.
        os.environ["AGENTCL_HOME"] = home
    if db:
        os.environ["AGENTCL_DB_URL"] = db


def open_store(**kwargs):
    from memory_store import MemoryStore

    return MemoryStore.open(STATE.db, home=STATE.home, **kwargs)
