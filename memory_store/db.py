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


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 5, pool_timeout: float = 30) -> Engine:
    """An Engine for `url` with the settings agentcl relies on. PostgreSQL: every checkout pings its
    connection, a lost server is waited for (memory_store.retry), and connections carry an
    application_name ("agentcl" unless the URL sets one) so an operator can find them."""
    from . import retry

    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
                                   **(pool if path and path != ":memory:" else {}))
            _configure_sqlite(engine)
            return engine
        connect_args = {} if "application_name" in url else {"application_name": "agentcl"}
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, **pool)
    except Exception as exc:  # bad URL or missing driver: the user's input
        raise UserError(f"cannot use database {redact_url(url)}: {exc.__class__.__name__}: {exc}") from None
    retry.reconnect_when_lost(engine)
    retry.track_commits(engine)
    return engine


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


def configure_component_env(metadata, *, version_table: str, table_prefix: str) -> None:
    """The body of a component's Alembic env.py (the skill registry's, the agent's): its own version
    table, and only its own tables (names starting with `table_prefix`) compared, on the connection
    run_migrations hands over."""
    from alembic import context

    context.configure(connection=context.config.attributes["connection"], target_metadata=metadata,
                      render_as_batch=True, version_table=version_table,
                      include_name=lambda name, type_, parent: type_ != "table" or name.startswith(table_prefix))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations(engine: Engine, script_location: Path, revision: str, *, lock_key: int,
                   immediate: bool = False) -> None:
    """Alembic upgrade of `script_location`'s migrations to `revision` in one transaction. On PostgreSQL
    two processes creating the schema at once would race, so one waits for the other on `lock_key`.
    `immediate`: on SQLite take the write lock at BEGIN (waiting for it), for migrations that run while
    other processes may already be writing to the database (a deferred transaction that read first
    cannot take the lock then, in WAL mode, and fails at once)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    with _sqlite_file_lock(engine):  # SQLite: a second first-open would meet "database is locked"
        with engine.connect() as conn:
            if immediate:
                conn.execution_options(agentcl_write=True)  # SQLite: BEGIN IMMEDIATE (see _configure_sqlite)
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on `<database>.migrate.lock` for a file SQLite database (a no-op otherwise):
    processes opening one fresh store at once migrate one after the other, and the later ones find the
    schema at head. SQLite's own busy wait cannot do this: a reader upgrading to a writer while another
    process writes the schema fails at once, without waiting."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(f"{Path(database).expanduser()}.migrate.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


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
