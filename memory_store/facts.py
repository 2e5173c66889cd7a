"""Writes of facts, the Facts service of MemoryStore: add (with conflict resolution inside the slot),
validate, adjust confidence, retract, expire. Every public method is one versioned write; embeddings are
computed before the transaction so the write lock is held only for SQL work. Reads: memory_store.fact_reads."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection

from . import tables
from .errors import InvalidInputError, NotFoundError, shown
from .fact_reads import facts_by_ids, require_id, with_status_at
from .normalize import (
    MAX_NAME,
    clean_confidence,
    clean_metadata,
    clean_name,
    clean_namespace,
    clean_text,
    normalize_name,
)
from .record_types import Fact, WriteResult, fact_text
from .rules import Assertion, resolve, status_at
from .timeparse import add_duration, parse_duration, parse_time, utcnow
from .versions import next_version

if TYPE_CHECKING:
    from .context import StoreContext
    from .index_cache import SearchCache
    from .predicate_rules import PredicateRules

F = tables.facts


@dataclass
class FactInput:
    """A validated fact assertion, ready to write (names normalised, times parsed)."""

    namespace: str
    subject: str
    predicate: str
    object: str
    valid_from: datetime | None
    ttl: timedelta | None
    expires_at: datetime | None
    confidence: float
    source: str
    metadata: dict


def validate_fact_input(subject: Any, predicate: Any, obj: Any, *, namespace: Any = "default",
                        valid_from: Any = None, ttl: Any = None, expires_at: Any = None,
                        confidence: Any = 1.0, source: Any = "user", metadata: Any = None) -> FactInput:
    """Check every field before anything is written; raise InvalidInputError with one clear line."""
    return FactInput(
        namespace=clean_namespace(namespace),
        subject=clean_name(subject, what="subject", max_len=MAX_NAME),
        predicate=clean_name(predicate, what="predicate", max_len=200),
        object=clean_text(obj, what="object", max_len=10_000),
        valid_from=parse_time(valid_from) if valid_from not in (None, "") else None,
        ttl=parse_duration(ttl) if ttl not in (None, "") else None,
        expires_at=parse_time(expires_at) if expires_at not in (None, "") else None,
        confidence=clean_confidence(confidence),
        source=clean_text(source, what="source", max_len=200),
        metadata=clean_metadata(metadata),
    )


def snapshot(fact: Fact) -> dict:
    return fact.to_dict()


class Facts:
    def __init__(self, ctx: StoreContext, rules: PredicateRules, cache: SearchCache):
        self.ctx = ctx
        self.rules = rules
        self.cache = cache

    def add_fact(self, subject: str, predicate: str, obj: str, *, namespace: str = "default",
                 valid_from: Any = None, ttl: Any = None, expires_at: Any = None, confidence: Any = 1.0,
                 source: str = "user", metadata: dict | None = None, actor: str | None = None) -> WriteResult:
        item = validate_fact_input(subject, predicate, obj, namespace=namespace, valid_from=valid_from, ttl=ttl,
                                   expires_at=expires_at, confidence=confidence, source=source, metadata=metadata)
        return self.add_facts([item], actor=actor)[0]

    def add_facts(self, items: list[FactInput], *, actor: str | None = None, op: str = "add_fact") -> list[WriteResult]:
        """Several assertions in one transaction and one version (import, batch learning)."""
        if not items:
            return []
        items = [self.rules.resolve_aliases(i) for i in items]
        vectors = self._vectors_for(items)
        with self.ctx.transaction() as conn:
            version = next_version(conn)
            results, before, after, affected = [], [], [], []
            for item, vec in zip(items, vectors):
                res, changed_before = self.apply_assertion(conn, item, vec, version)
                results.append(res)
                before.extend(changed_before)
            touched = facts_by_ids(conn, sorted({r.fact.id for r in results} |
                                                     {i for r in results for i in r.superseded} |
                                                     {b["id"] for b in before}))
            for fact in touched:
                affected.append({"kind": "fact", "id": fact.id})
                after.append(snapshot(fact))
            namespaces = {i.namespace for i in items}
            self.ctx.write_version(conn, version=version, op=op, namespace=namespaces.pop() if len(namespaces) == 1 else None,
                                     affected=affected, before=before, after=after, actor=actor)
            by_id = {f.id: f for f in touched}
            world = self.ctx.now()
            for r in results:
                # The reply says what the row is now in world time: scheduled, or expired on arrival.
                r.fact = with_status_at(copy.copy(by_id[r.fact.id]), world)
        self.cache.after_write(version, facts=touched)
        return results

    def _vectors_for(self, items: list[FactInput]) -> list[np.ndarray | None]:
        """Embeddings for assertions that will need a new row. A re-assertion of the active value only
        validates it, so it is not embedded (the decision is re-checked inside the transaction)."""
        need = [i for i, item in enumerate(items) if not self._is_active_value(item)]
        vectors: list[np.ndarray | None] = [None] * len(items)
        if need:
            for i, vec in zip(need, self.ctx.embed([fact_text(items[i].subject, items[i].predicate, items[i].object)
                                                for i in need])):
                vectors[i] = vec
        return vectors

    def _is_active_value(self, item: FactInput) -> bool:
        with self.ctx.engine.connect() as conn:
            rows = conn.execute(select(F.c.object).where(
                F.c.namespace == item.namespace, F.c.subject == item.subject, F.c.predicate == item.predicate,
                F.c.status == "active")).all()
        return any(normalize_name(r.object) == normalize_name(item.object) for r in rows)

    def apply_assertion(self, conn: Connection, item: FactInput, vector: np.ndarray | None,
                         version: int) -> tuple[WriteResult, list[dict]]:
        now, world = utcnow(), self.ctx.now()  # system time (recorded/retired) and world time (validity)
        policy = self.rules.policy(item.predicate, namespace=item.namespace, conn=conn)
        valid_from = item.valid_from or world
        ttl = item.ttl or policy.ttl
        # Out of range (a far-future valid_from plus a long TTL) is the user's error; the transaction rolls back.
        expires_at = item.expires_at or (add_duration(valid_from, ttl) if ttl else None)
        slot = and_(F.c.namespace == item.namespace, F.c.subject == item.subject, F.c.predicate == item.predicate)
        # by id: the decision (and the new row's supersedes_id) must not depend on the backend's row order
        rows = conn.execute(select(F).where(slot, F.c.status == "active").order_by(F.c.id)).all()
        active, lapsed = [], []
        for row in rows:
            fact = Fact.from_row(row)
            state = status_at(fact.status, fact.valid_from, fact.valid_to, fact.expires_at, world)
            (lapsed if state in ("expired", "superseded") else active).append((fact, state))
        before = [snapshot(f) for f, _ in lapsed]
        for fact, state in lapsed:  # materialise expiry and closed windows so the slot's history is honest
            conn.execute(update(F).where(F.c.id == fact.id).values(status=state, retired_at=now, version=version))
        active = [f for f, _ in active]
        new = Assertion(None, item.object, valid_from, item.confidence, item.source)
        decision = resolve(new, [Assertion(f.id, f.object, f.valid_from, f.confidence, f.source, f.valid_to)
                                 for f in active], policy, now=world)
        by_id = {f.id: f for f in active}
        if decision.action == "validate":
            old = by_id[decision.validate_id]
            before.append(snapshot(old))
            renewed = max([t for t in (old.expires_at, expires_at) if t is not None], default=None)
            conn.execute(update(F).where(F.c.id == old.id).values(
                validation_count=old.validation_count + 1, last_validated_at=world,
                confidence=max(old.confidence, item.confidence), expires_at=renewed, version=version))
            return WriteResult(fact=old, action="validated", version=version), before
        if vector is None:  # the pre-check expected a validation, but the slot changed meanwhile
            vector = self.ctx.embed([fact_text(item.subject, item.predicate, item.object)])[0]
        row = dict(namespace=item.namespace, subject=item.subject, predicate=item.predicate, object=item.object,
                   status="active", valid_from=valid_from, valid_to=None, recorded_at=now, retired_at=None,
                   expires_at=expires_at, confidence=item.confidence, source=item.source, validation_count=0,
                   last_validated_at=None, supersedes_id=None, superseded_by_id=None, in_conflict=False,
                   meta=item.metadata, embedding=np.asarray(vector, dtype=np.float32).tobytes(),
                   created_version=version, version=version)
        if decision.valid_to is not None:
            row["valid_to"] = decision.valid_to  # a value scheduled later takes over then
        if decision.action == "history":
            winner = by_id[decision.winner_id]
            row.update(status="superseded", valid_to=max(winner.valid_from, valid_from), retired_at=now,
                       superseded_by_id=winner.id)
        if decision.action == "conflict":
            row["in_conflict"] = True
        if decision.supersede_ids or decision.close_ids:
            row["supersedes_id"] = (decision.supersede_ids or decision.close_ids)[0]
        new_id = int(conn.execute(insert(F).values(**row)).inserted_primary_key[0])
        for old_id in decision.supersede_ids:
            before.append(snapshot(by_id[old_id]))
            conn.execute(update(F).where(F.c.id == old_id).values(
                status="superseded", valid_to=valid_from, retired_at=now, superseded_by_id=new_id,
                in_conflict=False, version=version))
        for old_id in decision.close_ids:  # still current until the new value starts: its window closes then
            before.append(snapshot(by_id[old_id]))
            conn.execute(update(F).where(F.c.id == old_id).values(
                valid_to=valid_from, superseded_by_id=new_id, version=version))
        for tied_id in decision.conflict_ids:
            before.append(snapshot(by_id[tied_id]))
            conn.execute(update(F).where(F.c.id == tied_id).values(in_conflict=True, version=version))
        action = {"add": "added", "insert": "inserted", "supersede": "superseded", "history": "history",
                  "conflict": "conflict", "schedule": "scheduled"}[decision.action]
        placeholder = Fact.from_row(conn.execute(select(F).where(F.c.id == new_id)).one())
        return WriteResult(fact=placeholder, action=action, version=version,
                           superseded=list(decision.supersede_ids)), before

    def _update_fact(self, fact_id: int, op: str, values_fn, actor: str | None = None, *,
                     namespace: str = "default") -> Fact:
        """Shared shape of validate / adjust_confidence / retract / expire: one row of `namespace`, one
        version. An id of another namespace is "no such fact": ids never reach across tenants."""
        fact_id = require_id(fact_id)
        ns = clean_namespace(namespace)
        with self.ctx.transaction() as conn:
            old = facts_by_ids(conn, [fact_id], namespace=ns)
            if not old:
                raise NotFoundError(f"no fact with id {fact_id}")
            old_fact = old[0]
            version = next_version(conn)
            values = values_fn(old_fact)
            conn.execute(update(F).where(F.c.id == fact_id).values(version=version, **values))
            new_fact = facts_by_ids(conn, [fact_id])[0]
            self.ctx.write_version(conn, version=version, op=op, namespace=old_fact.namespace,
                                     affected=[{"kind": "fact", "id": fact_id}], before=[snapshot(old_fact)],
                                     after=[snapshot(new_fact)], actor=actor)
        self.cache.after_write(version, facts=[new_fact])
        return with_status_at(copy.copy(new_fact), self.ctx.now())

    def validate_fact(self, fact_id: int, *, namespace: str = "default", actor: str | None = None) -> Fact:
        now = self.ctx.now()
        return self._update_fact(fact_id, "validate", lambda f: {
            "validation_count": f.validation_count + 1, "last_validated_at": now}, actor, namespace=namespace)

    def adjust_confidence(self, fact_id: int, delta: float, *, namespace: str = "default",
                          actor: str | None = None) -> Fact:
        try:
            delta = float(delta)
        except (TypeError, ValueError):
            raise InvalidInputError(f"confidence change must be a number, got {shown(delta)}") from None
        if not np.isfinite(delta):
            raise InvalidInputError("confidence change must be a finite number")
        return self._update_fact(fact_id, "adjust_confidence", lambda f: {
            "confidence": min(1.0, max(0.0, f.confidence + delta))}, actor, namespace=namespace)

    def retract(self, fact_id: int, *, namespace: str = "default", reason: str | None = None,
                actor: str | None = None) -> Fact:
        # checked like any stored text: bytes or NaN used to reach the JSON column (TypeError, or a
        # DataError from PostgreSQL) instead of one clear error
        reason = None if reason is None or reason == "" else clean_text(reason, what="retraction reason")
        now = utcnow()
        return self._update_fact(fact_id, "retract", lambda f: {
            "status": "retracted", "retired_at": now, "in_conflict": False,
            "meta": {**f.metadata, **({"retract_reason": reason} if reason else {})}}, actor, namespace=namespace)

    def expire(self, fact_id: int, *, namespace: str = "default", actor: str | None = None) -> Fact:
        now, world = utcnow(), self.ctx.now()
        return self._update_fact(fact_id, "expire", lambda f: {
            "status": "expired", "retired_at": now, "expires_at": min(f.expires_at or world, world)}, actor,
            namespace=namespace)

