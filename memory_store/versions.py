"""The version log: the one writer of version records, and the reads over the log.

Every write to memory produces exactly one version record (monotonic, gap-free number; actor; operation;
affected ids; before/after snapshots) through `write_version`, inside the write's own transaction, which
also records the touched facts' states (memory_store.states) so as-of reads stay one query."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.engine import Connection, Engine

from . import tables
from .errors import NotFoundError
from .normalize import clean_namespace, clean_whole
from .record_types import VersionRecord
from .states import record_states
from .timeparse import as_utc, parse_time, utcnow

V = tables.versions
_VERSION = re.compile(r"^v?(\d+)$", re.IGNORECASE)


def next_version(conn: Connection) -> int:
    """The number the next version record will take (call under the write lock)."""
    return int(conn.execute(select(func.coalesce(func.max(V.c.version), 0))).scalar_one()) + 1


def write_version(conn: Connection, *, op: str, namespace: str | None, affected: list, actor: str,
                  before: Any = None, after: Any = None, version: int | None = None) -> int:
    """Write the version record of one write (number `version`, or the next one) and the states of the
    facts it touched; returns the number. The only place a version record is written."""
    if version is None:
        version = next_version(conn)
    conn.execute(insert(V).values(version=version, at=utcnow(), actor=actor, op=op, namespace=namespace,
                                  affected=affected, before=before or None, after=after or None))
    record_states(conn, version, affected)
    return version


class VersionLog:
    """Reads over the version log (composed into MemoryStore; needs only the engine)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def current_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(V.c.version), 0))).scalar_one())

    def log(self, *, since: int | None = None, namespace: str = "default", limit: int | None = None,
            full: bool = True, until: int | None = None, shared: bool = False,
            all_namespaces: bool = False, conn: Connection | None = None) -> list[VersionRecord]:
        """Version records of one namespace after `since` and up to `until` (oldest first). Version
        numbers are global, so a namespace's numbers have gaps. `shared` adds the records of writes that
        spanned several namespaces (earlier versions' reverts and mixed imports), whose before/after also
        hold other namespaces' rows: for internal reads only, as is `all_namespaces` (integrity checks)."""
        since = None if since is None else clean_whole(since, what="since")
        limit = None if limit is None else clean_whole(limit, what="limit", minimum=1)
        cols = [V.c.version, V.c.at, V.c.actor, V.c.op, V.c.namespace, V.c.affected]
        if full:
            cols += [V.c.before, V.c.after]
        query = select(*cols).order_by(V.c.version)
        if since is not None:
            query = query.where(V.c.version > since)
        if until is not None:
            query = query.where(V.c.version <= until)
        if not all_namespaces:
            ns = clean_namespace(namespace)
            query = query.where(or_(V.c.namespace == ns, V.c.namespace.is_(None)) if shared else V.c.namespace == ns)
        if limit is not None:
            query = query.limit(limit)
        if conn is not None:  # inside a caller's transaction (revert reads the log under the write lock)
            rows = conn.execute(query).all()
        else:
            with self.engine.connect() as own:
                rows = own.execute(query).all()
        return [VersionRecord(version=r.version, at=as_utc(r.at), actor=r.actor, op=r.op, namespace=r.namespace,
                              affected=list(r.affected or []), before=r.before if full else None,
                              after=r.after if full else None) for r in rows]

    def version_at(self, when: datetime) -> int:
        """The last version written at or before `when` (0 if none)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(V.c.version), 0)).where(V.c.at <= when))
                       .scalar_one())

    def require_version(self, version: int) -> None:
        if not 0 <= version <= self.current_version():
            raise NotFoundError(f"version {version} does not exist (latest is {self.current_version()})")

    def parse_as_of(self, value: Any) -> int:
        """'v12' / 12 -> version 12; an ISO time -> the last version written at or before it."""
        text = str(value).strip()
        match = _VERSION.match(text)
        version = int(match.group(1)) if match else self.version_at(parse_time(text))
        self.require_version(version)
        return version
