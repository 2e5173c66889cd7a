"""`agentcl bench store`: insert throughput against raw embedding throughput, search latency at 10k and
100k notes against the latency of embedding the query alone, and the approximate index's recall against
exact search. Both sides of each ratio are measured in the same run, interleaved, so the machine's noise
hits both alike.

Targets (issue 2): insert >= 0.9 x raw encode at the same batch size; search p50 <= 1.25 x query embed.
Issue 15: a streamed import of N notes (default 200,000) >= 0.9 x raw encode, with a peak RSS that does
not grow with the file (import_scale.py: N/2 and N, each in a fresh process).

The notes the searches run over are bulk-loaded through `write_notes(..., vectors=...)` (the store's
ordinary write path, with vectors computed by the same model); those vectors are cached on disk between
runs (`cache_dir`) because embedding 100,000 notes takes minutes on a CPU and is not what is measured."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from agentcl_bench.corpus import note_texts, query_texts
from agentcl_bench.import_scale import DEFAULT_NOTES as DEFAULT_IMPORT_NOTES
from agentcl_bench.import_scale import measure_import
from agentcl_bench.import_scale import summary_rows as import_rows
from agentcl_bench.machine import latency_summary, machine_info
from agentcl_bench.rows import summary_row

BATCH = 64
TARGET_INSERT_RATIO = 0.9
TARGET_SEARCH_RATIO = 1.25
FILL_CHUNK = 5000
QUICK = {"sizes": (2_000,), "insert_notes": 512, "queries": 50, "import_notes": 2_000, "versions": 3_000}
VERSIONS = 100_000  # history length for the as-of / valid-at reads (agentcl_bench.store_time)


def measure_insert(store, texts: list[str], *, namespace: str, batch: int = BATCH) -> dict:
    """Every batch goes through both a raw `encode` and a full `add_notes` (validation, embedding, SQL
    transaction, version record, search-cache update), in alternating order; throughputs and ratio."""
    embedder = store.embedder
    store.index(namespace)  # the cache is loaded, so each write also pays for updating it
    raw_s = store_s = 0.0
    n = 0
    for i in range(0, len(texts) - batch + 1, batch):
        chunk = texts[i:i + batch]
        for side in ((0, 1) if (i // batch) % 2 == 0 else (1, 0)):
            start = time.perf_counter()
            if side == 0:
                embedder.encode(chunk, batch_size=batch)
                raw_s += time.perf_counter() - start
            else:
                store.add_notes([{"text": x} for x in chunk], namespace=namespace, batch_size=batch)
                store_s += time.perf_counter() - start
        n += len(chunk)
    raw_rate, store_rate = n / raw_s, n / store_s
    return {"notes": n, "batch_size": batch, "raw_encode_per_s": round(raw_rate, 1),
            "store_insert_per_s": round(store_rate, 1), "ratio": round(store_rate / raw_rate, 3),
            "indexed": len(store.index(namespace))}


def corpus_vectors(embedder, n: int, *, seed: int = 0, cache_dir: Path | None = None) -> np.ndarray:
    """Vectors of note_texts(n, seed) (a prefix of any longer corpus with the same seed), cached on disk."""
    path = None
    have = np.zeros((0, embedder.dim), dtype=np.float32)
    if cache_dir is not None:
        path = Path(cache_dir) / f"corpus-{embedder.name}-seed{seed}.npy"
        if path.exists():
            have = np.load(path)
            if have.ndim != 2 or have.shape[1] != embedder.dim:
                have = np.zeros((0, embedder.dim), dtype=np.float32)
    if len(have) >= n:
        return have[:n]
    texts = note_texts(n, seed=seed)[len(have):]
    fresh = embedder.encode(texts, batch_size=256)
    out = np.vstack([have, fresh]).astype(np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npy")
        np.save(tmp, out)
        os.replace(tmp, path)
    return out


def fill(store, start: int, n: int, *, namespace: str, seed: int = 0, cache_dir: Path | None = None) -> float:
    """Bulk-load notes start..n of the corpus through the ordinary write path (vectors given); then
    bring the namespace's search cache up to date. Returns the seconds the store spent (not embedding)."""
    from memory_store.notes import validate_note_input

    texts = note_texts(n, seed=seed)
    vectors = corpus_vectors(store.embedder, n, seed=seed, cache_dir=cache_dir)
    began = time.perf_counter()
    for i in range(start, n, FILL_CHUNK):
        j = min(i + FILL_CHUNK, n)
        items = [validate_note_input(t, namespace=namespace) for t in texts[i:j]]
        store.write_notes(items, vectors=vectors[i:j], op="bench_fill")
    store.index(namespace)
    return time.perf_counter() - began


def measure_search(store, *, namespace: str, queries: list[str], k: int = 10) -> dict:
    """Per query, in alternating order: embed the query alone, and run the whole store.search."""
    embedder = store.embedder
    for q in queries[:5]:  # warm-up: caches, SQL statement cache
        store.search(q, namespace=namespace, k=k)
        embedder.encode([q])
    embed_s, search_s = [], []
    for i, q in enumerate(queries):
        for side in ((0, 1) if i % 2 == 0 else (1, 0)):
            start = time.perf_counter()
            if side == 0:
                embedder.encode([q])
                embed_s.append(time.perf_counter() - start)
            else:
                store.search(q, namespace=namespace, k=k)
                search_s.append(time.perf_counter() - start)
    embed, search = latency_summary(embed_s), latency_summary(search_s)
    extra = latency_summary([max(s - e, 0.0) for s, e in zip(search_s, embed_s)])
    idx = store.index(namespace)
    return {"notes": len(idx), "k": k, "index": "hnsw" if idx.approximate else "exact", "query_embed": embed,
            "search": search, "search_minus_embed": extra,
            "ratio_p50": round(search["p50_ms"] / embed["p50_ms"], 3),
            "ratio_p99": round(search["p99_ms"] / embed["p99_ms"], 3)}


def measure_dense_index(store, *, namespace: str, queries: list[str], k: int = 10) -> dict:
    """The namespace's FAISS index against exact inner-product search over the same vectors: recall@k of
    the approximate index, and the latency of each (dense search alone, no filter)."""
    import faiss

    idx = store.index(namespace)
    vectors = idx.index.reconstruct_n(0, idx.index.ntotal)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    q = store.embedder.encode(queries)
    keep = idx.mask(kinds=("fact", "note"), statuses=("active",), now=time.time(), include_expired=False)
    hits, t_exact, t_index = 0, [], []
    for row in q:
        start = time.perf_counter()
        _, pos = exact.search(row[None, :], k)
        t_exact.append(time.perf_counter() - start)
        start = time.perf_counter()
        approx = {key for key, _ in idx.dense_top(row, k, keep)}
        t_index.append(time.perf_counter() - start)
        hits += len({int(idx.keys[p]) for p in pos[0]} & approx)
    return {"notes": int(idx.index.ntotal), "index": "hnsw" if idx.approximate else "exact", "k": k,
            "recall_at_k": round(hits / (k * len(q)), 4), "exact_search": latency_summary(t_exact),
            "index_search": latency_summary(t_index)}



def summary_rows(result: dict) -> list[dict]:
    from agentcl_bench.store_time import summary_rows as time_rows

    ins = result["insert"]
    rows = [
        summary_row(f"insert notes/s (add_notes, batch {ins['batch_size']})", ins["store_insert_per_s"]),
        summary_row(f"raw encode notes/s (batch {ins['batch_size']})", ins["raw_encode_per_s"]),
        summary_row("insert / raw encode", ins["ratio"], f">= {TARGET_INSERT_RATIO}", ins["ratio"] >= TARGET_INSERT_RATIO),
    ]
    for entry in result["search"]:
        size = f"{entry['notes']:,} notes, {entry['index']}"
        rows.append(summary_row(f"search p50 / p99 ms ({size})",
                         f"{entry['search']['p50_ms']:.2f} / {entry['search']['p99_ms']:.2f}"))
        rows.append(summary_row(f"query embedding p50 / p99 ms ({size})",
                         f"{entry['query_embed']['p50_ms']:.2f} / {entry['query_embed']['p99_ms']:.2f}"))
        rows.append(summary_row(f"search p50 / query embedding p50 ({size})", entry["ratio_p50"],
                         f"<= {TARGET_SEARCH_RATIO}", entry["ratio_p50"] <= TARGET_SEARCH_RATIO))
        dense = entry["dense_index"]
        if dense["index"] != "exact":
            rows.append(summary_row(f"{dense['index'].upper()} recall@{dense['k']} vs exact ({size})", dense["recall_at_k"]))
            rows.append(summary_row(f"dense search p50 ms, exact / {dense['index'].upper()} ({size})",
                             f"{dense['exact_search']['p50_ms']:.2f} / {dense['index_search']['p50_ms']:.2f}"))
    if result.get("import"):
        rows += import_rows(result["import"])
    if "time_reads" in result:
        rows += time_rows(result["time_reads"], summary_row)
    return rows


def run_store_bench(*, sizes=(10_000, 100_000), insert_notes: int = 1536, queries: int = 200,
                    device: str | None = None, url: str | None = None, home: str | None = None,
                    quick: bool = False, batch_size: int = BATCH, cache_dir: str | Path | None = "default",
                    embedder=None, import_notes: int | None = None, versions: int | None = VERSIONS) -> dict:
    """The `agentcl bench store` result. `quick`: sizes (2,000,), 512 inserted notes, 50 queries (a smoke
    run). `url`: a database URL (default: SQLite in a temporary home). `cache_dir`: where the bulk-load
    vectors are cached ("default": <tmp>/agentcl-bench-cache; None: no cache). `import_notes`: the
    larger file of the streamed-import measurement (import_scale.py; default 200,000, quick 2,000; 0 skips).
    `versions`: history length for the as-of / valid-at reads (None: skip them)."""
    from memory_store import MemoryStore
    from memory_store.embedding import get_default_embedder
    from memory_store.errors import UserError

    if quick:
        sizes, insert_notes, queries = QUICK["sizes"], QUICK["insert_notes"], QUICK["queries"]
        import_notes = QUICK["import_notes"] if import_notes is None else import_notes
        versions = min(versions, QUICK["versions"]) if versions else versions
    import_notes = DEFAULT_IMPORT_NOTES if import_notes is None else import_notes
    if isinstance(import_notes, bool) or not isinstance(import_notes, int) or (0 < import_notes < 200) or import_notes < 0:
        raise UserError(f"import notes must be 0 (skip) or a whole number >= 200, got {import_notes!r}")
    sizes = tuple(sorted(set(sizes)))
    if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or s < 100 for s in sizes):
        raise UserError(f"store bench sizes must be whole numbers >= 100, got {list(sizes)!r}")
    if insert_notes < batch_size or queries < 1:
        raise UserError(f"insert_notes must be >= the batch size ({batch_size}) and queries >= 1")
    if cache_dir == "default":
        cache_dir = Path(tempfile.gettempdir()) / "agentcl-bench-cache"
    home = home or tempfile.mkdtemp(prefix="agentcl-bench-")
    embedder = embedder or get_default_embedder(device or "auto")
    store = MemoryStore.open(url, home=home, embedder=embedder)
    result = {"benchmark": "store", "machine": machine_info(embedder.device), "database": store.engine.dialect.name,
              "embedder": embedder.name, "seed": 0, "sizes": list(sizes), "batch_size": batch_size,
              "method": "insert: each batch both raw-encoded and add_notes'd, order alternating; search: each "
                        "query both embedded alone and searched (k=10, hybrid), order alternating"}
    try:
        embedder.encode(note_texts(batch_size), batch_size=batch_size)  # warm-up
        result["insert"] = measure_insert(store, note_texts(insert_notes, seed=7), namespace="bench-insert",
                                          batch=batch_size)
        qs = query_texts(queries)
        result["search"] = []
        have = 0
        for size in sizes:
            load_s = fill(store, have, size, namespace="bench-search", cache_dir=cache_dir)
            have = size
            entry = measure_search(store, namespace="bench-search", queries=qs)
            entry["bulk_load_s"] = round(load_s, 2)
            entry["dense_index"] = measure_dense_index(store, namespace="bench-search", queries=qs[:100])
            result["search"].append(entry)
        if versions:
            from agentcl_bench.store_time import run_time_reads

            result["time_reads"] = run_time_reads(store.url, home, dim=embedder.dim, versions=versions)
    finally:
        store.close()
    if import_notes:
        result["import"] = measure_import(import_notes, device=device or "auto")
    result["summary"] = summary_rows(result)
    return result
