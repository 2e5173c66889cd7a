"""Hybrid search and the derived index cache. Mixed into MemoryStore.

The cache (memory_store.vector_index.NamespaceIndex, one per namespace) records the last version it
applied; before every search it catches up from SQL (rows whose version is newer, and prune tombstones),
and on open it loads its files or, if they are missing or corrupt, rebuilds from the vectors stored in SQL.

Ranking (memory_store.ranking): filters become a mask over the namespace's rows; the candidates are the
dense top-N and the BM25 top-N among the rows the mask keeps, each scored by both; scores are fused
linearly, notes whose speaker the query names get a small boost, and notes lend a share of their score
to the adjacent notes of their thread. A note's keyword text carries its speaker, its day and the
previous note of its thread; its vector is the embedding of its text in context (memory_store.hybrid)."""
from __future__ import annotations

import copy
import hashlib
import logging
import math
from typing import Any

import numpy as np
from sqlalchemy import bindparam, func, or_, select

from . import cache_check, ranking, schema
from .errors import InvalidInputError, shown
from .faults import DATABASE_ERRORS, first_line
from .models import SearchResult, fact_text
from .normalize import clean_namespace, clean_text
from .rules import status_at
from .states import as_of_query
from .timeparse import as_utc, iso, parse_time
from .vector_index import NamespaceIndex, RowAttrs, make_key

log = logging.getLogger("memory_store")
F, N, V = schema.facts, schema.notes, schema.versions
CANDIDATES = ranking.CANDIDATES  # per retriever, before fusion
SAVE_AFTER_ROWS = 5000  # persist the cache after catching up this many rows at once
NOTE_COLUMNS = ("speaker", "external_id", "thread", "note_type")
KINDS = {"all": ("fact", "note"), "fact": ("fact",), "note": ("note",)}
# What a search returns for a row; read once into the cache (NamespaceIndex.rows) when the row is
# indexed or changes, so a search reads no row from SQL, only the latest version number.
FACT_ROW = (F.c.id, F.c.namespace, F.c.subject, F.c.predicate, F.c.object, F.c.status, F.c.confidence, F.c.source,
            F.c.valid_from, F.c.valid_to, F.c.expires_at, F.c.meta)
NOTE_ROW = (N.c.id, N.c.namespace, N.c.note_type, N.c.text, N.c.speaker, N.c.external_id, N.c.thread,
            N.c.occurred_at, N.c.recorded_at, N.c.expires_at, N.c.status, N.c.meta)
# Built once (no per-query construction). The fallback fetch is by primary key alone (a namespace
# condition makes SQLite pick a namespace index and scan it); the namespace is checked on the rows.
LATEST_SQL = f"SELECT max(version) FROM {V.name}"
FETCH_FACTS = select(*FACT_ROW).where(F.c.id.in_(bindparam("ids", expanding=True)))
FETCH_NOTES = select(*NOTE_ROW).where(N.c.id.in_(bindparam("ids", expanding=True)))


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


def fact_payload(r) -> tuple:
    return ("fact", r.id, fact_text(r.subject, r.predicate, r.object), r.status, r.namespace, r.meta or None,
            (r.subject, r.predicate, r.object, r.confidence, r.source, r.valid_from, r.valid_to, r.expires_at))


def note_payload(r) -> tuple:
    return ("note", r.id, r.text, r.status, r.namespace, r.meta or None,
            (r.note_type, r.speaker, r.external_id, r.thread, r.occurred_at, r.expires_at))


def search_result(payload: tuple, score: float, now=None) -> SearchResult:
    """A SearchResult from a cached payload; its metadata is the caller's own copy. A fact's status is
    the one it has at world time `now` (scheduled, superseded by a scheduled successor, expired)."""
    kind, rid, text, status, namespace, meta, extra = payload
    if kind == "fact" and now is not None:
        status = status_at(status, as_utc(extra[5]), as_utc(extra[6]), as_utc(extra[7]), now)
    if meta and any(isinstance(v, (dict, list)) for v in meta.values()):
        meta = copy.deepcopy(meta)
    meta = dict(meta or {})
    if kind == "fact":
        subject, predicate, obj, confidence, source, valid_from, valid_to, expires_at = extra
        meta.update(subject=subject, predicate=predicate, object=obj, confidence=confidence, source=source,
                    valid_from=iso(valid_from), valid_to=iso(valid_to), expires_at=iso(expires_at))
    else:
        note_type, speaker, external_id, thread, occurred_at, expires_at = extra
        meta.update(note_type=note_type, speaker=speaker, external_id=external_id, thread=thread,
                    occurred_at=iso(occurred_at), expires_at=iso(expires_at))
    return SearchResult(id=rid, kind=kind, text=text, score=float(score), metadata=meta, status=status,
                        namespace=namespace)


def _epoch(value) -> float:
    value = as_utc(value)
    return value.timestamp() if value else 0.0


def fact_attrs(row) -> RowAttrs:
    # A stored-active fact whose window a scheduled successor closes stops being current then, as at expiry.
    ends = [t for t in (row.expires_at, row.valid_to if row.status == "active" else None) if t is not None]
    return RowAttrs(status=row.status, expires_at=min(_epoch(t) for t in ends) if ends else math.inf,
                    time=_epoch(row.valid_from))


def note_attrs(row) -> RowAttrs:
    return RowAttrs(status=row.status, expires_at=_epoch(row.expires_at) if row.expires_at else math.inf,
                    time=_epoch(row.occurred_at or row.recorded_at))


def note_keyword_text(speaker: str | None, text: str, occurred_at=None, previous=None) -> str:
    """What BM25 indexes for a note: 'Speaker (8 May 2023): text' after the previous note of its thread."""
    return ranking.note_context_text(text, speaker=speaker, time=as_utc(occurred_at),
                                     previous=[previous] if previous else [])


def note_entries(rows, thread_tail: dict, indexed) -> tuple[dict[int, str], dict[int, str], list[tuple[int, int]]]:
    """Keyword texts, speakers and thread links of the notes in `rows` (id order; with id, text, speaker,
    thread, occurred_at) whose key is not in `indexed`; advances `thread_tail` ({thread: (key, speaker,
    text)} of its last note). A note already indexed is skipped: a status change brings it back into a
    catch-up window, but it is not a new message of its thread."""
    texts, speakers, links = {}, {}, []
    for r in rows:
        key = make_key("note", r.id)
        if key in indexed or key in texts:
            continue
        tail = thread_tail.get(r.thread) if r.thread else None
        texts[key] = note_keyword_text(r.speaker, r.text, r.occurred_at, tail[1:] if tail else None)
        if r.speaker:
            speakers[key] = r.speaker
        if r.thread:
            if tail:
                links.append((tail[0], key))
            thread_tail[r.thread] = (key, r.speaker, r.text)
    return texts, speakers, links


class SearchMixin:
    # -- the cache ---------------------------------------------------------------------------
    def _index_name(self, namespace: str) -> str:
        return "ns-" + hashlib.sha1(namespace.encode()).hexdigest()[:16]

    def index(self, namespace: str, conn=None) -> NamespaceIndex:
        """The namespace's search cache, loaded or rebuilt, caught up with SQL, all through `conn` (or
        one connection of its own): an operation holds one connection, never two."""
        if conn is None:
            with self.engine.connect() as own:
                return self.index(namespace, own)
        idx = self._indexes.get(namespace)
        if idx is None:
            idx = self._load_or_rebuild(namespace, conn)
            self._indexes[namespace] = idx
        self._catch_up(namespace, idx, conn)
        return idx

    def _load_or_rebuild(self, namespace: str, conn) -> NamespaceIndex:
        name = self._index_name(namespace)
        try:
            idx = NamespaceIndex.load(self.index_dir, name, dim=self.embedder.dim, model=self.embedder.name)
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
            return NamespaceIndex(self.embedder.dim)
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
            return NamespaceIndex(self.embedder.dim)
        return idx

    def _catch_up(self, namespace: str, idx: NamespaceIndex, conn=None) -> None:
        if conn is None:
            with self.engine.connect() as own:
                return self._catch_up(namespace, idx, own)
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
                dim = self.embedder.dim
                matrix = np.frombuffer(b"".join(vecs), dtype=np.float32).reshape(len(keys), dim)
                idx.add(keys, matrix, texts, attrs, speakers=speakers, links=links, payloads=payloads)
            idx.applied_version = latest
        if len(keys) >= SAVE_AFTER_ROWS:
            self._save_index(namespace, idx, conn)

    def _after_write(self, version: int, *, facts=(), notes=()) -> None:
        """Bring loaded caches up to date right after a commit (unloaded ones catch up when opened). The
        write is done: a connection lost here only leaves the cache behind, and the next search catches up."""
        for ns in {x.namespace for x in list(facts) + list(notes)}:
            if ns in self._indexes:
                try:
                    self._catch_up(ns, self._indexes[ns])
                except DATABASE_ERRORS as exc:
                    log.warning("search index for %r not updated after version %s (%s); it catches up at the "
                                "next search", ns, version, first_line(str(exc)))

    def _save_index(self, namespace: str, idx: NamespaceIndex, conn=None) -> None:
        """Never fatal: a cache that cannot be saved (full disk: faiss raises RuntimeError, numpy OSError;
        a database gone while closing) is rebuilt or caught up next time."""
        try:
            if idx.applied_version:
                if conn is None:
                    with self.engine.connect() as own:
                        idx.applied_version_at = version_time(own, idx.applied_version)
                else:
                    idx.applied_version_at = version_time(conn, idx.applied_version)
            idx.save(self.index_dir, self._index_name(namespace), self.embedder.name)
        except (OSError, RuntimeError, *DATABASE_ERRORS) as exc:
            log.warning("could not save search index for %r: %s", namespace, first_line(str(exc)))

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
        kinds = KINDS.get(kind) if isinstance(kind, str) else None
        if kinds is None:
            raise InvalidInputError(f"unknown kind {shown(kind)}; use fact, note or all")
        statuses = self._statuses(status, include_expired, include_superseded)
        since_t = parse_time(since).timestamp() if since not in (None, "") else None
        until_t = parse_time(until).timestamp() if until not in (None, "") else None
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInputError("metadata filter must be an object of key/value pairs")
        at = parse_time(valid_at) if valid_at not in (None, "") else None
        version = self.parse_as_of(as_of) if as_of not in (None, "") else None
        timed = at is not None or version is not None
        if timed and status in (None, ""):  # the time filters decide; every status but retracted may pass
            statuses = ("active", "superseded", "expired")
        if not texts:
            return []
        n = max(CANDIDATES, k)
        # Measured: embedding the queries in a background thread while the text-only work (catch-up, mask,
        # BM25) runs made a search slower, not faster (the two threads fight over the GIL).
        vectors = self.embedder.encode(texts)
        with self.engine.connect() as conn:
            idx = self.index(ns, conn)
            allowed = self._metadata_allowed(ns, metadata, conn) if metadata else None
            if timed:
                in_time = self._time_allowed(conn, ns, at, version)
                allowed = in_time if allowed is None else allowed & in_time
            keep = idx.mask(kinds=kinds, statuses=statuses, now=self.now().timestamp(),
                            include_expired=timed or include_expired or "expired" in statuses, since=since_t,
                            until=until_t, allowed_keys=allowed, include_scheduled=timed)
            ranked = [self._rank(idx, text, vec, k, n, keep, idx.keyword_candidates(text, n, keep))
                      for text, vec in zip(texts, vectors)]
            return self._materialise(conn, ranked, idx, ns)

    @staticmethod
    def _time_allowed(conn, ns: str, at, version: int | None) -> set[int]:
        """Keys of the rows a valid_at / as_of search may return: facts valid at world time `at` (as the
        store held them at `version`, if given) and notes written at or before `at` / present at `version`."""
        if version is not None:
            if at is None:  # what the store held then about its own present
                at = as_utc(conn.execute(select(V.c.at).where(V.c.version == version)).scalar()) or as_utc(parse_time("1970-01-01"))
            fact_rows = conn.execute(as_of_query(ns, version, valid_at=at)).all()
        else:
            window = (F.c.status != "retracted", F.c.valid_from <= at,
                      or_(F.c.valid_to.is_(None), F.c.valid_to > at), or_(F.c.expires_at.is_(None), F.c.expires_at > at))
            fact_rows = conn.execute(select(F.c.id).where(F.c.namespace == ns, *window)).all()
        notes = select(N.c.id).where(N.c.namespace == ns, N.c.status != "retracted")
        if version is not None:
            notes = notes.where(N.c.created_version <= version)
        else:
            notes = notes.where(func.coalesce(N.c.occurred_at, N.c.recorded_at) <= at)
        return ({make_key("fact", r.id) for r in fact_rows} |
                {make_key("note", r.id) for r in conn.execute(notes)})

    @staticmethod
    def _rank(idx: NamespaceIndex, text: str, vec: np.ndarray, k: int, n: int, keep: np.ndarray,
              keyword_top) -> list[tuple[int, float]]:
        """The best k (key, score) among the rows `keep` allows (memory_store.ranking)."""
        dense, keyword = idx.candidates(vec, n, keep, keyword_top)
        pool = dense.keys() | keyword.keys()
        neighbours = {key: idx.neighbours[key] for key in pool if key in idx.neighbours}
        speakers = {key: idx.speaker[key] for key in pool if key in idx.speaker}
        return ranking.rank_candidates(dense, keyword, neighbours, query=text, speakers=speakers)[:k]

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
        if not isinstance(status, str) or status not in ("active", "superseded", "expired", "retracted"):
            raise InvalidInputError(f"unknown status {shown(status)}")
        return (status,)

    def _metadata_allowed(self, ns: str, metadata: dict, conn) -> set[int]:
        """Keys of rows matching every metadata filter (note columns in SQL, the rest from JSON)."""
        query = select(N.c.id, N.c.meta).where(N.c.namespace == ns)
        for key in NOTE_COLUMNS:
            if key in metadata:  # a NUL can never be stored (clean_text strips it), and PostgreSQL rejects it
                query = query.where(getattr(N.c, key) == str(metadata[key]).replace("\x00", ""))
        rest = {k: v for k, v in metadata.items() if k not in NOTE_COLUMNS}
        keys = {make_key("note", r.id) for r in conn.execute(query)
                if all((r.meta or {}).get(k) == v for k, v in rest.items())}
        if not any(k in NOTE_COLUMNS for k in metadata):
            keys |= {make_key("fact", r.id) for r in conn.execute(select(F.c.id, F.c.meta).where(F.c.namespace == ns))
                     if all((r.meta or {}).get(k) == v for k, v in rest.items())}
        return keys

    def _materialise(self, conn, ranked: list[list[tuple[int, float]]], idx: NamespaceIndex,
                     ns: str) -> list[list[SearchResult]]:
        """Results from the cached rows (current: the cache was caught up in this search); a row the cache
        lacks is read from SQL, and one pruned since ranking is skipped."""
        missing = sorted({key for hits in ranked for key, _ in hits if key not in idx.rows})
        fetched: dict[int, tuple] = {}
        fact_ids = [key // 2 for key in missing if key % 2 == 0]
        note_ids = [key // 2 for key in missing if key % 2 == 1]
        if fact_ids:
            fetched.update((make_key("fact", r.id), fact_payload(r)) for r in conn.execute(FETCH_FACTS, {"ids": fact_ids})
                           if r.namespace == ns)
        if note_ids:
            fetched.update((make_key("note", r.id), note_payload(r)) for r in conn.execute(FETCH_NOTES, {"ids": note_ids})
                           if r.namespace == ns)
        out, now = [], self.now()
        for hits in ranked:
            results = []
            for key, score in hits:
                payload = idx.rows.get(key) or fetched.get(key)
                if payload is not None:
                    results.append(search_result(payload, score, now))
            out.append(results)
        return out
