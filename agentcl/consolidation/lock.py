"""One consolidation per store and namespace at a time, and one per state directory.

Two locks, both taken without waiting (a second job is told, not queued):
- the store's: for PostgreSQL a session-level advisory lock (pg_try_advisory_lock), so hosts sharing a
  database exclude each other and a dead session releases it; for SQLite a file lock beside the
  database file (`<db>.consolidate-<namespace>.lock`), so jobs with different AGENTCL_HOMEs on one
  database file exclude each other too;
- the state directory's (`AGENTCL_HOME/consolidation/<namespace>/consolidate.lock`), so two jobs that
  share checkpoints never write them at once, whatever databases they read.
File locks are flock()s: the OS drops them when the holder dies, so a killed job never leaves one behind."""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from memory_store.errors import UserError


class ConsolidationSkipped(UserError):
    """A run that did not happen for a normal reason (a routine outcome under a scheduler, not a failure):
    the CLI exits 0 and, with --json, prints {"skipped": true, "reason": ...}."""


class ConsolidationBusy(ConsolidationSkipped):
    """Another consolidation job holds the lock for this store and namespace."""


class ConsolidationPinned(ConsolidationSkipped):
    """A rollback pinned the active checkpoint, and there is no new validated material since (pin.py)."""


def advisory_key(schema: str, namespace: str) -> int:
    """A signed 64-bit key for pg_try_advisory_lock. Advisory locks are already scoped to one database;
    the schema keeps stores that share a database in different schemas apart."""
    digest = hashlib.sha1(f"agentcl-consolidate|{schema}|{namespace}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def sqlite_lock_path(url: str, namespace: str) -> Path | None:
    """The lock file beside a SQLite database file; None for an in-memory database."""
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    from memory_store.paths import namespace_dirname

    safe = namespace_dirname(namespace)
    path = Path(database).expanduser().resolve()
    return path.with_name(f"{path.name}.consolidate-{safe}.lock")


@contextmanager
def _file_lock(path: Path, namespace: str) -> Iterator[None]:
    from filelock import FileLock, Timeout

    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ConsolidationBusy(f"another consolidation of namespace {namespace!r} is running "
                                f"(lock {path})") from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _advisory_lock(store, namespace: str) -> Iterator[None]:
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


@contextmanager
def consolidation_lock(store, *, namespace: str = "default", home=None) -> Iterator[None]:
    from memory_store.normalize import clean_namespace

    from .state import state_dir

    namespace = clean_namespace(namespace)  # the key SQL uses: " acme" and "acme" are one namespace, one lock
    url = str(store.url)
    with ExitStack() as stack:
        if url.startswith("postgresql"):
            stack.enter_context(_advisory_lock(store, namespace))
        elif url.startswith("sqlite") and (path := sqlite_lock_path(url, namespace)) is not None:
            stack.enter_context(_file_lock(path, namespace))
        stack.enter_context(_file_lock(state_dir(home, namespace) / "consolidate.lock", namespace))
        yield
