"""One consolidation per store and namespace at a time: a file lock beside the state for SQLite, a
session-level PostgreSQL advisory lock (pg_try_advisory_lock) for PostgreSQL, so two hosts sharing a
PostgreSQL database also exclude each other."""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from typing import Iterator

from memory_store.errors import UserError


class ConsolidationBusy(UserError):
    """Another consolidation job holds the lock for this store and namespace."""


def advisory_key(schema: str, namespace: str) -> int:
    """A signed 64-bit key for pg_try_advisory_lock. Advisory locks are already scoped to one database;
    the schema keeps stores that share a database in different schemas apart."""
    digest = hashlib.sha1(f"agentcl-consolidate|{schema}|{namespace}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def consolidation_lock(store, *, namespace: str = "default", home=None) -> Iterator[None]:
    url = str(store.url)
    if url.startswith("postgresql"):
        from sqlalchemy import text

        conn = store.engine.connect()
        try:
            key = advisory_key(str(conn.execute(text("SELECT current_schema()")).scalar()), namespace)
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
            if not got:
                raise ConsolidationBusy(f"another consolidation of namespace {namespace!r} is running on this database")
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        finally:
            conn.close()
        return
    from filelock import FileLock, Timeout

    from .state import state_dir

    lock = FileLock(str(state_dir(home, namespace) / "consolidate.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ConsolidationBusy(f"another consolidation of namespace {namespace!r} is running "
                                f"(lock {lock.lock_file})") from None
    try:
        yield
    finally:
        lock.release()
