"""Hybrid search and the derived index cache. Mixed into MemoryStore.

The cache (memory_store.vector_index.NamespaceIndex, one per namespace) records the last version it
applied; before every search it catches up from SQL (rows whose version is newer, and prune tombstones),
and on open it loads its files or, if they are missing or corrupt, rebuilds from the vectors stored in SQL."""
from __future__ import annotations

import hashlib
import logging
import math
from typing import Any

import numpy as np
from sqlalchemy import bindparam, func, select

from . import schema
from .errors import InvalidInputError
from .hybrid import fuse_scores
from .models import SearchResult, fact_text
from .normalize import clean_namespace, clean_text
from .timeparse import as_utc, iso, parse_time, utcnow
from .vector_index import NamespaceIndex, RowAttrs, make_key, split_key

log = logging.getLogger("memory_store")
F, N, V = schema.facts, schema.notes, schema.versions
CANDIDATES = 100  # per retriever, before fusion
SAVE_AFTER_ROWS = 5000  # persist the cache after catching up this many rows at once
NOTE_COLUMNS = ("speaker", "external_id", "thread", "note_type")
# Built once: the statements a search runs on every call (no per-query construction). The fetch is by
# primary key alone (a namespace condition makes SQLite pick a namespace index and scan it); the
# namespace is checked on the rows instead.
LATEST_VERSION = select(func.coalesce(func.max(V.c.version), 0))
FETCH_FACTS = select(F.c.id, F.c.namespace, F.c.subject, F.c.predicate, F.c.object, F.c.status, F.c.confidence,
                     F.c.source, F.c.valid_from, F.c.valid_to, F.c.expires_at, F.c.meta).where(
    F.c.id.in_(bindparam("ids", expanding=True)))
FETCH_NOTES = select(N.c.id, N.c.namespace, N.c.note_type, N.c.text, N.c.speaker, N.c.external_id, N.c.thread,
                     N.c.occurred_at, N.c.expires_at, N.c.status, N.c.meta).where(
    N.c.id.in_(bindparam("ids", expanding=True)))


def _epoch(value) -> float:
    value = as_utc(value)
    return value.timestamp() if value else 0.0


def fact_attrs(row) -> RowAttrs:
    return RowAttrs(status=row.status, expires_at=_epoch(row.expires_at) if row.expires_at else math.inf,
                    time=_epoch(row.valid_from))


def note_attrs(row) -> RowAttrs:
    return RowAttrs(status=row.status, expires_at=_epoch(row.expires_at) if row.expires_at else math.inf,
                    time=_epoch(row.occurred_at or row.recorded_at))


def note_keyword_text(speaker: str | None, text: str) -> str:
    return f"{speaker} {text}" if speaker else text


class SearchMixin:
    # -- the cache ---------------------------------------------------------------------------
    def _index_name(self, namespace: str) -> str:
        return "ns-" + hashlib.sha1(namespace.encode()).hexdigest()[:16]

    def index(self, namespace: str, conn=None) -> NamespaceIndex:
        """The namespace's search cache, loaded or rebuilt, caught up with SQL."""
        idx = self._indexes.get(namespace)
        if idx is None:
            idx = self._load_or_rebuild(namespace)
            self._indexes[namespace] = idx
        self._catch_up(namespace, idx, conn)
        return idx

    def _load_or_rebuild(self, namespace: str) -> NamespaceIndex:
        name = self._index_name(namespace)
        try:
            idx = NamespaceIndex.load(self.index_dir, name, dim=self.embedder.dim, model=self.embedder.name)
        except Exception as exc:  # corrupt or foreign files: SQL is the truth, rebuild from it
            log.warning("search index for namespace %r is unusable (%s); rebuilding from SQL", namespace, exc)
            idx = None
        if idx is None:
            return NamespaceIndex(self.embedder.dim)
        texts = {}
        with self.engine.connect() as conn:
            for r in conn.execute(select(F.c.id, F.c.subject, F.c.predicate, F.c.object).where(F.c.namespace == namespace)):
                texts[make_key("fact", r.id)] = fact_text(r.subject, r.predicate, r.object)
            for r in conn.execute(select(N.c.id, N.c.speaker, N.c.text).where(N.c.namespace == namespace)):
                texts[make_key("note", r.id)] = note_keyword_text(r.speaker, r.text)
        for pos, key in enumerate(idx.keys.tolist()):
            idx.bm25.add(key, texts.get(key, ""))
            if not idx.alive[pos] or key not in texts:
                idx.bm25.remove(key)
                idx.alive[pos] = False
                idx.pos_of.pop(key, None)
        return idx

    def _catch_up(self, namespace: str, idx: NamespaceIndex, conn=None) -> None:
        if conn is None:
            with self.engine.connect() as own:
                return self._catch_up(namespace, idx, own)
        latest = int(conn.execute(LATEST_VERSION).scalar_one())
        if latest <= idx.applied_version:
            return
        lo = idx.applied_version
        window = lambda t: (t.c.namespace == namespace, t.c.version > lo, t.c.version <= latest)  # noqa: E731
        facts = conn.execute(select(F.c.id, F.c.subject, F.c.predicate, F.c.object, F.c.status, F.c.expires_at,
                                    F.c.valid_from, F.c.embedding).where(*window(F))).all()
        notes = conn.execute(select(N.c.id, N.c.text, N.c.speaker, N.c.status, N.c.expires_at, N.c.occurred_at,
                                    N.c.recorded_at, N.c.embedding).where(*window(N))).all()
        pruned = conn.execute(select(V.c.affected).where(V.c.op == "prune", V.c.version > lo,
                                                         V.c.version <= latest)).all()
        with idx.lock:
            for (affected,) in pruned:
                for item in affected or []:
                    if item.get("kind") in ("fact", "note"):
                        idx.remove(make_key(item["kind"], int(item["id"])))
            keys, vecs, texts, attrs = [], [], [], []
            for r in facts:
                keys.append(make_key("fact", r.id))
                vecs.append(np.frombuffer(r.embedding, dtype=np.float32))
                texts.append(fact_text(r.subject, r.predicate, r.object))
                attrs.append(fact_attrs(r))
            for r in notes:
                keys.append(make_key("note", r.id))
                vecs.append(np.frombuffer(r.embedding, dtype=np.float32))
                texts.append(note_keyword_text(r.speaker, r.text))
                attrs.append(note_attrs(r))
            if keys:
                idx.add(keys, np.vstack(vecs), texts, attrs)
            idx.applied_version = latest
        if len(keys) >= SAVE_AFTER_ROWS:
            self._save_index(namespace, idx)

    def _after_write(self, version: int, *, facts=(), notes=()) -> None:
        """Bring loaded caches up to date right after a commit (unloaded ones catch up when opened)."""
        for ns in {x.namespace for x in list(facts) + list(notes)}:
            if ns in self._indexes:
                self._catch_up(ns, self._indexes[ns])

    def _save_index(self, namespace: str, idx: NamespaceIndex) -> None:
        try:
            idx.save(self.index_dir, self._index_name(namespace), self.embedder.name)
        except OSError as exc:  # a cache that cannot be saved is rebuilt next time; never fatal
            log.warning("could not save search index for %r: %s", namespace, exc)

    def save_indexes(self) -> None:
        for ns, idx in list(self._indexes.items()):
            self._save_index(ns, idx)

    def rebuild_index(self, namespace: str) -> NamespaceIndex:
        idx = NamespaceIndex(self.embedder.dim)
        self._indexes[namespace] = idx
        self._catch_up(namespace, idx)
        self._save_index(namespace, idx)
        return idx

    # -- search ------------------------------------------------------------------------------
    def search(self, query: str, *, k: int = 10, namespace: str = "default", kind: str = "all",
               include_expired: bool = False, include_superseded: bool = False, status: str | None = None,
               since: Any = None, until: Any = None, metadata: dict | None = None) -> list[SearchResult]:
        """Hybrid search: FAISS dense similarity fused with BM25, filters applied before ranking."""
        return self.search_many([query], k=k, namespace=namespace, kind=kind, include_expired=include_expired,
                                include_superseded=include_superseded, status=status, since=since, until=until,
                                metadata=metadata)[0]

    def search_many(self, queries: list[str], *, k: int = 10, namespace: str = "default", kind: str = "all",
                    include_expired: bool = False, include_superseded: bool = False, status: str | None = None,
                    since: Any = None, until: Any = None, metadata: dict | None = None) -> list[list[SearchResult]]:
        ns = clean_namespace(namespace)
        texts = [clean_text(q, what="query", max_len=10_000) for q in queries]
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 1000:
            raise InvalidInputError(f"k must be a whole number from 1 to 1000, got {k!r}")
        kinds = {"all": ("fact", "note"), "fact": ("fact",), "note": ("note",)}.get(kind)
        if kinds is None:
            raise InvalidInputError(f"unknown kind {kind!r}; use fact, note or all")
        statuses = self._statuses(status, include_expired, include_superseded)
        since_t = parse_time(since).timestamp() if since not in (None, "") else None
        until_t = parse_time(until).timestamp() if until not in (None, "") else None
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInputError("metadata filter must be an object of key/value pairs")
        if not texts:
            return []
        vectors = self.embedder.encode(texts)
        with self.engine.connect() as conn:
            idx = self.index(ns, conn)
            allowed = self._metadata_allowed(ns, metadata) if metadata else None
            keep = idx.mask(kinds=kinds, statuses=statuses, now=self.now().timestamp(),
                            include_expired=include_expired or "expired" in statuses, since=since_t, until=until_t,
                            allowed_keys=allowed)
            ranked = []
            for text, vec in zip(texts, vectors):
                dense = dict(idx.dense_top(vec, max(CANDIDATES, k), keep))
                keyword = dict(idx.keyword_top(text, max(CANDIDATES, k), keep))
                ranked.append(fuse_scores(dense, keyword, k=k))
            return self._materialise(conn, ranked, ns)

    @staticmethod
    def _statuses(status: str | None, include_expired: bool, include_superseded: bool) -> tuple[str, ...]:
        if status in (None, ""):
            out = ["active"]
            if include_expired:
                out.append("expired")
            if include_superseded:
                out.append("superseded")
            return tuple(out)
        if status == "all":
            return ("active", "superseded", "expired", "retracted")
        if status not in ("active", "superseded", "expired", "retracted"):
            raise InvalidInputError(f"unknown status {status!r}")
        return (status,)

    def _metadata_allowed(self, ns: str, metadata: dict) -> set[int]:
        """Keys of rows matching every metadata filter (note columns in SQL, the rest from JSON)."""
        query = select(N.c.id, N.c.meta).where(N.c.namespace == ns)
        for key in NOTE_COLUMNS:
            if key in metadata:
                query = query.where(getattr(N.c, key) == str(metadata[key]))
        rest = {k: v for k, v in metadata.items() if k not in NOTE_COLUMNS}
        with self.engine.connect() as conn:
            keys = {make_key("note", r.id) for r in conn.execute(query)
                    if all((r.meta or {}).get(k) == v for k, v in rest.items())}
            if not any(k in NOTE_COLUMNS for k in metadata):
                keys |= {make_key("fact", r.id) for r in conn.execute(select(F.c.id, F.c.meta).where(F.c.namespace == ns))
                         if all((r.meta or {}).get(k) == v for k, v in rest.items())}
        return keys

    def _materialise(self, conn, ranked: list[list[tuple[int, float]]], ns: str) -> list[list[SearchResult]]:
        fact_ids = sorted({k // 2 for hits in ranked for k, _ in hits if k % 2 == 0})
        note_ids = sorted({k // 2 for hits in ranked for k, _ in hits if k % 2 == 1})
        rows: dict[int, tuple] = {}
        if fact_ids:
            for r in conn.execute(FETCH_FACTS, {"ids": fact_ids}):
                if r.namespace != ns:
                    continue
                rows[make_key("fact", r.id)] = (
                    "fact", r.id, fact_text(r.subject, r.predicate, r.object), r.status, r.namespace,
                    {**(r.meta or {}), "subject": r.subject, "predicate": r.predicate, "object": r.object,
                     "confidence": r.confidence, "source": r.source, "valid_from": iso(r.valid_from),
                     "valid_to": iso(r.valid_to), "expires_at": iso(r.expires_at)})
        if note_ids:
            for r in conn.execute(FETCH_NOTES, {"ids": note_ids}):
                if r.namespace != ns:
                    continue
                rows[make_key("note", r.id)] = (
                    "note", r.id, r.text, r.status, r.namespace,
                    {**(r.meta or {}), "note_type": r.note_type, "speaker": r.speaker, "external_id": r.external_id,
                     "thread": r.thread, "occurred_at": iso(r.occurred_at), "expires_at": iso(r.expires_at)})
        out = []
        for hits in ranked:
            results = []
            for key, score in hits:
                row = rows.get(key)
                if row is not None:  # a row pruned between ranking and fetch is simply skipped
                    kind, rid, text, status, namespace, meta = row
                    results.append(SearchResult(id=rid, kind=kind, text=text, score=float(score), metadata=dict(meta),
                                                status=status, namespace=namespace))
            out.append(results)
        return out
