"""What every memory-store service shares: the database engine, the clocks, the actor, the embedder and
the write transaction. One object, passed explicitly to each service (memory_store.store builds them)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection, Engine

from .config import index_dir
from .db import write_transaction
from .embedding import Embedder, get_default_embedder
from .timeparse import utcnow
from .versions import write_version


class StoreContext:
    def __init__(self, engine: Engine, *, url: str, home: Path, embedder: Embedder | None = None,
                 actor: str = "user", device: str | None = "auto", clock: Callable[[], datetime] | None = None):
        self.engine = engine
        self.url = url
        self.home = home
        self.actor = actor
        self.device = device
        # World time: default validity start, expiry, validation times. Injectable so simulations and
        # replays run on their own clock; system times (recorded_at, version times) always use UTC now.
        self.clock = clock
        self.embedder_or_none = embedder  # loaded on first use: opening a store does not load a model
        self.index_dir = index_dir(home, url)

    def now(self) -> datetime:
        return self.clock() if self.clock is not None else utcnow()

    @property
    def embedder(self) -> Embedder:
        if self.embedder_or_none is None:
            self.embedder_or_none = get_default_embedder(self.device)
        return self.embedder_or_none

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode(texts)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write: a SQL transaction under the store's write lock."""
        with write_transaction(self.engine) as conn:
            yield conn

    def write_version(self, conn: Connection, *, op: str, namespace: str | None, affected: list,
                      before: Any = None, after: Any = None, actor: str | None = None,
                      version: int | None = None) -> int:
        """memory_store.versions.write_version with this store's actor as the default."""
        return write_version(conn, op=op, namespace=namespace, affected=affected, before=before, after=after,
                             actor=actor or self.actor, version=version)
