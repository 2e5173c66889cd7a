"""What the search cache holds per row, built from SQL rows (pure): the payload a search returns
(`fact_payload`, `note_payload` -> `search_result`), the attributes filters read (`fact_attrs`,
`note_attrs`), and for notes the keyword text, speaker and thread links (`note_entries`)."""
from __future__ import annotations

import copy
import math

from sqlalchemy import bindparam, select

from . import tables
from .index_keys import make_key
from .note_text import keyword_text
from .record_types import SearchResult, fact_text
from .row_masks import RowAttrs
from .rules import status_at
from .timeparse import as_utc, iso

F, N = tables.facts, tables.notes
# What a search returns for a row; read once into the cache (NamespaceIndex.rows) when the row is
# indexed or changes, so a search reads no row from SQL, only the latest version number.
FACT_ROW = (F.c.id, F.c.namespace, F.c.subject, F.c.predicate, F.c.object, F.c.status, F.c.confidence, F.c.source,
            F.c.valid_from, F.c.valid_to, F.c.expires_at, F.c.meta)
NOTE_ROW = (N.c.id, N.c.namespace, N.c.note_type, N.c.text, N.c.speaker, N.c.external_id, N.c.thread,
            N.c.occurred_at, N.c.recorded_at, N.c.expires_at, N.c.status, N.c.meta)
# By primary key alone (a namespace condition makes SQLite pick a namespace index and scan it); the
# caller checks the namespace on the rows.
FETCH_FACTS = select(*FACT_ROW).where(F.c.id.in_(bindparam("ids", expanding=True)))
FETCH_NOTES = select(*NOTE_ROW).where(N.c.id.in_(bindparam("ids", expanding=True)))


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
        texts[key] = keyword_text(r.text, speaker=r.speaker, time=as_utc(r.occurred_at),
                                  previous=[tail[1:]] if tail else ())
        if r.speaker:
            speakers[key] = r.speaker
        if r.thread:
            if tail:
                links.append((tail[0], key))
            thread_tail[r.thread] = (key, r.speaker, r.text)
    return texts, speakers, links
