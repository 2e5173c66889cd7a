"""MemoryStore: the one write path into versioned memory, and the reads over it.

Every public write runs in one SQL transaction under the store's write lock and produces exactly one
version record (monotonic, gap-free number; actor; operation; affected ids; before/after snapshots).
Embeddings are computed *before* the transaction so the lock is held only for SQL work. The FAISS/BM25
cache is updated after commit and otherwise catches up from SQL when it is next used."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, or_, select
from sqlalchemy.engine import Connection, Engine

from . import retry, schema
from .config import agentcl_home, database_url, index_dir
from .db import make_engine, migrate, redact_url, write_transaction
from .embedding import Embedder, get_default_embedder
from .errors import NotFoundError
from .facts import FactsMixin
from .history import HistoryMixin
from .maintenance import MaintenanceMixin
from .models import VersionRecord
from .normalize import clean_namespace, clean_whole
from .notes import NotesMixin
from .policies import PoliciesMixin
from .revert import RevertMixin
from .search import SearchMixin
from .timeparse import as_utc, utcnow
from .transfer import TransferMixin

log = logging.getLogger("memory_store")


class MemoryStore(FactsMixin, PoliciesMixin, NotesMixin, SearchMixin, HistoryMixin, RevertMixin, MaintenanceMixin,
                  TransferMixin):
    def __init__(self, engine: Engine, *, url: str, home: Path, embedder: Embedder | None = None,
                 actor: str = "user", device: str | None = "auto", clock: Callable[[], datetime] | None = None):
        self.engine = engine
        # World time: default validity start, expiry, validation times. Injectable so simulations and
        # replays run on their own clock; system times (recorded_at, version times) always use UTC now.
        self.clock = clock
        self.url = url
        self.home = home
        self.actor = actor
        self.device = device
        self._embedder = embedder
        self.index_dir = index_dir(home, url)
        self._indexes: dict = {}

    @classmethod
    def open(cls, url: str | None = None, *, home: str | Path | None = None, embedder: Embedder | None = None,
             actor: str = "user", device: str | None = "auto") -> MemoryStore:
        """Open (and create or migrate) the store at `url` (default: SQLite in AGENTCL_HOME)."""
        home_path = agentcl_home(home)
        resolved = database_url(url, home_path)
        engine = make_engine(resolved)
        try:
            migrate(engine)
        except Exception as exc:
            engine.dispose()
            from .errors import UserError

            raise UserError(f"cannot open database {redact_url(resolved)}: {exc.__class__.__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
        return cls(engine, url=resolved, home=home_path, embedder=embedder, actor=actor, device=device)

    def close(self) -> None:
        self.save_indexes()
        self.engine.dispose()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def now(self) -> datetime:
        return self.clock() if self.clock is not None else utcnow()

    # -- embedding ---------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_default_embedder(self.device)
        return self._embedder

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode(texts)

    # -- the write transaction ---------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with write_transaction(self.engine) as conn:
            yield conn

    @staticmethod
    def _next_version(conn: Connection) -> int:
        return int(conn.execute(select(func.coalesce(func.max(schema.versions.c.version), 0))).scalar_one()) + 1

    def _record_version(self, conn: Connection, *, op: str, namespace: str | None, affected: list,
                        before: Any = None, after: Any = None, actor: str | None = None) -> int:
        version = self._next_version(conn)
        conn.execute(insert(schema.versions).values(
            version=version, at=utcnow(), actor=actor or self.actor, op=op, namespace=namespace,
            affected=affected, before=before, after=after))
        return version

    # -- version log -------------------------------------------------------------------------
    def current_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(schema.versions.c.version), 0))).scalar_one())

    def log(self, *, since: int | None = None, namespace: str = "default", limit: int | None = None,
            full: bool = True, until: int | None = None, shared: bool = False,
            all_namespaces: bool = False, conn: Connection | None = None) -> list[VersionRecord]:
        """Version records of one namespace after `since` and up to `until` (oldest first). Version
        numbers are global, so a namespace's numbers have gaps. `shared` adds the records of writes that
        spanned several namespaces (earlier versions' reverts and mixed imports), whose before/after also
        hold other namespaces' rows: for internal reads only, as is `all_namespaces` (integrity checks)."""
        since = None if since is None else clean_whole(since, what="since")
        limit = None if limit is None else clean_whole(limit, what="limit", minimum=1)
        v = schema.versions
        cols = [v.c.version, v.c.at, v.c.actor, v.c.op, v.c.namespace, v.c.affected]
        if full:
            cols += [v.c.before, v.c.after]
        query = select(*cols).order_by(v.c.version)
        if since is not None:
            query = query.where(v.c.version > since)
        if until is not None:
            query = query.where(v.c.version <= until)
        if not all_namespaces:
            ns = clean_namespace(namespace)
            query = query.where(or_(v.c.namespace == ns, v.c.namespace.is_(None)) if shared else v.c.namespace == ns)
        if limit is not None:
            query = query.limit(limit)
        if conn is not None:  # inside a caller's transaction (revert reads the log under the write lock)
            rows = conn.execute(query).all()
        else:
            with self.engine.connect() as own:
                rows = own.execute(query).all()
        return [VersionRecord(version=r.version, at=as_utc(r.at), actor=r.actor, op=r.op, namespace=r.namespace,
                              affected=list(r.affected or []), before=r.before if full else None,
                              after=r.after if full else None) for r in rows]

    def version_at(self, when: datetime) -> int:
        """The last version written at or before `when` (0 if none)."""
        v = schema.versions
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(v.c.version), 0)).where(v.c.at <= when))
                       .scalar_one())

    def require_version(self, version: int) -> None:
        if not 0 <= version <= self.current_version():
            raise NotFoundError(f"version {version} does not exist (latest is {self.current_version()})")

    # -- agent event log (not memory: not versioned) -----------------------------------------
    def log_event(self, run_id: str, episode: int, step: int, stage: str, payload: dict, *,
                  namespace: str = "default") -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(schema.events).values(
                namespace=namespace, run_id=run_id, episode=episode, step=step, stage=stage, at=utcnow(),
                payload=payload))

    def log_events(self, rows: list[dict]) -> None:
        """Many events in one transaction (the agent flushes a step's stages at once)."""
        if not rows:
            return
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(insert(schema.events), [{"at": now, "namespace": "default", **r} for r in rows])

    def events(self, run_id: str, *, stage: str | None = None) -> list[dict]:
        e = schema.events
        query = select(e).where(e.c.run_id == run_id).order_by(e.c.id)
        if stage:
            query = query.where(e.c.stage == stage)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]


# A lost PostgreSQL connection is ridden out by every public operation that committed nothing yet.
retry.wrap_public_methods(MemoryStore, skip={"close", "now", "embed"})
