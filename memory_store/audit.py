"""Audit: what in memory needs a person's (or the explore stage's) attention.

The rules are pure functions over Fact/Note records; `run_audit` only gathers the inputs."""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from .record_types import Fact

LOW_CONFIDENCE = 0.5
NEAR_DUPLICATE_COSINE = 0.95
MAX_DUPLICATE_SCAN = 20_000  # rows; beyond this near-duplicates are checked on the newest rows only


@dataclass
class AuditReport:
    namespace: str
    conflicts: list[dict] = field(default_factory=list)
    expired_present: list[dict] = field(default_factory=list)
    near_duplicates: list[dict] = field(default_factory=list)
    low_confidence: list[dict] = field(default_factory=list)
    at_risk: list[dict] = field(default_factory=list)
    change_intervals: dict[str, float] = field(default_factory=dict)  # predicate -> seconds
    # every active fact with the probability it changed since last validated (memory_store/volatility.py)
    stale_risk: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @property
    def total(self) -> int:
        return sum(len(v) for v in (self.conflicts, self.expired_present, self.near_duplicates,
                                    self.low_confidence, self.at_risk))


def conflicts(active: list[Fact], functional: dict[str, bool]) -> list[dict]:
    """Slots of functional predicates holding more than one active value (ties the rule could not break)."""
    slots: dict[tuple, list[Fact]] = defaultdict(list)
    for f in active:
        if functional.get(f.predicate, True):
            slots[(f.subject, f.predicate)].append(f)
    return [{"subject": s, "predicate": p, "values": [f.object for f in fs], "ids": [f.id for f in fs]}
            for (s, p), fs in sorted(slots.items()) if len(fs) > 1]


def change_intervals(facts: list[Fact]) -> dict[str, timedelta]:
    """Per predicate, the median time a value stayed valid before it was superseded (the store's own history)."""
    spans: dict[str, list[float]] = defaultdict(list)
    for f in facts:
        if f.status == "superseded" and f.valid_to is not None and f.valid_to > f.valid_from:
            spans[f.predicate].append((f.valid_to - f.valid_from).total_seconds())
    return {p: timedelta(seconds=statistics.median(v)) for p, v in spans.items() if v}


def at_risk(active: list[Fact], intervals: dict[str, timedelta], now: datetime) -> list[dict]:
    """Active facts not re-validated for longer than their predicate typically stays unchanged."""
    out = []
    for f in active:
        interval = intervals.get(f.predicate)
        if interval is None:
            continue
        checked = max(t for t in (f.last_validated_at, f.valid_from) if t is not None)  # world time only
        age = now - checked
        if age > interval:
            out.append({"id": f.id, "subject": f.subject, "predicate": f.predicate, "object": f.object,
                        "unchecked_for_s": age.total_seconds(), "typical_change_s": interval.total_seconds()})
    return out


def near_duplicates(ids: list[tuple[str, int]], vectors: np.ndarray, texts: list[str],
                    threshold: float = NEAR_DUPLICATE_COSINE) -> list[dict]:
    """Pairs of memories whose embeddings are nearly identical (cosine >= threshold)."""
    out = []
    if len(ids) < 2:
        return out
    for start in range(0, len(ids), 1024):
        block = vectors[start:start + 1024] @ vectors.T
        for i_local, row in enumerate(block):
            i = start + i_local
            for j in np.flatnonzero(row[i + 1:] >= threshold) + i + 1:
                out.append({"a": {"kind": ids[i][0], "id": ids[i][1], "text": texts[i]},
                            "b": {"kind": ids[j][0], "id": ids[j][1], "text": texts[j]},
                            "cosine": round(float(row[j]), 4)})
    return out
