"""The pieces of a streamed note import: batches of lines, which of them the namespace already holds,
and the staging file that keeps their vectors on disk (not in memory) between embedding, done outside
the write lock, and writing, done inside one transaction."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import numpy as np
from sqlalchemy import select

from . import tables
from .normalize import MAX_WHOLE

BULK_BATCH = 512  # lines per batch: bounded memory, few round trips
N = tables.notes


def is_streamed(line) -> bool:
    """Active notes are streamed; everything else (facts, policies, aliases, restored history) is small."""
    return line.kind == "note" and line.status == "active"


def batches(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def present_positions(conn, namespace: str, lines: list) -> set[int]:
    """Positions of note lines the namespace already holds: the same external id (a message id), or an
    exported row whose id it holds with the same text (the store's own export imported back)."""
    external = {ln.item.external_id for ln in lines if ln.item.external_id}
    ids = {ln.links["id"] for ln in lines if ln.links.get("id") is not None and 0 < ln.links["id"] <= MAX_WHOLE}
    have_external = {r[0] for r in conn.execute(select(N.c.external_id).where(
        N.c.namespace == namespace, N.c.external_id.in_(external)))} if external else set()
    have_ids = {r.id: r.text for r in conn.execute(select(N.c.id, N.c.text).where(
        N.c.namespace == namespace, N.c.id.in_(ids)))} if ids else {}
    return {i for i, ln in enumerate(lines)
            if (ln.item.external_id and ln.item.external_id in have_external)
            or (ln.links.get("id") is not None and have_ids.get(ln.links["id"]) == ln.item.text)}


class StagedVectors:
    """float32 rows appended to a file and read back in order, a batch at a time."""

    def __init__(self, path: Path, dim: int):
        self.path, self.dim = path, dim
        self._out = open(path, "wb")  # noqa: SIM115 (closed by finish)

    def append(self, vectors: np.ndarray) -> None:
        self._out.write(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())

    def finish(self) -> None:
        self._out.close()

    def read_batches(self, size: int) -> Iterator[np.ndarray]:
        row = self.dim * 4
        with open(self.path, "rb") as fh:
            while chunk := fh.read(size * row):
                yield np.frombuffer(chunk, dtype=np.float32).reshape(-1, self.dim)
