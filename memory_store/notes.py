"""Notes, the Notes service of MemoryStore: free text (observations, conversation turns, reflections) with
metadata and an embedding (memory_store.note_text says of what text). A batch of notes is embedded in
batches and written as one version."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import insert, select, update

from . import tables
from .errors import InvalidInputError, NotFoundError, shown
from .fact_reads import require_id
from .normalize import clean_metadata, clean_namespace, clean_text, clean_whole
from .note_text import embedding_texts
from .record_types import NOTE_STATUSES, Note
from .timeparse import add_duration, parse_duration, parse_time, utcnow
from .versions import next_version

if TYPE_CHECKING:
    from .context import StoreContext
    from .index_cache import SearchCache

N = tables.notes


@dataclass
class NoteInput:
    namespace: str
    text: str
    note_type: str
    speaker: str | None
    external_id: str | None
    thread: str | None
    occurred_at: datetime | None
    expires_at: datetime | None
    metadata: dict


def _optional_text(value: Any, what: str, max_len: int = 200) -> str | None:
    return None if value in (None, "") else clean_text(str(value), what=what, max_len=max_len)


def validate_note_input(text: Any, *, namespace: Any = "default", note_type: Any = "observation",
                        speaker: Any = None, external_id: Any = None, thread: Any = None,
                        occurred_at: Any = None, ttl: Any = None, expires_at: Any = None,
                        metadata: Any = None) -> NoteInput:
    occurred = parse_time(occurred_at) if occurred_at not in (None, "") else None
    expiry = parse_time(expires_at) if expires_at not in (None, "") else None
    if ttl not in (None, ""):
        expiry = add_duration(occurred or utcnow(), parse_duration(ttl))
    return NoteInput(
        namespace=clean_namespace(namespace), text=clean_text(text, what="note text"),
        note_type=clean_text(str(note_type or "observation"), what="note type", max_len=40),
        speaker=_optional_text(speaker, "speaker"), external_id=_optional_text(external_id, "external id"),
        thread=_optional_text(thread, "thread"), occurred_at=occurred, expires_at=expiry,
        metadata=clean_metadata(metadata),
    )


class Notes:
    def __init__(self, ctx: StoreContext, cache: SearchCache):
        self.ctx = ctx
        self.cache = cache

    def add_note(self, text: str, *, namespace: str = "default", note_type: str = "observation",
                 speaker: str | None = None, external_id: str | None = None, thread: str | None = None,
                 occurred_at: Any = None, ttl: Any = None, expires_at: Any = None, metadata: dict | None = None,
                 actor: str | None = None) -> Note:
        item = validate_note_input(text, namespace=namespace, note_type=note_type, speaker=speaker,
                                   external_id=external_id, thread=thread, occurred_at=occurred_at, ttl=ttl,
                                   expires_at=expires_at, metadata=metadata)
        return self.write_notes([item], actor=actor)[0]

    def add_notes(self, notes: list[dict | str], *, namespace: str = "default", actor: str | None = None,
                  batch_size: int = 64) -> list[Note]:
        """Many notes: each a plain text, or a dict of add_note's keywords plus `text`. All validated
        first, embedded in batches, written in one transaction as one version."""
        if isinstance(notes, (str, dict)) or not isinstance(notes, (list, tuple)):
            raise InvalidInputError("notes must be a list of texts or objects with a 'text' field")
        items = []
        for i, raw in enumerate(notes):
            if isinstance(raw, str):
                raw = {"text": raw}
            if not isinstance(raw, dict):
                raise InvalidInputError(f"note {i}: expected a text or an object with a 'text' field")
            fields = dict(raw)
            fields.setdefault("namespace", namespace)
            text = fields.pop("text", None)
            unknown = set(fields) - {"namespace", "note_type", "speaker", "external_id", "thread", "occurred_at",
                                     "ttl", "expires_at", "metadata"}
            if unknown:
                raise InvalidInputError(f"note {i}: unknown field {shown(min(unknown, key=str))}")
            try:
                items.append(validate_note_input(text, **fields))
            except InvalidInputError as exc:
                raise InvalidInputError(f"note {i}: {exc}") from None
        return self.write_notes(items, actor=actor, batch_size=batch_size)

    def write_notes(self, items: list[NoteInput], *, actor: str | None = None, batch_size: int = 64,
                    op: str = "add_note", conn=None, version: int | None = None,
                    vectors: np.ndarray | None = None) -> list[Note]:
        """Write validated notes. `vectors` lets a bulk load reuse embeddings it already computed with
        this store's embedder (e.g. a migration from another store); otherwise they are computed here."""
        if not items:
            return []
        if vectors is None:
            vectors = self.embed_notes(items, batch_size=batch_size)
        elif vectors.shape != (len(items), self.ctx.embedder.dim):
            raise InvalidInputError(f"vectors must have shape ({len(items)}, {self.ctx.embedder.dim})")
        if conn is not None:
            return self.insert_notes(conn, items, vectors, version, op=op, actor=actor)
        with self.ctx.transaction() as tx:
            version = next_version(tx)
            notes = self.insert_notes(tx, items, vectors, version, op=op, actor=actor, record=True)
        self.cache.after_write(version, notes=notes)
        return notes

    def embed_notes(self, items: list[NoteInput], *, batch_size: int = 64) -> np.ndarray:
        """Embed each note as memory_store.note_text.embedding_text ('Speaker: text')."""
        return self.ctx.embedder.encode(embedding_texts(items), batch_size=batch_size)

    def insert_notes(self, conn, items, vectors, version, *, op, actor=None, record=False) -> list[Note]:
        now = utcnow()
        rows = [dict(namespace=i.namespace, note_type=i.note_type, text=i.text, speaker=i.speaker,
                     external_id=i.external_id, thread=i.thread, occurred_at=i.occurred_at, recorded_at=now,
                     expires_at=i.expires_at, retired_at=None, status="active", meta=i.metadata,
                     embedding=np.asarray(v, dtype=np.float32).tobytes(), created_version=version, version=version)
                for i, v in zip(items, vectors)]
        # One executemany with RETURNING, ids in parameter order (SQLite >= 3.35 and PostgreSQL).
        result = conn.execute(insert(N).returning(N.c.id, sort_by_parameter_order=True), rows)
        ids = [int(r[0]) for r in result]
        notes = [Note(id=i, namespace=r["namespace"], note_type=r["note_type"], text=r["text"], speaker=r["speaker"],
                      external_id=r["external_id"], thread=r["thread"], occurred_at=r["occurred_at"],
                      recorded_at=now, expires_at=r["expires_at"], retired_at=None, status="active", version=version,
                      created_version=version, metadata=r["meta"]) for i, r in zip(ids, rows)]
        if record:
            namespaces = {n.namespace for n in notes}
            self.ctx.write_version(conn, version=version, op=op, namespace=namespaces.pop() if len(namespaces) == 1 else None,
                                     affected=[{"kind": "note", "id": n.id} for n in notes], before=None,
                                     after=[n.to_dict() for n in notes], actor=actor)
        return notes

    def retract_note(self, note_id: int, *, namespace: str = "default", actor: str | None = None) -> Note:
        """Mark a note retracted (kept in history). A note of another namespace is reported as not found
        (namespaces are tenants: the reply does not reveal it exists)."""
        note_id = require_id(note_id, "note")
        ns = clean_namespace(namespace)
        with self.ctx.transaction() as conn:
            row = conn.execute(select(N).where(N.c.id == note_id, N.c.namespace == ns)).first()
            if row is None:
                raise NotFoundError(f"no note with id {note_id} in namespace {ns!r}")
            old = Note.from_row(row)
            version = next_version(conn)
            conn.execute(update(N).where(N.c.id == note_id).values(status="retracted", retired_at=utcnow(),
                                                                   version=version))
            new = Note.from_row(conn.execute(select(N).where(N.c.id == note_id)).one())
            self.ctx.write_version(conn, version=version, op="retract_note", namespace=old.namespace,
                                     affected=[{"kind": "note", "id": note_id}], before=[old.to_dict()],
                                     after=[new.to_dict()], actor=actor)
        self.cache.after_write(version, notes=[new])
        return new

    def get_note(self, note_id: int, *, namespace: str = "default") -> Note:
        note_id = require_id(note_id, "note")
        ns = clean_namespace(namespace)
        with self.ctx.engine.connect() as conn:
            row = conn.execute(select(N).where(N.c.id == note_id, N.c.namespace == ns)).first()
        if row is None:
            raise NotFoundError(f"no note with id {note_id}")
        return Note.from_row(row)

    def notes(self, *, namespace: str = "default", status: str = "active", limit: int | None = None,
              external_id: str | None = None, speaker: str | None = None,
              metadata: dict | None = None) -> list[Note]:
        """Notes of a namespace, oldest first; `speaker` and `metadata` (key -> value, all must match)
        narrow them."""
        ns = clean_namespace(namespace)
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInputError("metadata filter must be an object of key/value pairs")
        if status not in NOTE_STATUSES + ("all",):
            raise InvalidInputError(f"unknown status {shown(status)}; use one of {', '.join(NOTE_STATUSES + ('all',))}")
        external_id = _optional_text(external_id, "external id")
        limit = None if limit is None else clean_whole(limit, what="limit", minimum=1)
        query = select(N).where(N.c.namespace == ns).order_by(N.c.id)
        if status != "all":
            query = query.where(N.c.status == status)
        if external_id:
            query = query.where(N.c.external_id == external_id)
        speaker = _optional_text(speaker, "speaker")
        if speaker:
            query = query.where(N.c.speaker == speaker)
        if limit and not metadata:
            query = query.limit(limit)
        with self.ctx.engine.connect() as conn:
            found = [Note.from_row(r) for r in conn.execute(query)]
        if metadata:  # JSON metadata is compared in Python (portable across SQLite and PostgreSQL)
            found = [n for n in found if all(n.metadata.get(k) == v for k, v in metadata.items())]
        return found[:limit] if limit else found
