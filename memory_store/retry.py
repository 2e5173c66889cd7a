"""Riding out a lost PostgreSQL connection (a server restarted, a backend terminated).

Two layers, both bounded:
- New connections: once an engine has reached its server, a failed connect is retried with backoff for
  up to RECONNECT_WINDOW_S (a restart refuses connections, then says "starting up"). Together with
  pool_pre_ping, which replaces a pooled connection the server dropped, every operation that *starts*
  after the loss gets a working connection. A server never reached (a wrong URL) still fails at once.
- Operations in flight: `retry_transient` re-runs a whole store operation when its connection was lost,
  but only if no COMMIT was sent during it (tracked per call by a commit listener), so a write is never
  applied twice. After a commit, or after the last attempt, the error propagates: one line in the CLI.
"""
from __future__ import annotations

import contextvars
import functools
import logging
import os
import time
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger("memory_store")

RECONNECT_WINDOW_S = 30.0
ATTEMPTS = 4  # tries of one in-flight operation
BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 4.0)
# SQLSTATEs of a server going away or not yet back: admin/crash shutdown, cannot connect now, class 08
TRANSIENT_STATES = {"57P01", "57P02", "57P03"}

_call: contextvars.ContextVar[dict | None] = contextvars.ContextVar("agentcl_db_call", default=None)


def backoff(attempt: int) -> float:
    return BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]


def is_transient(exc: BaseException) -> bool:
    """A lost connection or a server restarting, as opposed to an error in what was asked."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return bool(state) and (state in TRANSIENT_STATES or state.startswith("08"))


def reconnect_window() -> float:
    """Seconds to wait for a lost server: $AGENTCL_DB_RECONNECT_S, else RECONNECT_WINDOW_S."""
    try:
        return max(0.0, float(os.environ.get("AGENTCL_DB_RECONNECT_S", RECONNECT_WINDOW_S)))
    except ValueError:
        return RECONNECT_WINDOW_S


def reconnect_when_lost(engine: Engine) -> None:
    """Retry failed connects with backoff, but only after this engine has once connected."""
    reached = {"ok": False}

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, _record, cargs, cparams):
        deadline = time.monotonic() + reconnect_window()
        attempt = 0
        while True:
            try:
                conn = dialect.connect(*cargs, **cparams)
                reached["ok"] = True
                return conn
            except dialect.loaded_dbapi.OperationalError as exc:
                if not reached["ok"] or time.monotonic() + backoff(attempt) > deadline:
                    raise
                log.warning("database connection failed (%s); retrying", str(exc).strip().splitlines()[0])
                time.sleep(backoff(attempt))
                attempt += 1


def track_commits(engine: Engine) -> None:
    @event.listens_for(engine, "commit")
    def _on_commit(_conn):
        call = _call.get()
        if call is not None:
            call["committed"] = True


def retry_transient(fn: Callable) -> Callable:
    """Re-run `fn` after a transient connection loss, while nothing was committed during it. Nested
    wrapped calls run once: only the outermost call retries."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _call.get() is not None:
            return fn(*args, **kwargs)
        attempt = 0
        while True:
            call = {"committed": False}
            token = _call.set(call)
            try:
                return fn(*args, **kwargs)
            except DBAPIError as exc:
                if call["committed"] or attempt + 1 >= ATTEMPTS or not is_transient(exc):
                    raise
                log.warning("%s lost its database connection (%s); retrying", fn.__name__,
                            str(exc.orig or exc).strip().splitlines()[0])
            finally:
                _call.reset(token)
            time.sleep(backoff(attempt))
            attempt += 1

    wrapper.retries_transient = True
    return wrapper


def wrap_public_methods(cls: type, *, skip: set[str] = frozenset(), only: tuple[str, ...] | None = None) -> None:
    """Public methods of `cls` (its own and its bases'; `only` those named), except `skip`, retried on a
    lost connection."""
    names = only if only is not None else {
        n for klass in cls.__mro__[:-1] for n, v in vars(klass).items()
        if not n.startswith("_") and callable(v) and not isinstance(v, (staticmethod, classmethod, type))}
    for name in names:
        if name in skip:
            continue
        method = getattr(cls, name)
        if not getattr(method, "retries_transient", False):
            setattr(cls, name, retry_transient(method))
