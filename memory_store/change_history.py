"""The reads that feed volatility (memory_store/volatility.py): every value a namespace remembered for a
predicate (or all predicates) as a Span, with the status it has now in world time. One indexed query;
namespaces stay a boundary (a read never leaves the namespace it is given)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from . import tables
from .fact_reads import READ_COLUMNS, with_status_at
from .normalize import clean_namespace
from .record_types import Fact
from .volatility import Span, Volatility, stale_probability

F = tables.facts


def value_spans(reads, namespace: str, *, predicate: str | None = None, now: datetime | None = None,
                exclude_subject_prefixes: tuple[str, ...] = ()) -> list[Span]:
    """Spans of every non-retracted value of `namespace` (of one predicate when given). `reads` is the
    store's FactReads service (`store.reads`): its context and predicate rules."""
    ns = clean_namespace(namespace)
    now = now or reads.ctx.now()
    query = select(*READ_COLUMNS).where(F.c.namespace == ns, F.c.status != "retracted").order_by(F.c.id)
    if predicate is not None:
        query = query.where(F.c.predicate == reads.rules.canonical(predicate, kind="predicate", namespace=ns))
    with reads.ctx.engine.connect() as conn:
        facts = [with_status_at(Fact.from_row(row), now) for row in conn.execute(query)]
    return [span for f in facts if not f.subject.startswith(exclude_subject_prefixes)
            and (span := span_of(f)) is not None]


def span_of(fact: Fact) -> Span | None:
    """The span a fact covers, as its (world-time) status says; None for values not yet valid or retracted."""
    checked = last_checked(fact)
    if fact.status == "superseded" and fact.valid_to is not None:
        return Span(fact.subject, fact.predicate, fact.valid_from, fact.valid_to, "superseded", checked)
    if fact.status == "expired":
        end = fact.expires_at or fact.valid_to or fact.retired_at
        return Span(fact.subject, fact.predicate, fact.valid_from, end, "expired", checked) if end else None
    if fact.status == "active":
        return Span(fact.subject, fact.predicate, fact.valid_from, checked=checked)
    return None


def last_checked(fact: Fact) -> datetime:
    """When the value was last known true: its last validation, or when it became valid."""
    return max(t for t in (fact.last_validated_at, fact.valid_from) if t is not None)


def fact_volatility(fact: Fact, spans: list[Span], now: datetime, **kwargs) -> Volatility:
    return stale_probability(spans, subject=fact.subject, predicate=fact.predicate, validated_at=last_checked(fact),
                             now=now, expires_at=fact.expires_at, **kwargs)


def stale_risk(reads, namespace: str, active: list[Fact], *, now: datetime | None = None,
               exclude_subject_prefixes: tuple[str, ...] = ()) -> list[dict]:
    """Active facts with the probability each changed since last validated, riskiest first."""
    now = now or reads.ctx.now()
    spans = value_spans(reads, namespace, now=now, exclude_subject_prefixes=exclude_subject_prefixes)
    rows = []
    for f in active:
        if f.subject.startswith(exclude_subject_prefixes):
            continue
        v = fact_volatility(f, spans, now)
        rows.append({"id": f.id, "subject": f.subject, "predicate": f.predicate, "object": f.object,
                     "p_changed": round(v.p_changed, 4), "model": v.model,
                     "unchecked_for_s": (now - last_checked(f)).total_seconds()})
    return sorted(rows, key=lambda r: (-r["p_changed"], r["id"]))
