"""The search cache of each namespace (memory_store.vector_index.NamespaceIndex), kept in step with SQL.

A cache records the last version it applied; before every search it catches up from SQL (rows whose
version is newer, and prune tombstones), right after each write the loaded caches catch up too, and on
first use it loads its files or, if they are missing, corrupt or from another database, rebuilds from
the vectors stored in SQL. SQL is the truth: nothing here is ever written back."""
from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select

from . import cache_check, tables
from .cache_rows import FACT_ROW, NOTE_ROW, fact_attrs, fact_payload, note_attrs, note_entries, note_payload
from .faults import DATABASE_ERRORS, first_line
from .index_keys import make_key
from .record_types import fact_text
from .vector_index import NamespaceIndex

if TYPE_CHECKING:
    from .context import StoreContext

log = logging.getLogger("memory_store")
F, N, V = tables.facts, tables.notes, tables.versions
SAVE_AFTER_ROWS = 5000  # persist the cache after catching up this many rows at once
LATEST_SQL = f"SELECT max(version) FROM {V.name}"  # built once: it runs before every search


def version_time(conn, version: int) -> str | None:
    """When `version` was written, as text (None if the log has no such version)."""
    at = conn.execute(select(V.c.at).where(V.c.version == version)).scalar()
    return None if at is None else str(at)


def latest_version(conn) -> int:
    """The latest version number, through the DBAPI cursor: it runs before every search, and going
    through SQLAlchemy's execute (plus the BEGIN it triggers) cost several times the query itself."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(LATEST_SQL)
        row = cursor.fetchone()
    except conn.dialect.loaded_dbapi.Error:
        # Again through SQLAlchemy, which wraps the error and invalidates a lost connection (a raw
        # driver error would leave the pool resetting a dead connection, and escape the retries).
        return int(conn.exec_driver_sql(LATEST_SQL).scalar() or 0)
    finally:
        cursor.close()
    return int(row[0] or 0) if row else 0


def index_file_name(namespace: str) -> str:
    """The base name of a namespace's cache files (a hash: a namespace never becomes a path)."""
    return "ns-" + hashlib.sha1(namespace.encode()).hexdigest()[:16]


class SearchCache:
    def __init__(self, ctx: StoreContext):
        self.ctx = ctx
        self.indexes: dict[str, NamespaceIndex] = {}  # the loaded ones, by namespace

    def get(self, namespace: str, conn=None) -> NamespaceIndex:
        """The namespace's search cache, loaded or rebuilt, caught up with SQL, all through `conn` (or
        one connection of its own): an operation holds one connection, never two."""
        if conn is None:
            with self.ctx.engine.connect() as own:
                return self.get(namespace, own)
        idx = self.indexes.get(namespace)
        if idx is None:
            idx = self._load_or_rebuild(namespace, conn)
            self.indexes[namespace] = idx
        self.catch_up(namespace, idx, conn)
        return idx

    def _load_or_rebuild(self, namespace: str, conn) -> NamespaceIndex:
        name = index_file_name(namespace)
        try:
            idx = NamespaceIndex.load(self.ctx.index_dir, name, dim=self.ctx.embedder.dim, model=self.ctx.embedder.name)
        except Exception as exc:  # noqa: BLE001 - corrupt or foreign files: SQL is the truth, rebuild from it
            log.warning("search index for namespace %r is unusable (%s); rebuilding from SQL", namespace, exc)
            idx = None
        if idx is not None and idx.applied_version:
            recorded = version_time(conn, idx.applied_version)
            if recorded is None or recorded != idx.applied_version_at:
                log.warning("search index for namespace %r was built from another database at this URL "
                            "(recreated or restored); rebuilding from SQL", namespace)
                idx = None
        if idx is None:
            return NamespaceIndex(self.ctx.embedder.dim)
        # The files hold vectors and row attributes; keyword texts, speakers and links come from SQL.
        texts: dict[int, str] = {}
        for r in conn.execute(select(*FACT_ROW).where(F.c.namespace == namespace)):
            key = make_key("fact", r.id)
            texts[key] = fact_text(r.subject, r.predicate, r.object)
            idx.rows[key] = fact_payload(r)
        notes = conn.execute(select(*NOTE_ROW).where(N.c.namespace == namespace).order_by(N.c.id)).all()
        notes = [r for r in notes if make_key("note", r.id) in idx.pos_of]
        note_texts, speakers, links = note_entries(notes, idx.thread_tail, indexed=())
        idx.rows.update((make_key("note", r.id), note_payload(r)) for r in notes)
        texts.update(note_texts)
        idx.speaker.update(speakers)
        idx.link(links)
        for pos, key in enumerate(idx.keys.tolist()):
            idx.bm25.add(key, texts.get(key, ""))
            if not idx.alive[pos] or key not in texts:
                idx.bm25.remove(key)
                idx.alive[pos] = False
                idx.pos_of.pop(key, None)
                idx.rows.pop(key, None)
        wrong = cache_check.mismatch(idx, conn, namespace)
        if wrong is not None:
            log.warning("search index for namespace %r does not match SQL (%s); rebuilding from SQL", namespace, wrong)
            return NamespaceIndex(self.ctx.embedder.dim)
        return idx

    def catch_up(self, namespace: str, idx: NamespaceIndex, conn=None) -> None:
        if conn is None:
            with self.ctx.engine.connect() as own:
                return self.catch_up(namespace, idx, own)
        latest = latest_version(conn)
        if latest <= idx.applied_version:
            return
        lo = idx.applied_version
        window = lambda t: (t.c.namespace == namespace, t.c.version > lo, t.c.version <= latest)
        facts = conn.execute(select(*FACT_ROW, F.c.embedding).where(*window(F))).all()
        notes = conn.execute(select(*NOTE_ROW, N.c.embedding).where(*window(N)).order_by(N.c.id)).all()
        pruned = conn.execute(select(V.c.affected).where(V.c.op == "prune", V.c.version > lo,
                                                         V.c.version <= latest)).all()
        with idx.lock:
            for (affected,) in pruned:
                for item in affected or []:
                    if item.get("kind") in ("fact", "note"):
                        idx.remove(make_key(item["kind"], int(item["id"])))
            keys, vecs, texts, attrs, payloads = [], [], [], [], []
            for r in facts:
                keys.append(make_key("fact", r.id))
                vecs.append(r.embedding)
                texts.append(fact_text(r.subject, r.predicate, r.object))
                attrs.append(fact_attrs(r))
                payloads.append(fact_payload(r))
            note_texts, speakers, links = note_entries(notes, idx.thread_tail, indexed=idx.pos_of)
            for r in notes:
                key = make_key("note", r.id)
                keys.append(key)
                vecs.append(r.embedding)
                texts.append(note_texts.get(key, ""))  # "" only for a note already indexed (not re-added)
                attrs.append(note_attrs(r))
                payloads.append(note_payload(r))
            if keys:
                dim = self.ctx.embedder.dim
                matrix = np.frombuffer(b"".join(vecs), dtype=np.float32).reshape(len(keys), dim)
                idx.add(keys, matrix, texts, attrs, speakers=speakers, links=links, payloads=payloads)
            idx.applied_version = latest
        if len(keys) >= SAVE_AFTER_ROWS:
            self.save(namespace, idx, conn)

    def after_write(self, version: int, *, facts=(), notes=()) -> None:
        """Bring loaded caches up to date right after a commit (unloaded ones catch up when opened). The
        write is done: a connection lost here only leaves the cache behind, and the next search catches up."""
        for ns in {x.namespace for x in list(facts) + list(notes)}:
            if ns in self.indexes:
                try:
                    self.catch_up(ns, self.indexes[ns])
                except DATABASE_ERRORS as exc:
                    log.warning("search index for %r not updated after version %s (%s); it catches up at the "
                                "next search", ns, version, first_line(str(exc)))

    def save(self, namespace: str, idx: NamespaceIndex, conn=None) -> None:
        """Never fatal: a cache that cannot be saved (full disk: faiss raises RuntimeError, numpy OSError;
        a database gone while closing) is rebuilt or caught up next time."""
        try:
            if idx.applied_version:
                if conn is None:
                    with self.ctx.engine.connect() as own:
                        idx.applied_version_at = version_time(own, idx.applied_version)
                else:
                    idx.applied_version_at = version_time(conn, idx.applied_version)
            idx.save(self.ctx.index_dir, index_file_name(namespace), self.ctx.embedder.name)
        except (OSError, RuntimeError, *DATABASE_ERRORS) as exc:
            log.warning("could not save search index for %r: %s", namespace, first_line(str(exc)))

    def save_all(self) -> None:
        for ns, idx in list(self.indexes.items()):
            self.save(ns, idx)

    def refresh(self, namespace: str) -> None:
        """Catch the namespace's cache up now if it is loaded (after a write that bypassed after_write)."""
        if namespace in self.indexes:
            self.catch_up(namespace, self.indexes[namespace])
