"""The per-namespace search cache, NamespaceIndex: derived from SQL, never the source of truth.

It puts together, over one set of positions (insertion order; pruned rows stay as dead positions):
- the dense index (memory_store.dense_index: FAISS flat, then HNSW),
- BM25 postings (memory_store.keyword),
- the row columns filters read and the masks over them (memory_store.row_masks),
- the thread neighbour graph and each note's speaker, which ranking needs (memory_store.thread_links),
- the payload cache: what a search returns for each row (memory_store.cache_rows), so a search reads no
  row from SQL,
and saves / loads the vectors and columns as files (memory_store.index_files)."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from .dense_index import DenseIndex
from .index_files import load_files, save_files
from .index_keys import KIND_CODES, STATUS_CODES, make_key, split_key  # noqa: F401 - re-exported
from .keyword import BM25Index
from .row_masks import MaskCache, RowAttrs, RowColumns, filter_mask, mask_valid_until, scheduled_mask
from .thread_links import ThreadLinks

__all__ = ["NamespaceIndex", "RowAttrs", "make_key", "split_key", "KIND_CODES", "STATUS_CODES"]


class NamespaceIndex:
    def __init__(self, dim: int):
        self.dim = dim
        self.lock = threading.RLock()
        self.applied_version = 0
        # The time of the applied version as the database recorded it: tells this database apart from
        # one deleted and recreated (or restored) at the same URL, whose row ids start again.
        self.applied_version_at: str | None = None
        self.cols = RowColumns()
        self.pos_of: dict[int, int] = {}
        self.dense = DenseIndex(dim)
        self.bm25 = BM25Index()  # its rows are the positions (rows are added in position order)
        self.rows: dict[int, tuple] = {}  # key -> what a search returns for the row (memory_store.cache_rows)
        self.speaker: dict[int, str] = {}  # note key -> who said it
        self.links = ThreadLinks()
        # thread -> (key, speaker, text) of its last note, to link and contextualise the next one
        self.thread_tail: dict[str, tuple[int, str | None, str]] = {}
        self.generation = 0  # bumped by every change of rows or their attributes (invalidates masks)
        self._masks = MaskCache()

    def __len__(self) -> int:
        return int(self.alive.sum())

    keys = property(lambda self: self.cols.keys)
    kind = property(lambda self: self.cols.kind)
    status = property(lambda self: self.cols.status)
    expires = property(lambda self: self.cols.expires)
    time = property(lambda self: self.cols.time)
    alive = property(lambda self: self.cols.alive)
    index = property(lambda self: self.dense.index)  # the FAISS index itself
    neighbours = property(lambda self: self.links.neighbours)
    approximate = property(lambda self: self.dense.approximate)

    # -- writes ------------------------------------------------------------------------------
    def add(self, keys: list[int], vectors: np.ndarray, texts: list[str], attrs: list[RowAttrs], *,
            speakers: dict[int, str] | None = None, links: list[tuple[int, int]] = (),
            payloads: list[tuple] | None = None) -> None:
        """Append new rows; keys already present only get their attributes (and payload) refreshed.
        `texts` are what BM25 indexes; `speakers` maps note keys to their speaker; `links` are (previous,
        next) pairs of adjacent notes of a thread; `payloads` what a search returns for each row."""
        with self.lock:
            self.generation += 1
            if payloads is not None:
                self.rows.update(zip(keys, payloads))
            self.speaker.update(speakers or {})
            self.links.link(links)
            fresh = [i for i, k in enumerate(keys) if k not in self.pos_of]
            for i, k in enumerate(keys):
                if k in self.pos_of:
                    self.set_attrs(k, attrs[i])
            if not fresh:
                return
            start = self.cols.size
            self.cols.append([keys[i] for i in fresh], [attrs[i] for i in fresh])
            for offset, i in enumerate(fresh):
                self.pos_of[keys[i]] = start + offset
                self.bm25.add(keys[i], texts[i])
            self.dense.add(np.ascontiguousarray(vectors[fresh], dtype=np.float32), total_rows=self.cols.size)

    def link(self, links) -> None:
        self.links.link(links)

    def set_attrs(self, key: int, attrs: RowAttrs) -> None:
        with self.lock:
            pos = self.pos_of.get(key)
            if pos is None:
                return
            self.generation += 1
            self.cols.set(pos, attrs)

    def remove(self, key: int) -> None:
        """Physical deletion in SQL (prune): the position stays but is never returned again."""
        with self.lock:
            pos = self.pos_of.pop(key, None)
            if pos is not None:
                self.generation += 1
                self.alive[pos] = False
                self.bm25.remove(key)
                self.rows.pop(key, None)
                self.speaker.pop(key, None)
                self.links.remove(key)

    # -- reads -------------------------------------------------------------------------------
    def mask(self, *, kinds: tuple[str, ...], statuses: tuple[str, ...], now: float,
             include_expired: bool, since: float | None = None, until: float | None = None,
             allowed_keys: set[int] | None = None, include_scheduled: bool = False) -> np.ndarray:
        """Boolean array over positions: the rows the filters allow (read-only; shared between calls).
        Facts whose validity starts after `now` (scheduled) are left out unless `include_scheduled`.
        Without `allowed_keys` it is cached until the rows change, the first allowed row expires or the
        first scheduled fact starts."""
        with self.lock:
            cache_key = (kinds, statuses, include_expired, since, until, include_scheduled)
            if allowed_keys is None:
                hit = self._masks.get(cache_key, self.generation, now)
                if hit is not None:
                    return hit
            keep = filter_mask(self.cols, kinds=kinds, statuses=statuses, now=now, include_expired=include_expired,
                               since=since, until=until, allowed_keys=allowed_keys)
            scheduled = scheduled_mask(self.cols, now)
            if not include_scheduled:
                keep &= ~scheduled
            keep.setflags(write=False)
            if allowed_keys is None:
                self._masks.put(cache_key, self.generation, mask_valid_until(
                    self.cols, keep, scheduled, now=now, statuses=statuses, include_expired=include_expired,
                    include_scheduled=include_scheduled), keep)
            return keep

    def dense_top(self, query: np.ndarray, n: int, keep: np.ndarray) -> list[tuple[int, float]]:
        """Top-n (key, cosine) among rows where keep is True. Filters apply inside the search."""
        with self.lock:
            positions, sims = self.dense.top(query, n, keep)
            return list(zip(self.keys[positions].tolist(), sims.tolist()))

    def keyword_top(self, text: str, n: int, keep: np.ndarray) -> list[tuple[int, float]]:
        with self.lock:
            return self.bm25.top_k(text, n, allowed=keep)

    def keyword_candidates(self, text: str, n: int, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """BM25 scores of every row for `text`, and the top-n rows among those keep allows."""
        with self.lock:
            return self.bm25.search_rows(text, n, keep)

    def candidates(self, query: np.ndarray, n: int, keep: np.ndarray,
                   keyword: tuple[np.ndarray, np.ndarray]) -> tuple[dict[int, float], dict[int, float]]:
        """The union of the dense top-n and the BM25 top-n (`keyword`, from keyword_candidates) among rows
        where keep is True, each candidate with BOTH scores: {key: cosine} (from its stored vector when
        only BM25 found it) and {key: raw BM25} (absent when it shares no term with the query). Works on
        positions (BM25 rows are the positions) and converts to keys once."""
        scores, top_rows = keyword
        with self.lock:
            positions, sims = self.dense.top(query, n, keep)
            only_keyword = top_rows[~np.isin(top_rows, positions)] if len(top_rows) else top_rows
            if len(only_keyword):
                positions = np.concatenate([positions, only_keyword])
                sims = np.concatenate([sims, self.dense.similarities(only_keyword, query)])
            # rows added after `scores` was computed (a concurrent write) have no keyword score yet
            known = positions < len(scores)
            bm25 = np.zeros(len(positions), dtype=np.float32)
            bm25[known] = scores[positions[known]]
            keys = self.keys[positions].tolist()
            dense = dict(zip(keys, sims.tolist()))
            keyword_scores = {key: value for key, value in zip(keys, bm25.tolist()) if value > 0}
            return dense, keyword_scores

    def vector(self, key: int) -> np.ndarray | None:
        pos = self.pos_of.get(key)
        return None if pos is None else self.index.reconstruct(pos)

    # -- persistence (memory_store.index_files) ----------------------------------------------
    def save(self, directory: Path, name: str, model: str) -> None:
        """Vectors and row columns; BM25, speakers and thread links are re-derived from SQL on load."""
        with self.lock:
            save_files(directory, name, index=self.index, arrays=self.cols.arrays(),
                       meta={"version": self.applied_version, "dim": self.dim, "model": model,
                             "version_at": self.applied_version_at})

    @classmethod
    def load(cls, directory: Path, name: str, *, dim: int, model: str) -> NamespaceIndex | None:
        """The saved index (the caller re-derives BM25, speakers and thread links from SQL), None if
        absent; ValueError if unusable (memory_store.index_files.load_files)."""
        found = load_files(directory, name, dim=dim, model=model)
        if found is None:
            return None
        index, arrays, meta = found
        out = cls(dim)
        out.dense = DenseIndex(dim, index)
        out.cols = RowColumns(arrays)
        out.pos_of = {int(k): i for i, k in enumerate(out.keys) if out.alive[i]}
        out.applied_version = int(meta["version"])
        out.applied_version_at = meta.get("version_at")
        return out

