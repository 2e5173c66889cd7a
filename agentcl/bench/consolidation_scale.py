"""How long consolidating 100,000 validated memories takes.

The facts are written through the real MemoryStore (SQLite, versioned, indexed) with a fast synthetic
embedder (hashed bag of tokens, random projection; 384-d, L2-normalised) standing in for MiniLM, so
inserting 100k rows does not take an hour of CPU encoding. Consolidation then runs exactly as in
production with `phrasings=0`: every example is a vector the store already holds (no re-encoding)."""
from __future__ import annotations

import tempfile
import time
import zlib

import numpy as np

PREDICATES = ["ceo", "hq city", "sector", "founded", "auditor", "bank", "cto", "ticker exchange", "parent", "motto"]
VALUES_PER_PREDICATE = 50


class HashingEmbedder:
    """Deterministic bag-of-tokens embedding: each token maps to a fixed random unit vector."""

    name = "hashing-384"

    def __init__(self, dim: int = 384):
        self.dim = dim
        self._cache: dict[str, np.ndarray] = {}

    def _token(self, tok: str) -> np.ndarray:
        vec = self._cache.get(tok)
        if vec is None:
            rng = np.random.default_rng(zlib.crc32(tok.encode()))
            vec = rng.standard_normal(self.dim).astype(np.float32)
            self._cache[tok] = vec
        return vec

    def encode(self, texts, *, batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for tok in str(text).lower().replace("?", " ").split():
                out[i] += self._token(tok)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


def _facts(n: int, seed: int):
    from memory_store.facts import validate_fact_input

    rng = np.random.default_rng(seed)
    entities = (n + len(PREDICATES) - 1) // len(PREDICATES)
    for i in range(n):
        entity, pred = divmod(i, len(PREDICATES))
        value = f"{PREDICATES[pred].split()[0]}_value_{int(rng.integers(VALUES_PER_PREDICATE))}"
        yield validate_fact_input(f"entity {entity:06d} of {entities}", PREDICATES[pred], value)


def run_consolidation_scale(n: int = 100_000, device: str | None = None, *, seed: int = 0, chunk: int = 5000,
                            epochs: int = 3, batch_size: int = 256, cpu_threads: int | None = 1) -> dict:
    """Insert `n` validated facts, then time one full consolidation (select, examples, train with replay,
    probe, gate, checkpoint). Returns absolute times and the rate per 1k memories."""
    from agentcl.bench.machine import machine_info
    from agentcl.consolidation import ConsolidationConfig, consolidate
    from memory_store import MemoryStore
    from memory_store.embedding import resolve_device

    device = resolve_device(device or "auto")
    home = tempfile.mkdtemp(prefix="agentcl-scale-")
    store = MemoryStore.open(None, home=home, embedder=HashingEmbedder())
    started = time.perf_counter()
    batch = []
    for item in _facts(n, seed):
        batch.append(item)
        if len(batch) == chunk:
            store.add_facts(batch)
            batch = []
    if batch:
        store.add_facts(batch)
    insert_s = time.perf_counter() - started
    cfg = ConsolidationConfig(phrasings=0, use_stored_vectors=True, epochs=epochs, batch_size=batch_size,
                              replay_size=5000, seed=seed, cpu_threads=cpu_threads)
    started = time.perf_counter()
    report = consolidate(store, device=device, config=cfg)
    seconds = time.perf_counter() - started
    # a second run with nothing new: the cost of a scheduled no-op
    started = time.perf_counter()
    idle = consolidate(store, device=device, config=cfg)
    idle_s = time.perf_counter() - started
    store.close()
    return {
        "bench": "consolidation_scale",
        "memories": n,
        "device": device,
        "embedder": "hashing-384 (synthetic, stored vectors reused; no re-encoding)",
        "config": {"epochs": epochs, "batch_size": batch_size, "replay_size": 5000, "phrasings": 0,
                   "cpu_threads": cpu_threads},
        "seed": seed,
        "machine": machine_info(device),
        "insert_seconds": round(insert_s, 2),
        "consolidate_seconds": round(seconds, 2),
        "train_seconds": report.train_seconds,
        "seconds_per_1k_memories": round(seconds / max(n / 1000, 1e-9), 3),
        "target_seconds": 600,
        "within_target": seconds <= 600,
        "idle_run_seconds": round(idle_s, 2),
        "report": {k: report.to_dict()[k] for k in ("examples", "new_facts", "promoted", "reason", "accuracy",
                                                     "buffer_size", "replayed")},
        "idle_reason": idle.reason,
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run_consolidation_scale(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000), indent=2,
                     default=str))
