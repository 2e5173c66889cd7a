"""Audit and prune, the Maintenance service of MemoryStore. The audit's rules are pure (memory_store.audit)."""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import and_, delete, false, or_, select

from . import audit as rules
from . import tables
from .change_history import stale_risk
from .errors import InvalidInputError
from .normalize import clean_namespace
from .record_types import Fact, Note
from .timeparse import parse_duration, utcnow
from .versions import next_version

if TYPE_CHECKING:
    from .context import StoreContext
    from .fact_reads import FactReads
    from .index_cache import SearchCache

F, N, P = tables.facts, tables.notes, tables.policies


class Maintenance:
    def __init__(self, ctx: StoreContext, reads: FactReads, cache: SearchCache):
        self.ctx = ctx
        self.reads = reads
        self.cache = cache

    def audit(self, namespace: str = "default", *, now=None) -> rules.AuditReport:
        ns = clean_namespace(namespace)
        now = now or self.ctx.now()
        everything = self.reads.facts(namespace=ns, status="all")
        active = [f for f in everything if f.status == "active"]
        with self.ctx.engine.connect() as conn:
            functional = {r.predicate: bool(r.functional) for r in conn.execute(select(P).where(P.c.namespace == ns))}
            lapsed_notes = [Note.from_row(r) for r in conn.execute(select(N).where(
                N.c.namespace == ns, N.c.status == "active", N.c.expires_at.is_not(None), N.c.expires_at <= now))]
            rows = conn.execute(select(N.c.id, N.c.text, N.c.embedding).where(N.c.namespace == ns, N.c.status == "active")
                                .order_by(N.c.id.desc()).limit(rules.MAX_DUPLICATE_SCAN)).all()
        intervals = rules.change_intervals(everything)
        report = rules.AuditReport(namespace=ns)
        report.conflicts = rules.conflicts(active, functional)
        report.expired_present = (
            [{"kind": "fact", "id": f.id, "text": f.text, "expires_at": f.to_dict()["expires_at"]}
             for f in everything if f.status == "expired" and f.retired_at is None] +
            [{"kind": "note", "id": n.id, "text": n.text[:200], "expires_at": n.to_dict()["expires_at"]}
             for n in lapsed_notes])
        report.low_confidence = [{"id": f.id, "subject": f.subject, "predicate": f.predicate, "object": f.object,
                                  "confidence": f.confidence} for f in active if f.confidence < rules.LOW_CONFIDENCE]
        report.at_risk = rules.at_risk(active, intervals, now)
        report.change_intervals = {p: t.total_seconds() for p, t in intervals.items()}
        report.stale_risk = stale_risk(self.reads, ns, active, now=now)
        p_changed = {r["id"]: r["p_changed"] for r in report.stale_risk}
        for row in report.at_risk:  # "at risk", made quantitative
            row["p_changed"] = p_changed.get(row["id"])
        ids = [("note", r.id) for r in rows] + [("fact", f.id) for f in active]
        texts = [r.text[:200] for r in rows] + [f.text for f in active]
        if ids:
            fact_vecs = self.reads.vectors("fact", [f.id for f in active]) if active else np.zeros((0, self.ctx.embedder.dim))
            note_vecs = np.vstack([np.frombuffer(r.embedding, dtype=np.float32) for r in rows]) if rows else \
                np.zeros((0, fact_vecs.shape[1]), dtype=np.float32)
            report.near_duplicates = rules.near_duplicates(ids, np.vstack([note_vecs, fact_vecs]).astype(np.float32), texts)
        return report

    def prune(self, *, namespace: str = "default", expired: bool = True, superseded: bool = False,
              retracted: bool = False, older_than: Any = "30d", dry_run: bool = False,
              actor: str | None = None) -> dict:
        """Physically delete retired memories older than the retention; one tombstone version per call."""
        ns = clean_namespace(namespace)
        if not (expired or superseded or retracted):
            raise InvalidInputError("nothing to prune: choose --expired, --superseded and/or --retracted")
        retention = parse_duration(older_than) if older_than not in (None, "", "0", 0) else timedelta(0)
        now = utcnow()
        cutoff = now - retention

        def conditions(table):
            conds = []
            if expired:
                conds.append(and_(table.c.status == "expired", table.c.retired_at <= cutoff))
                conds.append(and_(table.c.status == "active", table.c.expires_at.is_not(None),
                                  table.c.expires_at <= cutoff))
            if superseded and table is F:
                conds.append(and_(table.c.status == "superseded", table.c.retired_at <= cutoff))
            if retracted:
                conds.append(and_(table.c.status == "retracted", table.c.retired_at <= cutoff))
            return and_(table.c.namespace == ns, or_(false(), *conds))

        with self.ctx.transaction() as conn:
            facts = [Fact.from_row(r) for r in conn.execute(select(F).where(conditions(F)))]
            notes = [Note.from_row(r) for r in conn.execute(select(N).where(conditions(N)))]
            plan = {"namespace": ns, "dry_run": dry_run, "facts": [f.id for f in facts], "notes": [n.id for n in notes],
                    "deleted": len(facts) + len(notes), "version": None}
            if dry_run or not (facts or notes):
                return plan
            version = next_version(conn)
            if facts:
                conn.execute(delete(F).where(F.c.id.in_([f.id for f in facts])))
            if notes:
                conn.execute(delete(N).where(N.c.id.in_([n.id for n in notes])))
            self.ctx.write_version(conn, version=version, op="prune", namespace=ns,
                affected=[{"kind": "fact", "id": f.id} for f in facts] + [{"kind": "note", "id": n.id} for n in notes],
                before=[f.to_dict() for f in facts] + [n.to_dict() for n in notes], after=None, actor=actor)
            plan["version"] = version
        self.cache.refresh(ns)
        return plan
