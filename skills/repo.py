"""SQL access for the registry: engine, migrations, and the reads/writes the registry composes.

Every write runs in one transaction (memory_store.db.write_transaction: SQLite BEGIN IMMEDIATE,
PostgreSQL advisory lock), so a failed command leaves nothing behind."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from memory_store.db import make_engine, run_migrations, write_transaction
from memory_store.timeparse import as_utc, utcnow

from . import tables as t
from .records import SkillInfo, SkillVersion, UsageExample, VersionStats

_migrated: set[str] = set()
_lock = threading.Lock()
MIGRATE_LOCK_KEY = 0x736B6C6C  # "skll": serialises two processes creating the tables at once


def open_engine(url: str | None) -> Engine:
    """`url` None -> a private in-memory SQLite database (one connection shared by all threads)."""
    if url is None:
        return sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool,
                                connect_args={"check_same_thread": False})
    return make_engine(url)


def migrate(engine: Engine) -> None:
    """The registry's tables at head (once per process per database; per engine for in-memory ones)."""
    key = f"{engine.url!r}:{id(engine) if engine.url.database in (None, '', ':memory:') else ''}"
    with _lock:
        if key in _migrated:
            return
        run_migrations(engine, Path(__file__).parent / "migrations", "head", lock_key=MIGRATE_LOCK_KEY)
        _migrated.add(key)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    if engine.url.database in (None, "", ":memory:"):
        with engine.begin() as conn:
            yield conn
        return
    with write_transaction(engine) as conn:
        yield conn


def load_all(conn: Connection, *, name: str | None = None, names: list[str] | None = None) -> list[SkillInfo]:
    """Skills with their versions, notes and stats (one query per table, not per skill)."""
    query = sa.select(t.skills).order_by(t.skills.c.name)
    if name is not None:
        query = query.where(t.skills.c.name == name)
    if names is not None:
        query = query.where(t.skills.c.name.in_(names))
    rows = conn.execute(query).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    vrows = conn.execute(sa.select(t.versions).where(t.versions.c.skill_id.in_(ids))
                         .order_by(t.versions.c.skill_id, t.versions.c.version)).all()
    vids = [v.id for v in vrows]
    stats = {s.version_id: s for s in conn.execute(sa.select(t.stats).where(t.stats.c.version_id.in_(vids)))} \
        if vids else {}
    notes: dict[int, list[str]] = {}
    if vids:
        for n in conn.execute(sa.select(t.notes).where(t.notes.c.version_id.in_(vids)).order_by(t.notes.c.id)):
            notes.setdefault(n.version_id, []).append(n.text)
    by_skill: dict[int, list[SkillVersion]] = {}
    for v in vrows:
        s = stats.get(v.id)
        vs = VersionStats(calls=s.calls, successes=s.successes, failures=dict(s.failures or {}),
                          total_latency_ms=s.total_latency_ms,
                          last_used_at=as_utc(s.last_used_at) if s.last_used_at else None) if s else VersionStats()
        by_skill.setdefault(v.skill_id, []).append(SkillVersion(
            id=v.id, version=v.version, label=v.label, description=v.description, parameters=v.parameters,
            tags=list(v.tags or []), examples=list(v.examples or []), kind=v.kind, definition=v.definition,
            fingerprint=v.fingerprint, diff=v.diff, created_at=as_utc(v.created_at), notes=notes.get(v.id, []),
            stats=vs))
    return [SkillInfo(id=r.id, name=r.name, origin=r.origin, kind=r.kind, status=r.status, enabled=r.enabled,
                      deprecated=r.deprecated, replacement=r.replacement, current_version=r.current_version,
                      versions=by_skill.get(r.id, [])) for r in rows]


def insert_skill(conn: Connection, *, name: str, origin: str, kind: str, status: str) -> int:
    now = utcnow()
    return int(conn.execute(sa.insert(t.skills).values(
        name=name, origin=origin, kind=kind, status=status, enabled=True, deprecated=False, replacement=None,
        current_version=1, created_at=now, updated_at=now)).inserted_primary_key[0])


def insert_version(conn: Connection, *, skill_id: int, version: int, label, description, parameters, tags,
                   examples, kind, definition, fingerprint, diff) -> int:
    vid = int(conn.execute(sa.insert(t.versions).values(
        skill_id=skill_id, version=version, label=label, description=description, parameters=parameters,
        tags=tags, examples=examples, kind=kind, definition=definition, fingerprint=fingerprint, diff=diff,
        created_at=utcnow())).inserted_primary_key[0])
    conn.execute(sa.insert(t.stats).values(version_id=vid, calls=0, successes=0, failures={},
                                           total_latency_ms=0.0, last_used_at=None))
    conn.execute(sa.update(t.skills).where(t.skills.c.id == skill_id)
                 .values(current_version=version, kind=kind, updated_at=utcnow()))
    return vid


def update_version(conn: Connection, version_id: int, **values) -> None:
    conn.execute(sa.update(t.versions).where(t.versions.c.id == version_id).values(**values))


def update_skill(conn: Connection, skill_id: int, **values) -> None:
    conn.execute(sa.update(t.skills).where(t.skills.c.id == skill_id).values(updated_at=utcnow(), **values))


def delete_skill(conn: Connection, skill_id: int) -> None:
    vids = [r.id for r in conn.execute(sa.select(t.versions.c.id).where(t.versions.c.skill_id == skill_id))]
    if vids:
        for table in (t.stats, t.examples, t.notes):
            conn.execute(sa.delete(table).where(table.c.version_id.in_(vids)))
        conn.execute(sa.delete(t.versions).where(t.versions.c.id.in_(vids)))
    conn.execute(sa.delete(t.skills).where(t.skills.c.id == skill_id))


def record_call(conn: Connection, version_id: int, *, ok: bool, error_kind: str | None, latency_ms: float) -> None:
    row = conn.execute(sa.select(t.stats).where(t.stats.c.version_id == version_id)).first()
    failures = dict(row.failures or {}) if row else {}
    if not ok and error_kind:
        failures[error_kind] = failures.get(error_kind, 0) + 1
    conn.execute(sa.update(t.stats).where(t.stats.c.version_id == version_id).values(
        calls=t.stats.c.calls + 1, successes=t.stats.c.successes + (1 if ok else 0), failures=failures,
        total_latency_ms=t.stats.c.total_latency_ms + float(latency_ms), last_used_at=utcnow()))


def add_example(conn: Connection, version_id: int, task: str, args: dict, *, namespace: str, ok: bool = True) -> bool:
    """Keep a usage example in `namespace` (ok=False: a failed call for this task); the same task with the
    same arguments and outcome for the same version is kept once per namespace."""
    same = conn.execute(sa.select(t.examples.c.args).where(t.examples.c.version_id == version_id,
                                                           t.examples.c.task == task,
                                                           t.examples.c.namespace == namespace,
                                                           t.examples.c.ok == ok)).all()
    if any(row.args == args for row in same):
        return False
    conn.execute(sa.insert(t.examples).values(version_id=version_id, task=task, args=args, created_at=utcnow(),
                                              namespace=namespace, ok=ok))
    return True


def add_note(conn: Connection, version_id: int, text: str) -> None:
    conn.execute(sa.insert(t.notes).values(version_id=version_id, text=text, created_at=utcnow()))


def examples_of(conn: Connection, skill: SkillInfo, *, namespace: str) -> list[UsageExample]:
    by_id = {v.id: v.version for v in skill.versions}
    rows = conn.execute(sa.select(t.examples).where(t.examples.c.version_id.in_(list(by_id)),
                                                    t.examples.c.namespace == namespace, t.examples.c.ok.is_(True))
                        .order_by(t.examples.c.id)).all() if by_id else []
    return [UsageExample(task=r.task, args=r.args, version=by_id[r.version_id], created_at=as_utc(r.created_at))
            for r in rows]


def usage_rows(conn: Connection, *, namespace: str) -> list[dict]:
    """Every usage example of one namespace, oldest first, with its skill, version number and outcome (all
    versions: the task wording outlives a rename; search weighs old versions down, skills/usage.py)."""
    query = (sa.select(t.skills.c.name, t.versions.c.version, t.examples.c.task, t.examples.c.args,
                       t.examples.c.ok, t.examples.c.created_at)
             .select_from(t.examples.join(t.versions, t.examples.c.version_id == t.versions.c.id)
                          .join(t.skills, t.versions.c.skill_id == t.skills.c.id))
             .where(t.examples.c.namespace == namespace)
             .order_by(t.examples.c.id))
    return [{"skill": r.name, "version": r.version, "task": r.task, "args": r.args, "ok": bool(r.ok),
             "created_at": as_utc(r.created_at)} for r in conn.execute(query)]


DISCOVERED_ORIGINS = ("builtin", "entrypoint:")


def is_discovered(origin: str) -> bool:
    """Skills found again on every open (built-ins, installed plug-ins): removing one needs a tombstone."""
    return origin == "builtin" or origin.startswith("entrypoint:")


def add_tombstone(conn: Connection, name: str, origin: str) -> None:
    conn.execute(sa.delete(t.removed).where(t.removed.c.name == name, t.removed.c.origin == origin))
    conn.execute(sa.insert(t.removed).values(name=name, origin=origin, removed_at=utcnow()))


def tombstones(conn: Connection) -> list[dict]:
    rows = conn.execute(sa.select(t.removed).order_by(t.removed.c.name, t.removed.c.origin)).all()
    return [{"name": r.name, "origin": r.origin, "removed_at": as_utc(r.removed_at).isoformat()} for r in rows]


def drop_tombstones(conn: Connection, name: str) -> int:
    return conn.execute(sa.delete(t.removed).where(t.removed.c.name == name)).rowcount or 0
