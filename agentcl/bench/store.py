"""`agentcl bench store`: insert throughput against raw embedding throughput, and search latency at
10k/100k notes against the latency of embedding the query alone. Both sides of each ratio are measured
in the same run, interleaved, so the machine's noise hits both alike.

Targets (issue 2): insert >= 0.9 x raw encode at the same batch size; search p50 <= 1.25 x query embed."""
from __future__ import annotations

import tempfile
import time

import numpy as np

from agentcl.bench.corpus import note_texts, query_texts
from agentcl.bench.machine import latency_summary, machine_info

BATCH = 64


def measure_insert(store, texts: list[str], *, namespace: str) -> dict:
    """Alternate, batch by batch, a raw encode of one batch and a full add_notes of the next, so noise
    from a shared machine falls on both sides alike; report both throughputs and their ratio."""
    embedder = store.embedder
    raw_s = store_s = 0.0
    raw_n = store_n = 0
    batches = [texts[i:i + BATCH] for i in range(0, len(texts) - BATCH + 1, BATCH)]
    for i, batch in enumerate(batches):
        t = time.perf_counter()
        if i % 2 == 0:
            embedder.encode(batch, batch_size=BATCH)
            raw_s += time.perf_counter() - t
            raw_n += len(batch)
        else:
            store.add_notes([{"text": x} for x in batch], namespace=namespace)
            store_s += time.perf_counter() - t
            store_n += len(batch)
    raw_rate, store_rate = raw_n / raw_s, store_n / store_s
    return {"notes": store_n, "batch_size": BATCH, "raw_encode_per_s": round(raw_rate, 1),
            "store_insert_per_s": round(store_rate, 1), "ratio": round(store_rate / raw_rate, 3)}


def fill(store, n: int, *, namespace: str, seed: int = 0) -> None:
    """Bulk-load n notes through the ordinary write path, reusing vectors computed once (and cached)."""
    from memory_store.notes import validate_note_input

    have = len(store.notes(namespace=namespace)) if n <= 20_000 else store.index(namespace).__len__()
    texts = note_texts(n, seed=seed)[have:]
    for i in range(0, len(texts), 4096):
        chunk = texts[i:i + 4096]
        vectors = store.embedder.encode(chunk, batch_size=BATCH)
        items = [validate_note_input(t, namespace=namespace) for t in chunk]
        store.write_notes(items, vectors=vectors, op="bench_fill")


def measure_search(store, *, namespace: str, queries: list[str], k: int = 10) -> dict:
    embedder = store.embedder
    store.search(queries[0], namespace=namespace, k=k)  # warm the cache (load/catch-up is not a query)
    embed_s, search_s = [], []
    for q in queries:
        t = time.perf_counter()
        embedder.encode([q])
        embed_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.search(q, namespace=namespace, k=k)
        search_s.append(time.perf_counter() - t)
    embed, search = latency_summary(embed_s), latency_summary(search_s)
    idx = store.index(namespace)
    return {"notes": len(idx), "index": "hnsw" if idx.approximate else "exact", "query_embed": embed,
            "search": search, "ratio_p50": round(search["p50_ms"] / embed["p50_ms"], 3)}


def measure_recall(store, *, namespace: str, queries: list[str], k: int = 10) -> dict:
    """Recall@k of the namespace's dense index against exact inner-product search over the same vectors."""
    idx = store.index(namespace)
    if not idx.approximate:
        return {"index": "exact", "recall_at_k": 1.0, "k": k}
    vectors = idx.index.reconstruct_n(0, idx.index.ntotal)
    q = store.embedder.encode(queries)
    keep = idx.mask(kinds=("fact", "note"), statuses=("active",), now=time.time(), include_expired=False)
    hits = 0
    for row in q:
        exact = set(idx.keys[np.argsort(-(vectors @ row))[:k]].tolist())
        approx = {key for key, _ in idx.dense_top(row, k, keep)}
        hits += len(exact & approx)
    return {"index": "hnsw", "recall_at_k": round(hits / (k * len(q)), 4), "k": k}


def run_store_bench(*, sizes=(10_000, 100_000), insert_notes: int = 1536, queries: int = 200,
                    device: str | None = None, url: str | None = None, home: str | None = None) -> dict:
    from memory_store import MemoryStore
    from memory_store.embedding import get_default_embedder

    home = home or tempfile.mkdtemp(prefix="agentcl-bench-")
    embedder = get_default_embedder(device or "auto")
    store = MemoryStore.open(url, home=home, embedder=embedder)
    result = {"benchmark": "store", "machine": machine_info(embedder.device), "database": store.engine.dialect.name,
              "embedder": embedder.name, "seed": 0}
    try:
        embedder.encode(note_texts(64), batch_size=BATCH)  # warm-up
        result["insert"] = measure_insert(store, note_texts(insert_notes, seed=7), namespace="bench-insert")
        qs = query_texts(queries)
        result["search"] = []
        for size in sorted(sizes):
            fill(store, size, namespace="bench-search")
            entry = measure_search(store, namespace="bench-search", queries=qs)
            entry["dense_recall"] = measure_recall(store, namespace="bench-search", queries=qs[:100])
            result["search"].append(entry)
    finally:
        store.close()
    return result
