"""What consolidation remembers between runs.

`ConsolidationState` is what the active model has learned (slots, usages, probe sets and their vectors,
accuracy matrix, per-skill best accuracy); it is saved inside each promoted checkpoint, beside the
replay buffer and the strategy's tensors (see persist.py), so it always describes its own model.
`RunLog` (latest probe findings, recent runs) is per namespace, under
AGENTCL_HOME/consolidation/<namespace_dirname(namespace)>/runs.json, beside the lock file."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


def state_dir(home=None, namespace: str = "default", *, create: bool = True) -> Path:
    from memory_store.config import agentcl_home
    from memory_store.paths import namespace_path

    return namespace_path(agentcl_home(home) / "consolidation", namespace, create=create)


@dataclass
class ProbeItem:
    kind: str
    key: str
    label: str
    text: str
    row: int  # row of its vector in probes.safetensors


@dataclass
class ConsolidationState:
    store_url: str = ""
    rounds: int = 0
    last_run_at: str | None = None
    slots: dict = field(default_factory=dict)        # slot key -> {"value", "fact_id", "subject", "predicate"}
    usages_seen: list = field(default_factory=list)  # ids/fingerprints of usages already learned
    probe_sets: list = field(default_factory=list)   # [[ProbeItem as dict, ...] per round]
    matrix: list = field(default_factory=list)       # accuracy matrix, round x probe set
    skill_best: dict = field(default_factory=dict)   # skill -> best probe accuracy of promoted rounds
    probe_vectors: np.ndarray | None = None

    def items(self, round_index: int) -> list[ProbeItem]:
        return [ProbeItem(**d) for d in self.probe_sets[round_index]]

    def add_probe_set(self, items: list[tuple[str, str, str, str]], vectors: np.ndarray) -> int:
        """Append a probe set (kind, key, label, text) with its vectors; returns its index."""
        start = 0 if self.probe_vectors is None else len(self.probe_vectors)
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(items):
            self.probe_vectors = vectors if self.probe_vectors is None else np.vstack([self.probe_vectors, vectors])
        self.probe_sets.append([asdict(ProbeItem(k, key, lab, txt, start + i))
                                for i, (k, key, lab, txt) in enumerate(items)])
        return len(self.probe_sets) - 1

    def drop_probe_keys(self, keys: set[str]) -> int:
        """Remove probe items of superseded slots from every set (their old answer is no longer right)."""
        removed = 0
        for j, items in enumerate(self.probe_sets):
            kept = [d for d in items if d["key"] not in keys]
            removed += len(items) - len(kept)
            self.probe_sets[j] = kept
        return removed

    def vectors_of(self, items: list[ProbeItem]) -> np.ndarray:
        if not items or self.probe_vectors is None:
            return np.zeros((0, 0), dtype=np.float32)
        return self.probe_vectors[[it.row for it in items]]

    # -- persistence ----------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        from safetensors.numpy import save_file

        data = {k: v for k, v in asdict(self).items() if k != "probe_vectors"}
        vec = self.probe_vectors if self.probe_vectors is not None else np.zeros((0, 0), dtype=np.float32)
        tmp = directory / "probes.safetensors.tmp"
        save_file({"vectors": np.ascontiguousarray(vec, dtype=np.float32)}, str(tmp))
        os.replace(tmp, directory / "probes.safetensors")
        tmp = directory / "state.json.tmp"
        tmp.write_text(json.dumps(data, default=str))
        os.replace(tmp, directory / "state.json")

    @classmethod
    def load(cls, directory: Path) -> ConsolidationState:
        """The state saved in `directory` (an empty one when none was). state.json and probes.safetensors
        are saved together: either unreadable, the vectors missing while probes name rows, or rows beyond
        the vectors is a DamagedFileError naming the file."""
        from safetensors.numpy import load_file

        from memory_store.file_reads import read_json, reading, require_file

        path = directory / "state.json"
        if not path.exists():
            return cls()
        data = read_json(path)
        with reading(path):  # fields of the wrong type fail here, not in the middle of a run
            state = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
            rows = _probe_rows(state)
        vec_path = directory / "probes.safetensors"
        if not rows and not vec_path.exists():
            return state
        with reading(require_file(vec_path)):
            vec = load_file(str(vec_path))["vectors"]
            if rows and (vec.ndim != 2 or max(rows) >= len(vec)):
                raise ValueError(f"{len(vec)} vectors for probe rows up to {max(rows)}")
        state.probe_vectors = vec if vec.size else None
        return state


def _probe_rows(state: ConsolidationState) -> list[int]:
    """The vector rows of every probe item; TypeError/ValueError when a field has the wrong shape."""
    for name, kind in (("slots", dict), ("skill_best", dict), ("usages_seen", list), ("matrix", list),
                       ("probe_sets", list)):
        if not isinstance(getattr(state, name), kind):
            raise TypeError(f"{name} is not a {kind.__name__}")
    return [ProbeItem(**d).row for items in state.probe_sets for d in items]


@dataclass
class RunLog:
    """Per-namespace record of runs, promoted or not: what the latest probes found and a short history."""
    last_run_at: str | None = None
    findings: dict = field(default_factory=dict)
    history: list = field(default_factory=list)

    @classmethod
    def load(cls, directory: Path) -> RunLog:
        from memory_store.file_reads import read_json, reading

        path = directory / "runs.json"
        if not path.exists():
            path = directory / "state.json"  # written by an earlier version (one file for everything)
            if not path.exists():
                return cls()
        data = read_json(path)
        with reading(path):
            log = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
            log.history, log.findings = list(log.history), dict(log.findings)
        return log

    def record(self, entry: dict, *, keep: int = 50) -> None:
        self.last_run_at = entry.get("at")
        self.history = (self.history + [entry])[-keep:]

    def save(self, directory: Path) -> None:
        tmp = directory / "runs.json.tmp"
        tmp.write_text(json.dumps(asdict(self), default=str))
        os.replace(tmp, directory / "runs.json")


def latest_findings(home=None, namespace: str = "default") -> dict:
    """What the latest probes found (for `memory audit`): stale slots, slots where the model disagrees
    with the store, forgotten skills, per-skill probe accuracy, the checkpoint probed and when.
    Empty when consolidation never ran."""
    directory = state_dir(home, namespace, create=False)
    if not directory.exists():
        return {}
    return RunLog.load(directory).findings
