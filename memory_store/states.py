"""System time per fact row: the states a row has held and the versions it held each one.

Every version record that touches facts closes their open state (to_version = that version) and opens
the state they hold after it (from_version = that version), in the same transaction. The state of any
row at version N is the one with from_version <= N < to_version, which is exactly what replaying the
log's after-images up to N gives, so an as-of read is one indexed query whatever the history's length."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, insert, literal, or_, select, update
from sqlalchemy.engine import Connection

from . import tables
from .timeparse import parse_time

F, S, V = tables.facts, tables.fact_states, tables.versions
OPEN = 2**31 - 1  # to_version of the state a row holds now (a number, so the index can range over it)
ROW_COLUMNS = ("namespace", "subject", "predicate", "object", "status", "valid_from", "valid_to", "recorded_at",
               "retired_at", "expires_at", "confidence", "source", "validation_count", "last_validated_at",
               "supersedes_id", "superseded_by_id", "in_conflict", "meta", "created_version", "version")
TIME_COLUMNS = ("valid_from", "valid_to", "recorded_at", "retired_at", "expires_at", "last_validated_at")
CHUNK = 5000  # ids per statement (SQLite's bound-parameter limit)


def fact_ids(affected: list) -> list[int]:
    return sorted({int(a["id"]) for a in affected or [] if isinstance(a, dict) and a.get("kind") == "fact"})


def record_states(conn: Connection, version: int, affected: list) -> None:
    """After a write's SQL, before its commit: the touched rows' states from `version` on. A row that
    no longer exists (pruned) only has its state closed."""
    ids = fact_ids(affected)
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        conn.execute(update(S).where(S.c.fact_id.in_(chunk), S.c.to_version == OPEN).values(to_version=version))
        conn.execute(insert(S).from_select(
            ["fact_id", "from_version", "to_version", *ROW_COLUMNS],
            select(F.c.id, literal(version), literal(OPEN), *(F.c[c] for c in ROW_COLUMNS)).where(F.c.id.in_(chunk))))


def as_of_query(namespace: str, version: int, *, subject: str | None = None, predicate: str | None = None,
                stored: tuple[str, ...] | None = None, valid_at: datetime | None = None):
    """SELECT of the facts of `namespace` as they were at `version`, shaped like a facts row."""
    query = (select(S.c.fact_id.label("id"), *(S.c[c] for c in ROW_COLUMNS))
             .where(S.c.namespace == namespace, S.c.to_version > version, S.c.from_version <= version)
             .order_by(S.c.fact_id))
    return narrow(query, S, subject=subject, predicate=predicate, stored=stored, valid_at=valid_at)


def narrow(query, table, *, subject=None, predicate=None, stored=None, valid_at=None):
    """The filters shared by current and as-of reads; `valid_at`: the window contains that world time."""
    if subject:
        query = query.where(table.c.subject == subject)
    if predicate:
        query = query.where(table.c.predicate == predicate)
    if stored is not None:
        query = query.where(table.c.status.in_(list(stored)))
    if valid_at is not None:
        query = query.where(table.c.status != "retracted", table.c.valid_from <= valid_at,
                            or_(table.c.valid_to.is_(None), table.c.valid_to > valid_at),
                            or_(table.c.expires_at.is_(None), table.c.expires_at > valid_at))
    return query


def backfill(conn: Connection) -> None:
    """Fill fact_states for a store written before it existed: replay the log's after-images once."""
    open_from: dict[int, int] = {}
    for rec in conn.execute(select(V.c.version, V.c.op, V.c.affected, V.c.after).order_by(V.c.version)):
        after = {a["id"]: a for a in (rec.after or []) if isinstance(a, dict) and "subject" in a and "id" in a}
        for fid in fact_ids(rec.affected):
            if fid in open_from:
                conn.execute(update(S).where(and_(S.c.fact_id == fid, S.c.from_version == open_from.pop(fid)))
                             .values(to_version=rec.version))
            snap = after.get(fid) if rec.op != "prune" else None
            if snap is None:
                continue
            row = {c: snap.get("metadata" if c == "meta" else c) for c in ROW_COLUMNS}
            row.update({c: parse_time(snap[c]) if snap.get(c) else None for c in TIME_COLUMNS})
            row["meta"] = row["meta"] or {}
            conn.execute(insert(S).values(fact_id=fid, from_version=rec.version, to_version=OPEN, **row))
            open_from[fid] = rec.version
