"""Faults a user meets rather than causes: a database that fails (corrupt file, full disk, lost server,
exhausted pool) and a file system that refuses a write. Each becomes one line that names what failed,
so the CLI (cli.main) and the runner report it the same way, without a traceback."""
from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

try:  # the `postgres` extra
    import psycopg
except ImportError:  # pragma: no cover - depends on the installed extras
    psycopg = None

# Raw DBAPI errors escape SQLAlchemy's wrapping where we use the driver's cursor directly
# (memory_store.search.latest_version), so they count as database errors too.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, sqlite3.Error) + (
    (psycopg.Error,) if psycopg is not None else ())
DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
LOW_SPACE_BYTES = 1 << 20


def is_database_error(exc: BaseException) -> bool:
    return isinstance(exc, DATABASE_ERRORS)


def first_line(text: str) -> str:
    """The first non-empty line, without SQLAlchemy's '(Background on this error at: ...)' link."""
    for line in str(text).splitlines():
        line = line.split("(Background on this error at:")[0].strip()
        if line:
            return line
    return ""


def database_error_line(exc: BaseException, url: str | None) -> str:
    """'database <url>: <what the driver said>' (the password hidden)."""
    from .db import redact_url

    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    what = first_line(str(cause)) or cause.__class__.__name__
    if _disk_full(cause, url):
        what = f"the disk is full ({what})"
    where = redact_url(url) if url else "(unknown URL)"
    return f"database {where}: {what}"


def _disk_full(cause: BaseException, url: str | None) -> bool:
    """SQLite says SQLITE_FULL when a write finds no room, but only "disk I/O error" when it cannot
    make its shared-memory file: then the free space of the database's file system decides."""
    name = getattr(cause, "sqlite_errorname", "") or ""
    if name == "SQLITE_FULL" or "No space left" in str(cause):
        return True
    if not name.startswith("SQLITE_IOERR") or not url or not url.startswith("sqlite"):
        return False
    path = Path(url.split("///", 1)[-1]).expanduser()
    try:
        return shutil.disk_usage(path.parent).free < LOW_SPACE_BYTES
    except OSError:
        return False


def os_error_line(exc: OSError) -> str:
    """'the disk is full: cannot write <path>' and the like, from the errno rather than the message."""
    path = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or exc.__class__.__name__
    if exc.errno in DISK_FULL:
        return f"the disk is full: cannot write {path} ({reason})" if path else f"the disk is full ({reason})"
    return f"{reason}: {path}" if path else reason


def fault_line(exc: BaseException, *, url: str | None) -> str | None:
    """One line for a database or file-system fault, or None for anything else (a bug stays a traceback)."""
    if is_database_error(exc):
        return database_error_line(exc, url)
    if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
        return os_error_line(exc)
    return None
