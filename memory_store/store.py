"""MemoryStore: the one object users open, a thin facade over small services with explicit dependencies.

    StoreContext (context.py)  engine, clocks, actor, embedder, the write transaction, write_version
    VersionLog (versions.py)   the log's reads; versions.write_version is the one writer of its records
    PredicateRules             predicate policies and aliases (predicate_rules.py)
    SearchCache (index_cache)  each namespace's FAISS/BM25 cache, kept in step with SQL
    Facts / FactReads          fact writes (facts.py) and reads (fact_reads.py)
    Notes                      note writes and reads (notes.py)
    Search                     hybrid search (search.py)
    Reverter, Maintenance      revert (revert.py); audit and prune (maintenance.py)
    Transfer                   JSONL import and export (transfer.py)
    EventLog                   the agent's event log (agent_events.py; not memory)

Every public write runs in one SQL transaction under the store's write lock and produces exactly one
version record (monotonic, gap-free number; actor; operation; affected ids; before/after snapshots).
Embeddings are computed *before* the transaction so the lock is held only for SQL work. The FAISS/BM25
cache is updated after commit and otherwise catches up from SQL when it is next used.

Each public method below forwards to the service that owns it (same signature and docstring)."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine

from . import retry
from .agent_events import EventLog
from .config import agentcl_home, database_url
from .context import StoreContext
from .db import make_engine, migrate, redact_url
from .embedding import Embedder
from .errors import UserError
from .fact_reads import FactReads
from .facts import Facts
from .index_cache import SearchCache
from .maintenance import Maintenance
from .notes import Notes
from .predicate_rules import PredicateRules
from .revert import Reverter
from .search import Search
from .transfer import Transfer
from .versions import VersionLog

log = logging.getLogger("memory_store")


def _forward(service: str, method: Callable) -> Callable:
    """A facade method calling `method` on the service held in attribute `service`."""
    name = method.__name__

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        return getattr(getattr(self, service), name)(*args, **kwargs)

    return call


def _context_attr(name: str, *, settable: bool = False) -> property:
    getter = lambda self: getattr(self.ctx, name)  # noqa: E731
    setter = (lambda self, value: setattr(self.ctx, name, value)) if settable else None  # noqa: E731
    return property(getter, setter)


class MemoryStore:
    def __init__(self, engine: Engine, *, url: str, home: Path, embedder: Embedder | None = None,
                 actor: str = "user", device: str | None = "auto", clock: Callable[[], datetime] | None = None):
        self.ctx = StoreContext(engine, url=url, home=home, embedder=embedder, actor=actor, device=device,
                                clock=clock)
        self.versions = VersionLog(engine)
        self.rules = PredicateRules(self.ctx)
        self.cache = SearchCache(self.ctx)
        self.reads = FactReads(self.ctx, self.rules, self.versions)
        self.fact_writes = Facts(self.ctx, self.rules, self.cache)
        self.note_store = Notes(self.ctx, self.cache)
        self.searcher = Search(self.ctx, self.cache, self.versions)
        self.reverter = Reverter(self.ctx, self.versions, self.cache)
        self.maintenance = Maintenance(self.ctx, self.reads, self.cache)
        self.transfer = Transfer(self.ctx, self.fact_writes, self.reads, self.note_store, self.rules, self.cache)
        self.event_log = EventLog(engine)

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
            raise UserError(f"cannot open database {redact_url(resolved)}: {exc.__class__.__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
        return cls(engine, url=resolved, home=home_path, embedder=embedder, actor=actor, device=device)

    def close(self) -> None:
        self.cache.save_all()
        self.ctx.engine.dispose()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the shared context ------------------------------------------------------------------
    engine = _context_attr("engine")
    url = _context_attr("url")
    home = _context_attr("home")
    index_dir = _context_attr("index_dir")
    device = _context_attr("device")
    embedder = _context_attr("embedder")
    actor = _context_attr("actor", settable=True)
    clock = _context_attr("clock", settable=True)  # world time; a simulation sets its own

    def now(self) -> datetime:
        return self.ctx.now()

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.ctx.embed(texts)

    # -- version log -------------------------------------------------------------------------
    current_version = _forward("versions", VersionLog.current_version)
    log = _forward("versions", VersionLog.log)
    version_at = _forward("versions", VersionLog.version_at)
    require_version = _forward("versions", VersionLog.require_version)
    parse_as_of = _forward("versions", VersionLog.parse_as_of)

    # -- predicate policies and aliases ------------------------------------------------------
    set_policy = _forward("rules", PredicateRules.set_policy)
    policy = _forward("rules", PredicateRules.policy)
    add_alias = _forward("rules", PredicateRules.add_alias)
    canonical = _forward("rules", PredicateRules.canonical)

    # -- facts -------------------------------------------------------------------------------
    add_fact = _forward("fact_writes", Facts.add_fact)
    add_facts = _forward("fact_writes", Facts.add_facts)
    validate_fact = _forward("fact_writes", Facts.validate_fact)
    adjust_confidence = _forward("fact_writes", Facts.adjust_confidence)
    retract = _forward("fact_writes", Facts.retract)
    expire = _forward("fact_writes", Facts.expire)
    get_fact = _forward("reads", FactReads.get_fact)
    facts = _forward("reads", FactReads.facts)
    current = _forward("reads", FactReads.current)
    history = _forward("reads", FactReads.history)
    facts_as_of = _forward("reads", FactReads.facts_as_of)
    vectors = _forward("reads", FactReads.vectors)
    namespaces = _forward("reads", FactReads.namespaces)

    # -- notes -------------------------------------------------------------------------------
    add_note = _forward("note_store", Notes.add_note)
    add_notes = _forward("note_store", Notes.add_notes)
    write_notes = _forward("note_store", Notes.write_notes)
    embed_notes = _forward("note_store", Notes.embed_notes)
    retract_note = _forward("note_store", Notes.retract_note)
    get_note = _forward("note_store", Notes.get_note)
    notes = _forward("note_store", Notes.notes)

    # -- search and its cache ----------------------------------------------------------------
    search = _forward("searcher", Search.search)
    search_many = _forward("searcher", Search.search_many)

    def index(self, namespace: str, conn=None):
        """The namespace's search cache, loaded or rebuilt and caught up with SQL (memory_store.index_cache)."""
        return self.cache.get(namespace, conn)

    def save_indexes(self) -> None:
        self.cache.save_all()

    # -- revert, audit, prune, import / export -----------------------------------------------
    revert = _forward("reverter", Reverter.revert)
    audit = _forward("maintenance", Maintenance.audit)
    prune = _forward("maintenance", Maintenance.prune)
    import_jsonl = _forward("transfer", Transfer.import_jsonl)
    export_jsonl = _forward("transfer", Transfer.export_jsonl)

    # -- the agent's event log (not memory) --------------------------------------------------
    log_events = _forward("event_log", EventLog.log_events)
    events = _forward("event_log", EventLog.events)


# A lost PostgreSQL connection is ridden out by every public operation that committed nothing yet.
retry.wrap_public_methods(MemoryStore, skip={"close", "now", "embed"})
