"""Integrity of a memory store after concurrent writers, crashes or a load run.

Checks what the store promises (DESIGN.md): a gap-free version log, at most one active value per
functional slot (unless the rule flagged a tie as a conflict), no duplicated active value in a slot,
supersede links that point at real rows, and a search cache (FAISS + attributes) equal to SQL.
Reads only; the one side effect is that `store.index(ns)` catches the cache up, which is the point."""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
from sqlalchemy import select

from . import tables
from .index_keys import STATUS_CODES, make_key

F, N, V, P = tables.facts, tables.notes, tables.versions, tables.policies
MAX_LISTED = 20  # problems listed per check; counts are always complete


def version_gaps(versions: list[int]) -> dict:
    """Pure: the version numbers must be exactly 1..N."""
    n = len(versions)
    expected = set(range(1, n + 1))
    have = Counter(versions)
    missing = sorted(expected - set(have))
    extra = sorted(v for v in have if v not in expected or have[v] > 1)
    return {"count": n, "max": max(versions, default=0), "missing": missing[:MAX_LISTED],
            "unexpected": extra[:MAX_LISTED], "ok": not missing and not extra}


def slot_problems(facts: list[dict], functional: dict[tuple[str, str], bool], pruned: set[int] = frozenset()) -> dict:
    """Pure: over fact rows (dicts with id, namespace, subject, predicate, object, status, in_conflict,
    superseded_by_id), the slots breaking the one-active-value rule, duplicated active values, and
    supersede links to rows that neither exist nor were pruned."""
    by_id = {f["id"]: f for f in facts}
    active: dict[tuple, list[dict]] = defaultdict(list)
    for f in facts:
        if f["status"] == "active":
            active[(f["namespace"], f["subject"], f["predicate"])].append(f)
    multi, duplicates, conflicts = [], [], 0
    for (ns, subj, pred), rows in active.items():
        objects = Counter(r["object"] for r in rows)
        duplicates += [{"namespace": ns, "subject": subj, "predicate": pred, "object": o, "rows": c}
                       for o, c in objects.items() if c > 1]
        if len(rows) > 1 and functional.get((ns, pred), True):
            if all(r["in_conflict"] for r in rows):
                conflicts += 1  # a tie the rule could not break: visible to the audit, not corruption
            else:
                multi.append({"namespace": ns, "subject": subj, "predicate": pred, "ids": [r["id"] for r in rows]})
    dangling = [f["id"] for f in facts
                if f["superseded_by_id"] is not None and f["superseded_by_id"] not in by_id
                and f["superseded_by_id"] not in pruned]
    return {"slots": len(active), "multi_active": multi[:MAX_LISTED], "multi_active_count": len(multi),
            "duplicate_active": duplicates[:MAX_LISTED], "duplicate_active_count": len(duplicates),
            "flagged_conflicts": conflicts, "dangling_links": dangling[:MAX_LISTED],
            "dangling_links_count": len(dangling)}


def index_problems(sql_rows: dict[int, str], alive_keys: list[int], alive_status: dict[int, str],
                   wrong_vectors: list[int] = ()) -> dict:
    """Pure: the cache's alive keys must be exactly the SQL rows (key -> status), once each, same status,
    and (checked by the caller) the same vector as the row's stored embedding."""
    counts = Counter(alive_keys)
    dup = sorted(k for k, c in counts.items() if c > 1)
    keys = set(counts)
    missing = sorted(set(sql_rows) - keys)
    extra = sorted(keys - set(sql_rows))
    wrong = sorted(k for k in keys & set(sql_rows) if alive_status.get(k) != sql_rows[k])
    wrong_vectors = sorted(wrong_vectors)
    return {"sql_rows": len(sql_rows), "index_rows": len(alive_keys), "missing": missing[:MAX_LISTED],
            "extra": extra[:MAX_LISTED], "duplicate": dup[:MAX_LISTED], "wrong_status": wrong[:MAX_LISTED],
            "wrong_vector": wrong_vectors[:MAX_LISTED], "ok": not (missing or extra or dup or wrong or wrong_vectors)}


def _vector_mismatches(store, idx, namespace: str, keys: list[int]) -> list[int]:
    """Keys whose cached vector differs from the embedding stored with the SQL row."""
    stored: dict[int, np.ndarray] = {}
    with store.engine.connect() as conn:
        for kind, table in (("fact", F), ("note", N)):
            for r in conn.execute(select(table.c.id, table.c.embedding).where(table.c.namespace == namespace)):
                if r.embedding is not None:
                    stored[make_key(kind, r.id)] = np.frombuffer(r.embedding, dtype=np.float32)
    bad = []
    for key in keys:
        cached = idx.vector(key)
        if key in stored and (cached is None or not np.allclose(cached, stored[key], atol=1e-5)):
            bad.append(key)
    return bad


def _rows_of(store, namespaces: list[str]) -> tuple[list[dict], dict, list[int], dict[str, dict[int, str]], set]:
    facts_cols = (F.c.id, F.c.namespace, F.c.subject, F.c.predicate, F.c.object, F.c.status, F.c.in_conflict,
                  F.c.superseded_by_id)
    with store.engine.connect() as conn:  # one read transaction: a consistent snapshot on SQLite
        versions = [int(r[0]) for r in conn.execute(select(V.c.version).order_by(V.c.version))]
        facts = [dict(r._mapping) for r in conn.execute(select(*facts_cols).where(F.c.namespace.in_(namespaces)))]
        functional = {(r.namespace, r.predicate): bool(r.functional)
                      for r in conn.execute(select(P.c.namespace, P.c.predicate, P.c.functional))}
        sql_keys: dict[str, dict[int, str]] = {ns: {} for ns in namespaces}
        for f in facts:
            sql_keys[f["namespace"]][make_key("fact", f["id"])] = f["status"]
        for r in conn.execute(select(N.c.id, N.c.namespace, N.c.status).where(N.c.namespace.in_(namespaces))):
            sql_keys[r.namespace][make_key("note", r.id)] = r.status
        pruned = {int(i["id"]) for (affected,) in conn.execute(select(V.c.affected).where(V.c.op == "prune"))
                  for i in affected or [] if i.get("kind") == "fact"}
    for f in facts:
        f["in_conflict"] = bool(f["in_conflict"])
    return facts, functional, versions, sql_keys, pruned


def check_integrity(store, namespaces: list[str] | None = None, *, vectors: bool = True) -> dict:
    """Run every check; `ok` is True only when all pass. Namespaces default to all the store has.
    `vectors` also compares every cached vector with the embedding stored in SQL.
    Call it when no writer is running (a concurrent write can make SQL and the cache differ briefly)."""
    namespaces = sorted(namespaces or store.namespaces())
    facts, functional, versions, sql_keys, pruned = _rows_of(store, namespaces)
    codes = {code: name for name, code in STATUS_CODES.items()}
    index: dict[str, dict] = {}
    for ns in namespaces:
        idx = store.index(ns)
        with idx.lock:
            alive = [int(k) for k, a in zip(idx.keys.tolist(), idx.alive.tolist()) if a]
            status = {int(k): codes[int(s)] for k, s, a in zip(idx.keys.tolist(), idx.status.tolist(),
                                                                idx.alive.tolist()) if a}
            applied = idx.applied_version
            wrong_vectors = _vector_mismatches(store, idx, ns, alive) if vectors else []
        report = index_problems(sql_keys[ns], alive, status, wrong_vectors)
        report["applied_version"] = applied
        report["ok"] = report["ok"] and applied == (versions[-1] if versions else 0)
        index[ns] = report
    log = version_gaps(versions)
    slots = slot_problems(facts, functional, pruned)
    ok = (log["ok"] and slots["multi_active_count"] == 0 and slots["duplicate_active_count"] == 0
          and slots["dangling_links_count"] == 0 and all(r["ok"] for r in index.values()))
    return {"ok": ok, "namespaces": namespaces, "versions": log, "slots": slots, "index": index,
            "facts": len(facts), "notes": sum(1 for ns in namespaces for k in sql_keys[ns] if k % 2 == 1)}
