"""A spot check of a loaded search cache against SQL, the source of truth: the vectors the cache holds
for its newest rows and for a random sample of the others must be the vectors SQL stores for them.
The file checksums (memory_store.index_files) catch damage after a save; this catches a cache whose
files are intact but whose content is not what this database holds. One query by primary key."""
from __future__ import annotations

import numpy as np
from sqlalchemy import bindparam, select

from . import tables
from .index_keys import split_key
from .vector_index import NamespaceIndex

NEWEST = 16  # the rows a crash or a partial write would have touched last
SAMPLED = 48
BY_ID = {kind: select(table.c.id, table.c.namespace, table.c.embedding)
         .where(table.c.id.in_(bindparam("ids", expanding=True)))
         for kind, table in (("fact", tables.facts), ("note", tables.notes))}


def sample_positions(idx: NamespaceIndex, *, seed: int = 0) -> np.ndarray:
    alive = np.flatnonzero(idx.alive)
    if len(alive) <= NEWEST + SAMPLED:
        return alive
    rng = np.random.default_rng(seed)
    return np.concatenate([alive[-NEWEST:], rng.choice(alive[:-NEWEST], SAMPLED, replace=False)])


def mismatch(idx: NamespaceIndex, conn, namespace: str) -> str | None:
    """None when the sampled vectors equal SQL's; else what differs, for the warning."""
    positions = sample_positions(idx)
    if not len(positions):
        return None
    wanted: dict[str, list[int]] = {"fact": [], "note": []}
    for key in idx.keys[positions].tolist():
        kind, row_id = split_key(key)
        wanted[kind].append(row_id)
    stored = {}
    for kind, ids in wanted.items():
        if ids:
            for r in conn.execute(BY_ID[kind], {"ids": ids}):
                if r.namespace == namespace and r.embedding is not None:
                    stored[(kind, r.id)] = np.frombuffer(r.embedding, dtype=np.float32)
    cached = idx.index.reconstruct_batch(positions)
    for pos, vector in zip(positions.tolist(), cached):
        key = split_key(int(idx.keys[pos]))
        truth = stored.get(key)
        if truth is None:
            return f"{key[0]} {key[1]} is in the cache but not in this namespace in SQL"
        if truth.shape != vector.shape or not np.allclose(truth, vector, atol=1e-5):
            return f"the vector of {key[0]} {key[1]} differs from SQL's"
    return None
