"""`agentcl bench store`, reads of the past: facts as of a version (system time) and facts valid at a
world time, at a history of 100,000 versions, each against a current read in the same run (issue 16:
each <= 2 x the current read).

The history: `slots` facts superseded by a new value `rounds` times through the ordinary add_facts path
(one version per round), and single-row confidence changes between the rounds. The reads measured never
touch vectors, so the fill embeds with `HashVectors` (a deterministic stand-in with the store's
dimension, declared in the result) instead of spending minutes encoding text. The confidence changes
are written in bulk, `BULK` versions per statement (executemany): the same facts, versions and
fact_states rows one `adjust_confidence` per version writes (that equivalence is what
tests/memory/test_world_time.py checks against a replay of the log), in seconds instead of an hour of
single commits. Reads are calls of the public `facts(...)`, in rotating order."""
from __future__ import annotations

import hashlib
import random
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import bindparam, insert, select, update

from agentcl_bench.machine import latency_summary

TARGET_RATIO = 2.0
BULK = 1000  # versions per executemany (each touches a distinct fact)
BASE = datetime(2020, 1, 1, tzinfo=UTC)


class HashVectors:
    """Unit vectors derived from a hash of the text: what the fill stores as embeddings."""

    def __init__(self, dim: int):
        self.dim, self.name = dim, f"hash-vectors-{dim}"

    def encode(self, texts, *, batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha1(text.encode()).digest()[:4], "little")
            out[i] = np.random.default_rng(seed).standard_normal(self.dim)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def fill_history(store, *, namespace: str, versions: int, slots: int, rounds: int, seed: int = 0) -> dict:
    from memory_store import tables
    from memory_store.facts import validate_fact_input
    from memory_store.record_types import Fact
    from memory_store.states import OPEN, ROW_COLUMNS
    from memory_store.timeparse import utcnow
    from memory_store.versions import next_version

    F, S, V = tables.facts, tables.fact_states, tables.versions
    rng = random.Random(seed)
    began = time.perf_counter()
    per_gap = max(0, versions - store.current_version() - rounds) // rounds
    close = update(S).where(S.c.fact_id == bindparam("b_id"), S.c.to_version == OPEN).values(
        to_version=bindparam("b_v"))
    change = update(F).where(F.c.id == bindparam("b_id")).values(confidence=bindparam("b_c"),
                                                                  version=bindparam("b_v"))
    for r in range(rounds):
        items = [validate_fact_input(f"entity {i}", "status", f"value {r}", namespace=namespace,
                                     valid_from=BASE + timedelta(days=30 * r)) for i in range(slots)]
        store.add_facts(items, op="bench_round")
        with store.engine.connect() as conn:
            facts = [Fact.from_row(row) for row in conn.execute(select(F).where(F.c.namespace == namespace,
                                                                                F.c.status == "active"))]
        left = per_gap if r < rounds - 1 else versions - store.current_version()
        while left > 0:
            batch = rng.sample(facts, min(BULK, left, len(facts)))
            with store.ctx.transaction() as conn:
                first = next_version(conn)
                ids, versions_rows, states = [], [], []
                for offset, fact in enumerate(batch):
                    before = fact.to_dict()
                    fact.confidence, fact.version = round(rng.uniform(0.5, 1.0), 3), first + offset
                    after = fact.to_dict()
                    ids.append({"b_id": fact.id, "b_v": fact.version, "b_c": fact.confidence})
                    versions_rows.append({"version": fact.version, "at": utcnow(), "actor": "bench",
                                          "op": "adjust_confidence", "namespace": namespace,
                                          "affected": [{"kind": "fact", "id": fact.id}], "before": [before],
                                          "after": [after]})
                    row = {c: getattr(fact, "metadata" if c == "meta" else c) for c in ROW_COLUMNS}
                    states.append({"fact_id": fact.id, "from_version": fact.version, "to_version": OPEN, **row})
                conn.execute(close, ids)
                conn.execute(change, ids)
                conn.execute(insert(V), versions_rows)
                conn.execute(insert(S), states)
            left -= len(batch)
    return {"versions": store.current_version(), "slots": slots, "rounds": rounds,
            "fill_s": round(time.perf_counter() - began, 1), "fill_vectors": "hash-vectors (not read)"}


def measure_time_reads(store, *, namespace: str, reads: int, rounds: int, seed: int = 1) -> dict:
    """Per iteration, in rotating order: a current read, an as-of read at a random version and a
    valid-at read at a random world time inside the history."""
    rng = random.Random(seed)
    latest = store.current_version()
    span = timedelta(days=30 * rounds)
    calls = {
        "current": lambda: store.facts(namespace=namespace),
        "as_of": lambda: store.facts(namespace=namespace, as_of=rng.randint(1, latest)),
        "valid_at": lambda: store.facts(namespace=namespace, valid_at=BASE + span * rng.random()),
    }
    sizes = {name: len(fn()) for name, fn in calls.items()}  # warm-up, and what each read returns
    times: dict[str, list[float]] = {name: [] for name in calls}
    order = list(calls)
    for i in range(reads):
        for name in order[i % 3:] + order[:i % 3]:
            start = time.perf_counter()
            calls[name]()
            times[name].append(time.perf_counter() - start)
    out = {name: latency_summary(t) for name, t in times.items()}
    cur = out["current"]["p50_ms"]
    return {"reads": reads, "rows_returned": sizes, **out,
            "as_of_ratio_p50": round(out["as_of"]["p50_ms"] / cur, 3),
            "valid_at_ratio_p50": round(out["valid_at"]["p50_ms"] / cur, 3)}


def measure_log_replay(store, *, namespace: str) -> float:
    """Seconds of one as-of read the way it was answered before fact_states: replaying the log."""
    from memory_store.log_replay import fact_from_snapshot, rows_as_of

    start = time.perf_counter()
    version = store.current_version() // 2
    log = store.log(namespace=namespace, until=version, shared=True)
    [fact_from_snapshot(s) for s in rows_as_of(log, version, "fact").values() if s]
    return round(time.perf_counter() - start, 3)


def run_time_reads(url: str, home, *, dim: int, versions: int, slots: int = 1000, rounds: int = 5,
                   reads: int = 60, replay: bool = True) -> dict:
    """The history and the reads, in the bench's database (its own namespace) through a store that
    embeds with HashVectors."""
    from memory_store import MemoryStore

    namespace = "bench-time"
    with MemoryStore.open(url, home=home, embedder=HashVectors(dim)) as store:
        return _fill_and_read(store, namespace=namespace, versions=versions, slots=slots, rounds=rounds,
                              reads=reads, replay=replay)


def _fill_and_read(store, *, namespace, versions, slots, rounds, reads, replay) -> dict:
    result = fill_history(store, namespace=namespace, versions=versions, slots=slots, rounds=rounds)
    result.update(measure_time_reads(store, namespace=namespace, reads=reads, rounds=rounds))
    if replay:
        result["log_replay_as_of_s"] = measure_log_replay(store, namespace=namespace)
    return result


def summary_rows(entry: dict, row) -> list[dict]:
    size = f"{entry['versions']:,} versions, {entry['rows_returned']['current']:,} rows"
    rows = [row(f"current read p50 ms ({size})", entry["current"]["p50_ms"]),
            row(f"as-of read p50 ms ({size})", entry["as_of"]["p50_ms"]),
            row(f"valid-at read p50 ms ({size})", entry["valid_at"]["p50_ms"]),
            row("as-of p50 / current p50", entry["as_of_ratio_p50"], f"<= {TARGET_RATIO}",
                entry["as_of_ratio_p50"] <= TARGET_RATIO),
            row("valid-at p50 / current p50", entry["valid_at_ratio_p50"], f"<= {TARGET_RATIO}",
                entry["valid_at_ratio_p50"] <= TARGET_RATIO)]
    if "log_replay_as_of_s" in entry:
        rows.append(row("as-of by log replay (before fact_states), s", entry["log_replay_as_of_s"]))
    return rows
