"""Reads of facts, the FactReads service of MemoryStore: by id, by slot (`current`, `history`), by
filters and as of a version, each fact with the status it has now in world time; plus the stored vectors
and the namespaces in use. Reads never write: a stored-active row reads as scheduled, superseded or
expired as world time passes."""
from __future__ import annotations

import numbers
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Connection

from . import tables
from .errors import InvalidInputError, NotFoundError, shown
from .normalize import MAX_TEXT, MAX_WHOLE, clean_filter, clean_name, clean_namespace
from .record_types import Fact
from .rules import current_value, status_at
from .states import as_of_query, narrow
from .timeparse import parse_time

if TYPE_CHECKING:
    from .context import StoreContext
    from .predicate_rules import PredicateRules
    from .versions import VersionLog

F = tables.facts
FACT_READ_STATUSES = ("active", "scheduled", "superseded", "expired", "retracted")
# Which stored statuses can read as each status (a stored-active row changes with world time).
STORED_FOR = {"active": ("active", "expired"), "scheduled": ("active",), "expired": ("active", "expired"),
              "superseded": ("active", "superseded"), "retracted": ("retracted",), "all": None}
READ_COLUMNS = tuple(c for c in F.c if c.name != "embedding")  # a read never needs the vector


def with_status_at(fact: Fact, at: datetime) -> Fact:
    fact.status = status_at(fact.status, fact.valid_from, fact.valid_to, fact.expires_at, at)
    return fact


def require_id(fact_id: Any, what: str = "fact") -> int:
    """A row id: a whole number (also as text, as the CLI passes it); 2.5, True or NaN are errors."""
    if isinstance(fact_id, str) and fact_id.strip().isdigit() and len(fact_id.strip()) <= 19:
        fact_id = int(fact_id.strip())
    if isinstance(fact_id, float) and fact_id.is_integer():
        fact_id = int(fact_id)
    if isinstance(fact_id, bool) or not isinstance(fact_id, numbers.Integral):
        raise InvalidInputError(f"{what} id must be a whole number, got {shown(fact_id)}")
    fact_id = int(fact_id)
    if not 0 < fact_id <= MAX_WHOLE:
        raise NotFoundError(f"no {what} with id {shown(fact_id)}")
    return fact_id


def facts_by_ids(conn: Connection, ids: list[int], *, namespace: str | None = None) -> list[Fact]:
    if not ids:
        return []
    query = select(F).where(F.c.id.in_(list(ids))).order_by(F.c.id)
    rows = conn.execute(query if namespace is None else query.where(F.c.namespace == namespace)).all()
    return [Fact.from_row(r) for r in rows]


class FactReads:
    def __init__(self, ctx: StoreContext, rules: PredicateRules, versions: VersionLog):
        self.ctx = ctx
        self.rules = rules
        self.versions = versions

    def get_fact(self, fact_id: int, *, namespace: str = "default") -> Fact:
        fact_id = require_id(fact_id)
        ns = clean_namespace(namespace)
        with self.ctx.engine.connect() as conn:
            found = facts_by_ids(conn, [fact_id], namespace=ns)
        if not found:
            raise NotFoundError(f"no fact with id {fact_id}")
        return with_status_at(found[0], self.ctx.now())  # the status it has now in world time, as facts() says

    def facts(self, *, namespace: str = "default", subject: str | None = None, predicate: str | None = None,
              status: str | None = None, as_of: Any = None, valid_at: Any = None,
              limit: int | None = None) -> list[Fact]:
        """Facts of a namespace, each with the status it has now in world time (stored-active rows become
        scheduled, superseded or expired as time passes, without a write).

        status: active (the default), scheduled, superseded, expired, retracted or all; with `valid_at`
        the default is every fact whose validity window contains that world time (superseded values
        included when they were the truth then). as_of: a version number, 'vN', or an ISO time: what the
        store held then (one indexed query on fact_states). Both combine: what the store believed at
        system time `as_of` about world time `valid_at`."""
        ns = clean_namespace(namespace)
        if status not in (None, "all") + FACT_READ_STATUSES:
            raise InvalidInputError(f"unknown status {shown(status)}; use one of "
                                    f"{', '.join(FACT_READ_STATUSES + ('all',))}")
        subject, predicate = clean_filter(subject, what="subject"), clean_filter(predicate, what="predicate")
        subj = self.rules.canonical(subject, kind="subject", namespace=ns) if subject else None
        pred = self.rules.canonical(predicate, kind="predicate", namespace=ns) if predicate else None
        at = parse_time(valid_at) if valid_at not in (None, "") else None
        wanted = status or ("all" if at is not None else "active")
        stored = STORED_FOR.get(wanted)
        if as_of not in (None, ""):
            query = as_of_query(ns, self.versions.parse_as_of(as_of), subject=subj, predicate=pred, stored=stored, valid_at=at)
        else:
            query = narrow(select(*READ_COLUMNS).where(F.c.namespace == ns).order_by(F.c.id),
                           F, subject=subj, predicate=pred, stored=stored, valid_at=at)
        if limit and wanted == "all":
            query = query.limit(limit)
        with self.ctx.engine.connect() as conn:
            rows = conn.execute(query).all()
        now = self.ctx.now()
        out = []
        for row in rows:
            fact = with_status_at(Fact.from_row(row), now)
            if wanted == "all" or fact.status == wanted:
                out.append(fact)
                if limit and len(out) >= limit:
                    break
        return out

    def current(self, subject: str, predicate: str, *, namespace: str = "default", at: Any = None) -> Fact | None:
        """The value of a slot now, or at world time `at` (the most trusted one if a conflict left several)."""
        subject, predicate = clean_name(subject, what="subject", max_len=MAX_TEXT), clean_name(
            predicate, what="predicate", max_len=MAX_TEXT)  # a read: too long just matches nothing
        if at in (None, ""):
            found = self.facts(namespace=namespace, subject=subject, predicate=predicate)
        else:
            found = self.facts(namespace=namespace, subject=subject, predicate=predicate, valid_at=at)
        return current_value(found)

    def history(self, subject: str, predicate: str, *, namespace: str = "default") -> list[Fact]:
        """Every value the slot has had, oldest valid_from first."""
        subject, predicate = clean_name(subject, what="subject", max_len=MAX_TEXT), clean_name(
            predicate, what="predicate", max_len=MAX_TEXT)  # a read: too long just matches nothing
        facts = self.facts(namespace=namespace, subject=subject, predicate=predicate, status="all")
        return sorted(facts, key=lambda f: (f.valid_from, f.id))

    def vectors(self, kind: str, ids: list[int]) -> np.ndarray:
        """Stored embeddings of facts or notes (no re-encoding), in the order of `ids`."""
        table = {"fact": F, "note": tables.notes}.get(kind)
        if table is None:
            raise InvalidInputError("kind must be 'fact' or 'note'")
        with self.ctx.engine.connect() as conn:
            rows = dict(conn.execute(select(table.c.id, table.c.embedding).where(table.c.id.in_(list(ids)))).all())
        missing = [i for i in ids if rows.get(i) is None]
        if missing:
            raise NotFoundError(f"no {kind} with id {missing[0]}")
        return np.vstack([np.frombuffer(rows[i], dtype=np.float32) for i in ids]) if ids else \
            np.zeros((0, self.ctx.embedder.dim), dtype=np.float32)

    def namespaces(self) -> list[str]:
        with self.ctx.engine.connect() as conn:
            a = {r[0] for r in conn.execute(select(F.c.namespace).distinct())}
            b = {r[0] for r in conn.execute(select(tables.notes.c.namespace).distinct())}
        return sorted(a | b)


    def facts_as_of(self, version: int, *, namespace: str) -> list[Fact]:
        """Every fact of `namespace` as stored at `version` (one indexed query on fact_states)."""
        with self.ctx.engine.connect() as conn:
            return [Fact.from_row(r) for r in conn.execute(as_of_query(namespace, version))]
