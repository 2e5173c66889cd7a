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

Every public write runs in one SQL transaction under the store's write lock and produces exactly one
version record (monotonic, gap-free number; actor; operation; affected ids; before/after snapshots).
Embeddings are computed *before* the transaction so the lock is held only for SQL work. The FAISS/BM25
cache is updated after commit and otherwise catches up from SQL when it is next used.

Each public method below forwards to the service that owns it (same signature and docstring)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine

from . import retry
from .config import agentcl_home, database_url
from .context import StoreContext
from .db import make_engine, migrate, redact_url
from .embedding import Embedder
from .errors import UserError
from .facade import attribute_of, forward
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
    engine = attribute_of("ctx", "engine")
    url = attribute_of("ctx", "url")
    home = attribute_of("ctx", "home")
    index_dir = attribute_of("ctx", "index_dir")
    device = attribute_of("ctx", "device")
    embedder = attribute_of("ctx", "embedder")
    actor = attribute_of("ctx", "actor", settable=True)
    clock = attribute_of("ctx", "clock", settable=True)  # world time; a simulation sets its own

    def now(self) -> datetime:
        return self.ctx.now()

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.ctx.embed(texts)

    # -- version log -------------------------------------------------------------------------
    current_version = forward("versions", VersionLog.current_version)
    log = forward("versions", VersionLog.log)
    version_at = forward("versions", VersionLog.version_at)
    require_version = forward("versions", VersionLog.require_version)
    parse_as_of = forward("versions", VersionLog.parse_as_of)

    # -- predicate policies and aliases ------------------------------------------------------
    set_policy = forward("rules", PredicateRules.set_policy)
    policy = forward("rules", PredicateRules.policy)
    add_alias = forward("rules", PredicateRules.add_alias)
    canonical = forward("rules", PredicateRules.canonical)

    # -- facts -------------------------------------------------------------------------------
    add_fact = forward("fact_writes", Facts.add_fact)
    add_facts = forward("fact_writes", Facts.add_facts)
    validate_fact = forward("fact_writes", Facts.validate_fact)
    adjust_confidence = forward("fact_writes", Facts.adjust_confidence)
    retract = forward("fact_writes", Facts.retract)
    expire = forward("fact_writes", Facts.expire)
    get_fact = forward("reads", FactReads.get_fact)
    facts = forward("reads", FactReads.facts)
    current = forward("reads", FactReads.current)
    history = forward("reads", FactReads.history)
    facts_as_of = forward("reads", FactReads.facts_as_of)
    vectors = forward("reads", FactReads.vectors)
    namespaces = forward("reads", FactReads.namespaces)

    # -- notes -------------------------------------------------------------------------------
    add_note = forward("note_store", Notes.add_note)
    add_notes = forward("note_store", Notes.add_notes)
    write_notes = forward("note_store", Notes.write_notes)
    embed_notes = forward("note_store", Notes.embed_notes)
    retract_note = forward("note_store", Notes.retract_note)
    get_note = forward("note_store", Notes.get_note)
    notes = forward("note_store", Notes.notes)

    # -- search and its cache ----------------------------------------------------------------
    search = forward("searcher", Search.search)
    search_many = forward("searcher", Search.search_many)

    def index(self, namespace: str, conn=None):
        """The namespace's search cache, loaded or rebuilt and caught up with SQL (memory_store.index_cache)."""
        return self.cache.get(namespace, conn)

    def save_indexes(self) -> None:
        self.cache.save_all()

    # -- revert, audit, prune, import / export -----------------------------------------------
    revert = forward("reverter", Reverter.revert)
    audit = forward("maintenance", Maintenance.audit)
    prune = forward("maintenance", Maintenance.prune)
    import_jsonl = forward("transfer", Transfer.import_jsonl)
    export_jsonl = forward("transfer", Transfer.export_jsonl)


# A lost PostgreSQL connection is ridden out by every public operation that committed nothing yet.
retry.wrap_public_methods(MemoryStore, skip={"close", "now", "embed"})
