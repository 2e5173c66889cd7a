"""Engines, migrations and the write lock.

SQLite: WAL, a busy timeout, and BEGIN IMMEDIATE for every transaction so writers queue instead of
failing on a lock upgrade. PostgreSQL: a transaction-scoped advisory lock serialises writers, which keeps
the version log gap-free and exactly one active value per functional slot."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine

from .errors import UserError

BUSY_TIMEOUT_S = 30
WRITE_LOCK_KEY = 0x6167636C  # "agcl": the advisory lock id of the memory store's writers
_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def make_engine(url: str) -> Engine:
    """An Engine for `url` with the settings agentcl relies on."""
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})
            _configure_sqlite(engine)
            return engine
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    except Exception as exc:  # bad URL or missing driver: the user's input
        raise UserError(f"cannot use database {redact_url(url)}: {exc.__class__.__name__}: {exc}") from None


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # let us issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the lock up front (no failed lock upgrades); readers never block anyone.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("agentcl_write") else "BEGIN")


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the store's write lock from its first statement to commit."""
    with engine.connect() as conn:
        conn.execution_options(agentcl_write=True)
        with conn.begin():
            take_write_lock(conn)
            yield conn


def take_write_lock(conn: Connection) -> None:
    """Serialise writers (SQLite already holds its lock from BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})


def run_migrations(engine: Engine, script_location: Path, revision: str, *, lock_key: int) -> None:
    """Alembic upgrade of `script_location`'s migrations to `revision` in one transaction. On PostgreSQL
    two processes creating the schema at once would race, so one waits for the other on `lock_key`."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def migrate(engine: Engine, *, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic (idempotent, once per process per URL)."""
    key = f"{engine.url!r}:{revision}"
    with _migrate_lock:
        if key in _migrated:
            return
        run_migrations(engine, Path(__file__).parent / "migrations", revision, lock_key=WRITE_LOCK_KEY + 1)
        _migrated.add(key)


def redact_url(url: str) -> str:
    """A URL safe to print: the password replaced by ***."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"
