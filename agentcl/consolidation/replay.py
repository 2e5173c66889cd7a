"""A persistent replay buffer of training examples (vector, label, key), reservoir or class-balanced.

Examples carry a `key` (a fact slot "namespace|subject|predicate" or "skill:<name>") so that when a
fact is superseded `remove_where(key)` drops its examples: stale data is never replayed. Vectors live
in safetensors, everything else in JSON; both are written atomically (tmp + os.replace).
"""
from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

POLICIES = ("reservoir", "class_balanced")


@dataclass
class ReplayItem:
    label: str | int  # the class name class-balancing counts (saved as is); see class_label
    key: str = ""
    kind: str = ""
    text: str = ""


def class_label(kind: str, value: str) -> str:
    """The class name of a consolidation example of class (kind, value), as the buffer keeps and saves it."""
    return f"{kind}:{value}"


def replay_class(item: ReplayItem) -> tuple[str, str]:
    """The (kind, value) class of a consolidation example in the buffer: its typed `kind` and the value
    its class name (class_label) carries. An item saved without a kind (older buffers) is read from
    the class name alone."""
    label = str(item.label)
    if item.kind and label.startswith(f"{item.kind}:"):
        return item.kind, label[len(item.kind) + 1:]
    kind, _, value = label.partition(":")  # legacy reader
    return kind, value


class ReplayBuffer:
    """Fixed-capacity buffer. `reservoir` keeps a uniform sample of everything seen; `class_balanced`
    (CBRS, Chrysakis & Moens 2020) evicts from the largest class so rare classes keep their share."""

    def __init__(self, *, capacity: int = 2000, policy: str = "class_balanced", seed: int = 0):
        if policy not in POLICIES:
            raise ValueError(f"unknown replay policy {policy!r}; use one of {POLICIES}")
        if capacity < 0:
            raise ValueError("replay capacity must be >= 0")
        self.capacity, self.policy, self.seed = capacity, policy, seed
        self.seen = 0
        self.class_seen: dict = {}
        self.items: list[ReplayItem] = []
        self._vec: np.ndarray | None = None
        self._members: dict = {}  # label -> set of slots, kept in step with items
        self._by_size: dict[int, set] = {}  # class size -> labels of that size, for O(1) "largest class"
        self._max = 0
        self._rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def vectors(self) -> np.ndarray:
        if self._vec is None:
            return np.zeros((0, 0), dtype=np.float32)
        return self._vec[: len(self.items)]

    # -- adding ---------------------------------------------------------------------------------
    def add(self, vectors: np.ndarray, items: Iterable[ReplayItem]) -> int:
        """Offer examples to the buffer; returns how many were stored (the policy may decline some)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        stored = 0
        for row, item in zip(vectors, items):
            self.seen += 1
            self.class_seen[item.label] = self.class_seen.get(item.label, 0) + 1
            if self.capacity == 0:
                continue
            if len(self.items) < self.capacity:
                self._ensure(row.shape[0])
                self._vec[len(self.items)] = row
                self.items.append(item)
                self._join(item.label, len(self.items) - 1)
                stored += 1
                continue
            slot = self._reservoir_slot() if self.policy == "reservoir" else self._balanced_slot(item.label)
            if slot is not None:
                self._put(slot, row, item)
                stored += 1
        return stored

    def _ensure(self, dim: int) -> None:
        if self._vec is None or self._vec.shape[1] != dim:
            self._vec = np.zeros((self.capacity, dim), dtype=np.float32)

    def _put(self, slot: int, row: np.ndarray, item: ReplayItem) -> None:
        self._leave(self.items[slot].label, slot)
        self._vec[slot] = row
        self.items[slot] = item
        self._join(item.label, slot)

    def _join(self, label, slot: int) -> None:
        members = self._members.setdefault(label, set())
        size = len(members)
        if size:
            self._by_size[size].discard(label)
        members.add(slot)
        self._by_size.setdefault(size + 1, set()).add(label)
        self._max = max(self._max, size + 1)

    def _leave(self, label, slot: int) -> None:
        members = self._members[label]
        size = len(members)
        members.discard(slot)
        self._by_size[size].discard(label)
        if size > 1:
            self._by_size.setdefault(size - 1, set()).add(label)
        else:
            del self._members[label]
        while self._max > 0 and not self._by_size.get(self._max):
            self._max -= 1

    def _reservoir_slot(self) -> int | None:
        slot = self._rng.randrange(self.seen)
        return slot if slot < self.capacity else None

    def _balanced_slot(self, label) -> int | None:
        own = self._members.get(label, set())
        if len(own) < self._max:
            victim = next(iter(self._by_size[self._max]))  # any of the largest classes
            return self._rng.choice(sorted(self._members[victim]))
        # The newcomer's class is (one of) the largest: reservoir-sample within the class.
        if own and self._rng.random() < len(own) / self.class_seen[label]:
            return self._rng.choice(sorted(own))
        return None

    # -- removing -------------------------------------------------------------------------------
    def remove_where(self, key: str | Callable[[ReplayItem], bool]) -> int:
        """Drop examples whose key equals `key` (or for which the predicate is true); returns the count."""
        match = key if callable(key) else (lambda it, k=key: it.key == k)
        keep = [i for i, it in enumerate(self.items) if not match(it)]
        removed = len(self.items) - len(keep)
        if removed:
            vec = self.vectors[keep].copy()
            self.items = [self.items[i] for i in keep]
            if self._vec is not None:
                self._vec[: len(keep)] = vec
            self._rebuild_members()
        return removed

    def _rebuild_members(self) -> None:
        self._members, self._by_size, self._max = {}, {}, 0
        for i, it in enumerate(self.items):
            self._join(it.label, i)

    # -- reading --------------------------------------------------------------------------------
    def arrays(self) -> tuple[np.ndarray, list]:
        """All stored vectors and labels."""
        return self.vectors, [it.label for it in self.items]

    def class_counts(self) -> dict:
        return {label: len(slots) for label, slots in self._members.items()}

    # -- persistence ----------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> None:
        from safetensors.numpy import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "capacity": self.capacity, "policy": self.policy, "seed": self.seed, "seen": self.seen,
            "class_seen": [[k, v] for k, v in self.class_seen.items()],
            "items": [[it.label, it.key, it.kind, it.text] for it in self.items],
        }
        tmp = directory / "replay.safetensors.tmp"
        save_file({"vectors": np.ascontiguousarray(self.vectors, dtype=np.float32)}, str(tmp))
        os.replace(tmp, directory / "replay.safetensors")
        tmp = directory / "replay.json.tmp"
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, directory / "replay.json")

    @classmethod
    def load(cls, directory: str | os.PathLike, *, capacity: int | None = None, policy: str | None = None,
             seed: int = 0) -> ReplayBuffer:
        """Load a saved buffer, or an empty one when none was saved. A smaller capacity trims it."""
        from safetensors.numpy import load_file

        from memory_store.file_reads import read_json, reading, require_file

        directory = Path(directory)
        meta_path, vec_path = directory / "replay.json", directory / "replay.safetensors"
        if not meta_path.exists() and not vec_path.exists():
            return cls(capacity=2000 if capacity is None else capacity, policy=policy or "class_balanced", seed=seed)
        # the two files are saved together: one without the other is damage, not "no buffer"
        meta = read_json(require_file(meta_path))
        with reading(meta_path):
            buf = cls(capacity=meta["capacity"] if capacity is None else capacity,
                      policy=policy or meta["policy"], seed=meta.get("seed", seed))
            buf.seen = int(meta.get("seen", 0))
            buf._rng = random.Random(buf.seed + buf.seen)
            buf.class_seen = {k: v for k, v in meta.get("class_seen", [])}
            items = [ReplayItem(*row) for row in meta["items"]]
        with reading(require_file(vec_path)):
            vectors = load_file(str(vec_path))["vectors"]
            if items and (vectors.ndim != 2 or len(vectors) != len(items)):
                raise ValueError(f"{len(vectors)} vectors for {len(items)} items")
        if len(items) > buf.capacity:
            keep = sorted(buf._rng.sample(range(len(items)), buf.capacity))
            items, vectors = [items[i] for i in keep], vectors[keep]
        if items:
            buf._ensure(vectors.shape[1])
            buf._vec[: len(items)] = vectors
        buf.items = items
        buf._rebuild_members()
        return buf
