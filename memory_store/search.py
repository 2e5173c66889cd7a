"""Hybrid search, the Search service of MemoryStore: the filters become a mask over the namespace's
rows (memory_store.row_masks, memory_store.search_filters); the candidates are the dense top-N and the
BM25 top-N among the rows the mask keeps, each scored by both; memory_store.ranking fuses them (a small
boost for notes whose speaker the query names, a share of score lent to adjacent notes of a thread).
Results come from the cache's payloads (memory_store.cache_rows); the cache is memory_store.index_cache.
What a note is indexed by (its vector, its keyword text) is memory_store.note_text."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import ranking, search_filters
from .cache_rows import FETCH_FACTS, FETCH_NOTES, fact_payload, note_payload, search_result
from .errors import InvalidInputError, shown
from .index_keys import make_key, split_key
from .normalize import clean_namespace, clean_text, json_value
from .record_types import SearchResult
from .timeparse import parse_time
from .vector_index import NamespaceIndex

if TYPE_CHECKING:
    from .context import StoreContext
    from .index_cache import SearchCache
    from .versions import VersionLog

CANDIDATES = ranking.CANDIDATES  # per retriever, before fusion


class Search:
    def __init__(self, ctx: StoreContext, cache: SearchCache, versions: VersionLog):
        self.ctx = ctx
        self.cache = cache
        self.versions = versions

    def search(self, query: str, *, k: int = 10, namespace: str = "default", kind: str = "all",
               include_expired: bool = False, include_superseded: bool = False, status: str | None = None,
               since: Any = None, until: Any = None, metadata: dict | None = None, valid_at: Any = None,
               as_of: Any = None) -> list[SearchResult]:
        """Hybrid search: FAISS dense similarity fused with BM25, filters applied before ranking.
        valid_at: facts whose validity window contains that world time (superseded values included when
        they were the truth then) and notes written at or before it. as_of (vN or an ISO time): facts as
        the store held them at that version and notes it held then."""
        return self.search_many([query], k=k, namespace=namespace, kind=kind, include_expired=include_expired,
                                include_superseded=include_superseded, status=status, since=since, until=until,
                                metadata=metadata, valid_at=valid_at, as_of=as_of)[0]

    def search_many(self, queries: list[str], *, k: int = 10, namespace: str = "default", kind: str = "all",
                    include_expired: bool = False, include_superseded: bool = False, status: str | None = None,
                    since: Any = None, until: Any = None, metadata: dict | None = None, valid_at: Any = None,
                    as_of: Any = None) -> list[list[SearchResult]]:
        ns = clean_namespace(namespace)
        if isinstance(queries, str) or not isinstance(queries, (list, tuple)):
            raise InvalidInputError("queries must be a list of texts")
        texts = [clean_text(q, what="query", max_len=10_000) for q in queries]
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 1000:
            raise InvalidInputError(f"k must be a whole number from 1 to 1000, got {shown(k)}")
        kinds = search_filters.KINDS.get(kind) if isinstance(kind, str) else None
        if kinds is None:
            raise InvalidInputError(f"unknown kind {shown(kind)}; use fact, note or all")
        statuses = search_filters.statuses(status, include_expired, include_superseded)
        since_t = parse_time(since).timestamp() if since not in (None, "") else None
        until_t = parse_time(until).timestamp() if until not in (None, "") else None
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInputError("metadata filter must be an object of key/value pairs")
        if metadata:  # a lone surrogate would fail in the database driver, NaN never equals anything
            json_value(metadata, what="metadata filter")
        at = parse_time(valid_at) if valid_at not in (None, "") else None
        version = self.versions.parse_as_of(as_of) if as_of not in (None, "") else None
        timed = at is not None or version is not None
        if timed and status in (None, ""):  # the time filters decide; every status but retracted may pass
            statuses = ("active", "superseded", "expired")
        if not texts:
            return []
        n = max(CANDIDATES, k)
        # Measured: embedding the queries in a background thread while the text-only work (catch-up, mask,
        # BM25) runs made a search slower, not faster (the two threads fight over the GIL).
        vectors = self.ctx.embedder.encode(texts)
        with self.ctx.engine.connect() as conn:
            idx = self.cache.get(ns, conn)
            allowed = search_filters.metadata_allowed(conn, ns, metadata) if metadata else None
            if timed:
                in_time = search_filters.time_allowed(conn, ns, at, version)
                allowed = in_time if allowed is None else allowed & in_time
            keep = idx.mask(kinds=kinds, statuses=statuses, now=self.ctx.now().timestamp(),
                            include_expired=timed or include_expired or "expired" in statuses, since=since_t,
                            until=until_t, allowed_keys=allowed, include_scheduled=timed)
            ranked = [self._rank(idx, text, vec, k, n, keep, idx.keyword_candidates(text, n, keep))
                      for text, vec in zip(texts, vectors)]
            return self._materialise(conn, ranked, idx, ns)

    @staticmethod
    def _rank(idx: NamespaceIndex, text: str, vec: np.ndarray, k: int, n: int, keep: np.ndarray,
              keyword_top) -> list[tuple[int, float]]:
        """The best k (key, score) among the rows `keep` allows (memory_store.ranking)."""
        dense, keyword = idx.candidates(vec, n, keep, keyword_top)
        pool = dense.keys() | keyword.keys()
        neighbours = {key: idx.neighbours[key] for key in pool if key in idx.neighbours}
        speakers = {key: idx.speaker[key] for key in pool if key in idx.speaker}
        return ranking.rank_candidates(dense, keyword, neighbours, query=text, speakers=speakers)[:k]

    def _materialise(self, conn, ranked: list[list[tuple[int, float]]], idx: NamespaceIndex,
                     ns: str) -> list[list[SearchResult]]:
        """Results from the cached rows (current: the cache was caught up in this search); a row the cache
        lacks is read from SQL, and one pruned since ranking is skipped."""
        missing = sorted({key for hits in ranked for key, _ in hits if key not in idx.rows})
        fetched: dict[int, tuple] = {}
        ids: dict[str, list[int]] = {"fact": [], "note": []}
        for key in missing:
            kind, row_id = split_key(key)
            ids[kind].append(row_id)
        fact_ids, note_ids = ids["fact"], ids["note"]
        if fact_ids:
            fetched.update((make_key("fact", r.id), fact_payload(r)) for r in conn.execute(FETCH_FACTS, {"ids": fact_ids})
                           if r.namespace == ns)
        if note_ids:
            fetched.update((make_key("note", r.id), note_payload(r)) for r in conn.execute(FETCH_NOTES, {"ids": note_ids})
                           if r.namespace == ns)
        out, now = [], self.ctx.now()
        for hits in ranked:
            results = []
            for key, score in hits:
                payload = idx.rows.get(key) or fetched.get(key)
                if payload is not None:
                    results.append(search_result(payload, score, now))
            out.append(results)
        return out
