"""The per-namespace search cache: FAISS vectors + BM25 + the row attributes filters need.

Derived from SQL, never the source of truth. Positions are insertion order; a row's attributes
(status, expiry) are updated in place, pruned rows are masked out, and filters become a bitmap over
positions that FAISS applies *during* the search (an IDSelector), so a filtered query still returns k
results when k exist. Exact search (IndexFlatIP) while a namespace is small, HNSW once it grows.

Besides vectors and keyword postings it keeps what ranking needs per note (memory_store.ranking): the
speaker, and the adjacent notes of the same thread (a conversation's previous / next message)."""
from __future__ import annotations

import io
import json
import math
import os
import threading
import uuid
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from .keyword import BM25Index

HNSW_THRESHOLD = 5_000  # measured crossover (one query, one thread): 5k rows exact 0.12 ms, HNSW 0.09 ms;
# 10k 0.35 / 0.15 ms, 20k 1.04 / 0.22 ms; HNSW recall@10 against exact >= 0.999 up to 20k rows
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
SELECTIVE_FRACTION = 0.02  # a filter keeping fewer rows than this is searched exactly over the subset
STATUS_CODES = {"active": 0, "superseded": 1, "expired": 2, "retracted": 3}
KIND_CODES = {"fact": 0, "note": 1}
COLUMNS = {"keys": np.int64, "kind": np.int8, "status": np.int8, "expires": np.float64, "time": np.float64,
           "alive": np.bool_}
INDEX_FORMAT = 3  # 2: a save token shared by the files of one save; 3: a checksum of each file


def make_key(kind: str, row_id: int) -> int:
    """One id space for facts and notes inside a namespace index."""
    return row_id * 2 + KIND_CODES[kind]


def split_key(key: int) -> tuple[str, int]:
    return ("fact" if key % 2 == 0 else "note"), key // 2


@dataclass
class RowAttrs:
    status: str
    expires_at: float = math.inf  # epoch seconds
    time: float = 0.0  # epoch seconds: a note's occurred_at / a fact's valid_from


class NamespaceIndex:
    def __init__(self, dim: int):
        self.dim = dim
        self.lock = threading.RLock()
        self.applied_version = 0
        # The time of the applied version as the database recorded it: tells this database apart from
        # one deleted and recreated (or restored) at the same URL, whose row ids start again.
        self.applied_version_at: str | None = None
        # Per-position columns in arrays that grow by doubling (an insert must not copy a large index);
        # `keys`, `kind`, ... are views of the first `_size` entries.
        self._size = 0
        self._cols = {name: np.zeros(0, dtype=dtype) for name, dtype in COLUMNS.items()}
        self.pos_of: dict[int, int] = {}
        self.bm25 = BM25Index()  # its rows are the positions (rows are added in position order)
        self.index: faiss.Index = faiss.IndexFlatIP(dim)
        self.rows: dict[int, tuple] = {}  # key -> what a search returns for the row (memory_store.search)
        self.speaker: dict[int, str] = {}  # note key -> who said it
        self.neighbours: dict[int, list[int]] = {}  # note key -> adjacent note keys of its thread
        # thread -> (key, speaker, text) of its last note, to link and contextualise the next one
        self.thread_tail: dict[str, tuple[int, str | None, str]] = {}
        self.generation = 0  # bumped by every change of rows or their attributes (invalidates masks)
        self._masks: dict[tuple, tuple[int, float, np.ndarray]] = {}

    def __len__(self) -> int:
        return int(self.alive.sum())

    keys = property(lambda self: self._cols["keys"][:self._size])
    kind = property(lambda self: self._cols["kind"][:self._size])
    status = property(lambda self: self._cols["status"][:self._size])
    expires = property(lambda self: self._cols["expires"][:self._size])
    time = property(lambda self: self._cols["time"][:self._size])
    alive = property(lambda self: self._cols["alive"][:self._size])

    def _append(self, values: dict[str, np.ndarray]) -> None:
        need = self._size + len(values["keys"])
        capacity = len(self._cols["keys"])
        if need > capacity:
            capacity = max(need, 2 * capacity, 1024)
            for name, old in list(self._cols.items()):
                grown = np.zeros(capacity, dtype=old.dtype)
                grown[:self._size] = old[:self._size]
                self._cols[name] = grown
        for name, column in values.items():
            self._cols[name][self._size:need] = column
        self._size = need

    @property
    def approximate(self) -> bool:
        return isinstance(self.index, faiss.IndexHNSWFlat)

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
            self.link(links)
            fresh = [i for i, k in enumerate(keys) if k not in self.pos_of]
            for i, k in enumerate(keys):
                if k in self.pos_of:
                    self.set_attrs(k, attrs[i])
            if not fresh:
                return
            start = self._size
            vecs = np.ascontiguousarray(vectors[fresh], dtype=np.float32)
            new_keys = np.asarray([keys[i] for i in fresh], dtype=np.int64)
            self._append({"keys": new_keys, "kind": (new_keys % 2).astype(np.int8),
                          "status": np.asarray([STATUS_CODES[attrs[i].status] for i in fresh], dtype=np.int8),
                          "expires": np.asarray([attrs[i].expires_at for i in fresh], dtype=np.float64),
                          "time": np.asarray([attrs[i].time for i in fresh], dtype=np.float64),
                          "alive": np.ones(len(fresh), dtype=bool)})
            for offset, i in enumerate(fresh):
                self.pos_of[keys[i]] = start + offset
                self.bm25.add(keys[i], texts[i])
            if not self.approximate and len(self.keys) >= HNSW_THRESHOLD:
                self._switch_to_hnsw(vecs)
            else:
                self.index.add(vecs)

    def link(self, links) -> None:
        for before, after in links:
            self.neighbours.setdefault(before, []).append(after)
            self.neighbours.setdefault(after, []).append(before)

    def _switch_to_hnsw(self, new_vectors: np.ndarray) -> None:
        old = self.index.reconstruct_n(0, self.index.ntotal) if self.index.ntotal else np.zeros((0, self.dim))
        hnsw = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        hnsw.add(np.ascontiguousarray(np.vstack([old, new_vectors]), dtype=np.float32))
        self.index = hnsw

    def set_attrs(self, key: int, attrs: RowAttrs) -> None:
        with self.lock:
            pos = self.pos_of.get(key)
            if pos is None:
                return
            self.generation += 1
            self.status[pos] = STATUS_CODES[attrs.status]
            self.expires[pos] = attrs.expires_at
            self.time[pos] = attrs.time

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
                for other in self.neighbours.pop(key, []):
                    if key in self.neighbours.get(other, ()):
                        self.neighbours[other].remove(key)

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
                hit = self._masks.get(cache_key)
                if hit is not None and hit[0] == self.generation and now < hit[1]:
                    return hit[2]
            keep = self._compute_mask(kinds=kinds, statuses=statuses, now=now, include_expired=include_expired,
                                      since=since, until=until, allowed_keys=allowed_keys)
            if not include_scheduled:
                scheduled = (self.kind == KIND_CODES["fact"]) & (self.time > now)
                keep &= ~scheduled
            keep.setflags(write=False)
            if allowed_keys is None:
                valid_until = math.inf if include_expired else float(np.min(self.expires[keep], initial=math.inf))
                if "expired" in statuses and "active" not in statuses:
                    valid_until = now  # which rows have lapsed changes with time: not cached
                if not include_scheduled:
                    valid_until = min(valid_until, float(np.min(self.time[scheduled], initial=math.inf)))
                if len(self._masks) >= 16:
                    self._masks.clear()
                self._masks[cache_key] = (self.generation, valid_until, keep)
            return keep

    def _compute_mask(self, *, kinds, statuses, now, include_expired, since, until, allowed_keys) -> np.ndarray:
        with self.lock:
            # code -> allowed lookup tables: one gather per attribute instead of np.isin's sort
            status_ok = np.zeros(len(STATUS_CODES), dtype=bool)
            status_ok[[STATUS_CODES[s] for s in statuses]] = True
            keep = self.alive & status_ok[self.status]
            if "expired" in statuses and "active" not in statuses:  # lapsed rows are expired, unwritten
                keep |= self.alive & (self.status == STATUS_CODES["active"]) & (self.expires <= now)
            if len(kinds) < len(KIND_CODES):
                kind_ok = np.zeros(len(KIND_CODES), dtype=bool)
                kind_ok[[KIND_CODES[k] for k in kinds]] = True
                keep &= kind_ok[self.kind]
            if not include_expired:
                keep &= self.expires > now
            if since is not None:
                keep &= self.time >= since
            if until is not None:
                keep &= self.time <= until
            if allowed_keys is not None:
                allowed = np.isin(self.keys, np.fromiter(allowed_keys, dtype=np.int64, count=len(allowed_keys)))
                keep &= allowed
            return keep

    def dense_top(self, query: np.ndarray, n: int, keep: np.ndarray) -> list[tuple[int, float]]:
        """Top-n (key, cosine) among rows where keep is True. Filters apply inside the search."""
        with self.lock:
            positions, sims = self.dense_positions(query, n, keep)
            return list(zip(self.keys[positions].tolist(), sims.tolist()))

    def dense_positions(self, query: np.ndarray, n: int, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top-n (positions, cosines) among rows where keep is True, best first."""
        with self.lock:
            total = int(np.count_nonzero(keep))
            if total == 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            n = min(n, total)
            q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
            if total <= max(1000, SELECTIVE_FRACTION * len(keep)) and self.approximate:
                return self._exact_subset(q, n, keep)
            selector = bits = params = None
            if total < len(keep):
                bits = np.packbits(keep, bitorder="little")  # referenced until the search returns
                selector = faiss.IDSelectorBitmap(len(keep), faiss.swig_ptr(bits))
            if self.approximate and (selector is not None or n > HNSW_EF_SEARCH):
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_EF_SEARCH, n))
            elif selector is not None:
                params = faiss.SearchParameters(sel=selector)
            sims, positions = self.index.search(q, n, params=params)
            del selector, bits
            found = positions[0] >= 0
            positions, sims = positions[0][found], sims[0][found]
            if len(positions) < n and self.approximate:  # a graph search can miss under a tight filter
                return self._exact_subset(q, n, keep)
            return positions, sims

    def _exact_subset(self, q: np.ndarray, n: int, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        positions = np.flatnonzero(keep)
        if not len(positions):
            return positions, np.zeros(0, dtype=np.float32)
        sims = self.index.reconstruct_batch(positions) @ q[0]
        top = np.argsort(-sims, kind="stable")[:n]
        return positions[top], sims[top]

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
            positions, sims = self.dense_positions(query, n, keep)
            only_keyword = top_rows[~np.isin(top_rows, positions)] if len(top_rows) else top_rows
            if len(only_keyword):
                extra = self.index.reconstruct_batch(only_keyword) @ np.asarray(query, dtype=np.float32).reshape(-1)
                positions = np.concatenate([positions, only_keyword])
                sims = np.concatenate([sims, extra])
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

    # -- persistence -------------------------------------------------------------------------
    def save(self, directory: Path, name: str, model: str) -> None:
        """Atomic and safe between processes: unique temporary files renamed into place under an
        exclusive file lock; the three files of one save share a token, and the JSON holds a checksum
        of the other two, both of which load() checks."""
        with self.lock:
            directory.mkdir(parents=True, exist_ok=True)
            base = directory / name
            token = uuid.uuid4().hex
            tmp = {ext: f"{base}.{ext}.{os.getpid()}.{token}.tmp" for ext in ("faiss", "npz", "json")}
            try:
                vectors = faiss.serialize_index(self.index)  # bytes in memory: checksummed as written
                arrays = io.BytesIO()
                np.savez(arrays, keys=self.keys, kind=self.kind, status=self.status, expires=self.expires,
                         time=self.time, alive=self.alive, token=np.asarray(token))
                for ext, data in (("faiss", vectors), ("npz", arrays.getbuffer())):
                    with open(tmp[ext], "wb") as fh:
                        fh.write(data)
                meta = {"format": INDEX_FORMAT, "version": self.applied_version, "dim": self.dim,
                        "model": model, "rows": len(self.keys), "token": token,
                        "version_at": self.applied_version_at,
                        "checksum": {"faiss": checksum(vectors), "npz": checksum(arrays.getbuffer())}}
                Path(tmp["json"]).write_text(json.dumps(meta))
                with _file_lock(base, exclusive=True):
                    for ext in ("faiss", "npz", "json"):
                        os.replace(tmp[ext], f"{base}.{ext}")
            finally:
                for path in tmp.values():
                    if os.path.exists(path):
                        os.unlink(path)

    @classmethod
    def load(cls, directory: Path, name: str, *, dim: int, model: str) -> NamespaceIndex | None:
        """The saved index (vectors and row attributes; the caller re-derives BM25, speakers and thread
        links from SQL), or None if absent. Raises ValueError if present but unusable: written by another
        model or format, files of different saves, or content that no longer matches its checksum (a
        damaged vector keeps the file's structure intact, so only the checksum can tell)."""
        base = directory / name
        if not Path(f"{base}.json").exists():
            return None
        with _file_lock(base, exclusive=False):
            meta = json.loads(Path(f"{base}.json").read_text())
            if meta.get("format") != INDEX_FORMAT or meta.get("dim") != dim or meta.get("model") != model:
                raise ValueError("index was written by another model or format")
            data = {ext: Path(f"{base}.{ext}").read_bytes() for ext in ("faiss", "npz")}
        with np.load(io.BytesIO(data["npz"])) as saved:
            arrays = {k: saved[k] for k in ("keys", "kind", "status", "expires", "time", "alive", "token")}
        if str(arrays["token"]) != meta.get("token"):
            raise ValueError("index files come from different saves")
        expected = meta.get("checksum") or {}
        for ext, content in data.items():
            if checksum(content) != expected.get(ext):
                raise ValueError(f"the {ext} file does not match its checksum (damaged after it was saved)")
        index = faiss.deserialize_index(np.frombuffer(data["faiss"], dtype=np.uint8))
        if index.ntotal != len(arrays["keys"]) or meta.get("rows") != len(arrays["keys"]):
            raise ValueError("index files disagree about the number of rows")
        out = cls(dim)
        out.index = index
        if isinstance(index, faiss.IndexHNSWFlat):
            index.hnsw.efSearch = HNSW_EF_SEARCH
        out._cols = {name: np.array(arrays[name], dtype=dtype) for name, dtype in COLUMNS.items()}
        out._size = len(arrays["keys"])
        out.pos_of = {int(k): i for i, k in enumerate(out.keys) if out.alive[i]}
        out.applied_version = int(meta["version"])
        out.applied_version_at = meta.get("version_at")
        return out


def checksum(data) -> str:
    """CRC-32 of a saved file's bytes: detects damage (not tampering: whoever can rewrite the files can
    rewrite the JSON too) at about 1 GB/s, so loading a 100k-row cache pays well under a second."""
    return f"{zlib.crc32(data) & 0xFFFFFFFF:08x}"


@contextmanager
def _file_lock(base: Path, *, exclusive: bool):
    """An advisory lock on `<base>.lock` (POSIX); elsewhere a no-op (the token check still applies)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(f"{base}.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
