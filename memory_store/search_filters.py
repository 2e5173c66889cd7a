"""The filters of a search that are not row attributes (memory_store.row_masks reads those): which
statuses a request means, and the sets of row keys a time (valid_at / as_of) or metadata filter allows,
read from SQL. Each returns keys the mask then intersects with."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from . import tables
from .errors import InvalidInputError, shown
from .index_keys import make_key
from .states import as_of_query
from .timeparse import as_utc, parse_time

F, N, V = tables.facts, tables.notes, tables.versions
NOTE_COLUMNS = ("speaker", "external_id", "thread", "note_type")  # metadata keys that are note columns
KINDS = {"all": ("fact", "note"), "fact": ("fact",), "note": ("note",)}


def statuses(status: str | None, include_expired: bool, include_superseded: bool) -> tuple[str, ...]:
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


def time_allowed(conn, ns: str, at, version: int | None) -> set[int]:
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


def metadata_allowed(conn, ns: str, metadata: dict) -> set[int]:
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
