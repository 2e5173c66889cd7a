"""Global CLI options (--db, --home) and opening the stores they point at.

With AGENTCL_SERVER set (and AGENTCL_API_KEY when the server has keys), `open_store()` returns a client of
that server with the same methods instead of opening the database: the commands do not change, the model is
loaded once by the server rather than by every command, and the output is the same."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class CliState:
    db: str | None = None
    home: str | None = None


STATE = CliState()
# The store methods the CLI may call through a server: add-fact, add-note, facts, search, history, retract,
# prune. Any other command names the variable to unset rather than silently reading a different database.
REMOTE_METHODS = frozenset({"add_fact", "add_note", "facts", "search", "history", "retract", "prune"})


def apply_globals(db: str | None, home: str | None) -> None:
    STATE.db = db
    STATE.home = home
    if home:
        # Downstream code (checkpoints, reports, index files) reads AGENTCL_HOME.
        os.environ["AGENTCL_HOME"] = home
    if db:
        os.environ["AGENTCL_DB_URL"] = db


def open_store(**kwargs):
    server = os.environ.get("AGENTCL_SERVER")
    if server:
        return RemoteStore(server)
    from memory_store import MemoryStore

    return MemoryStore.open(STATE.db, home=STATE.home, **kwargs)


class RemoteStore:
    """The part of MemoryStore the CLI's memory commands use, answered by a running `agentcl serve`."""

    def __init__(self, url: str):
        from agentcl.client import Client

        self._client = Client(url, light=True)

    def __getattr__(self, name: str):
        if name in REMOTE_METHODS:
            return getattr(self._client, name)
        from memory_store.errors import UserError

        raise UserError(f"this command does not run through a server yet (store.{name}); unset AGENTCL_SERVER "
                        "to use the database directly")

    def __enter__(self) -> RemoteStore:
        return self

    def __exit__(self, *exc) -> None:
        self._client.close()
