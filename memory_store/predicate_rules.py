"""Predicate rules (per predicate: functional or multi-valued, default TTL, resolution rule) and name
aliases: the PredicateRules service of MemoryStore. set_policy and add_alias are each one versioned write.
(The rules themselves, pure, are memory_store.rules; the agent's deciders are agentcl.policies.)"""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from . import tables
from .errors import InvalidInputError, shown
from .normalize import clean_name, clean_namespace, clean_text, normalize_name
from .rules import RULES, PredicatePolicy
from .timeparse import parse_duration

if TYPE_CHECKING:
    from .context import StoreContext


def policy_row(predicate: Any, *, namespace: Any = "default", functional: Any = True, ttl: Any = None,
               rule: Any = "latest", source_priority: Any = None) -> dict:
    """A validated predicate_policies row (set_policy and import share it)."""
    if not isinstance(functional, bool):
        raise InvalidInputError(f"functional must be true or false, got {shown(functional)}")
    if source_priority is not None and (not isinstance(source_priority, (list, tuple))
                                        or not all(isinstance(x, str) for x in source_priority)):
        raise InvalidInputError("source priority must be a list of source names")
    ttl_td = parse_duration(ttl) if ttl not in (None, "") else None
    if rule not in RULES:
        raise InvalidInputError(f"unknown resolution rule {shown(rule)}; use one of {', '.join(RULES)}")
    sources = [clean_text(x, what="source", max_len=200) for x in source_priority or ()]
    PredicatePolicy(functional=functional, ttl=ttl_td, rule=rule, source_priority=tuple(sources))  # checks rule
    return {"namespace": clean_namespace(namespace), "predicate": clean_name(predicate, what="predicate", max_len=200),
            "functional": functional, "ttl_seconds": ttl_td.total_seconds() if ttl_td else None, "rule": rule,
            "source_priority": sources}


def alias_row(alias: Any, canonical: Any, *, kind: Any = "subject", namespace: Any = "default") -> dict:
    if kind not in ("subject", "predicate"):
        raise InvalidInputError("alias kind must be 'subject' or 'predicate'")
    a, c = clean_name(alias, what="alias"), clean_name(canonical, what="canonical name")
    if a == c:
        raise InvalidInputError("an alias must differ from its canonical name")
    return {"namespace": clean_namespace(namespace), "kind": kind, "alias": a, "canonical": c}


def put_policy(conn: Connection, row: dict) -> dict | None:
    """Insert or replace a policy row; returns the one it replaced."""
    P = tables.policies
    where = (P.c.namespace == row["namespace"], P.c.predicate == row["predicate"])
    old = conn.execute(select(P).where(*where)).first()
    conn.execute(delete(P).where(*where))
    conn.execute(insert(P).values(**row))
    return dict(old._mapping) if old else None


def put_alias(conn: Connection, row: dict) -> None:
    al = tables.aliases
    conn.execute(delete(al).where(al.c.namespace == row["namespace"], al.c.kind == row["kind"],
                                  al.c.alias == row["alias"]))
    conn.execute(insert(al).values(**row))


class PredicateRules:
    def __init__(self, ctx: StoreContext):
        self.ctx = ctx

    def set_policy(self, predicate: str, *, namespace: str = "default", functional: bool = True,
                   ttl: Any = None, rule: str = "latest", source_priority: list[str] | None = None) -> PredicatePolicy:
        row = policy_row(predicate, namespace=namespace, functional=functional, ttl=ttl, rule=rule,
                         source_priority=source_priority)
        with self.ctx.transaction() as conn:
            old = put_policy(conn, row)
            self.ctx.write_version(conn, op="set_policy", namespace=row["namespace"],
                                   affected=[{"kind": "policy", "id": row["predicate"]}], before=old, after=row)
        return PredicatePolicy(functional=row["functional"], ttl=parse_duration(row["ttl_seconds"]) if row["ttl_seconds"]
                               else None, rule=row["rule"], source_priority=tuple(row["source_priority"]))

    def policy(self, predicate: str, *, namespace: str = "default", conn: Connection | None = None) -> PredicatePolicy:
        ns, pred = clean_namespace(namespace), normalize_name(predicate)
        query = select(tables.policies).where(tables.policies.c.namespace == ns, tables.policies.c.predicate == pred)
        if conn is None:
            with self.ctx.engine.connect() as c:
                row = c.execute(query).first()
        else:
            row = conn.execute(query).first()
        if row is None:
            return PredicatePolicy()
        m = row._mapping
        return PredicatePolicy(functional=bool(m["functional"]),
                               ttl=timedelta(seconds=m["ttl_seconds"]) if m["ttl_seconds"] else None,
                               rule=m["rule"], source_priority=tuple(m["source_priority"] or ()))

    def add_alias(self, alias: str, canonical: str, *, kind: str = "subject", namespace: str = "default") -> None:
        row = alias_row(alias, canonical, kind=kind, namespace=namespace)
        with self.ctx.transaction() as conn:
            put_alias(conn, row)
            self.ctx.write_version(conn, op="add_alias", namespace=row["namespace"],
                                   affected=[{"kind": "alias", "id": row["alias"]}],
                                   after={k: row[k] for k in ("kind", "alias", "canonical")})

    def canonical(self, name: str, *, kind: str, namespace: str) -> str:
        name = normalize_name(name)
        al = tables.aliases
        with self.ctx.engine.connect() as conn:
            row = conn.execute(select(al.c.canonical).where(
                al.c.namespace == namespace, al.c.kind == kind, al.c.alias == name)).first()
        return row[0] if row else name

    def resolve_aliases(self, item):
        """A fact assertion (memory_store.facts.FactInput) with its subject and predicate made canonical."""
        item.subject = self.canonical(item.subject, kind="subject", namespace=item.namespace)
        item.predicate = self.canonical(item.predicate, kind="predicate", namespace=item.namespace)
        return item
