"""Versioned checkpoints under AGENTCL_HOME/checkpoints/<namespace_dirname(namespace)>/<id>/ (model.safetensors,
model.json, metrics.json, and whatever `extra` writes, such as consolidation's learned state) and an
`active.json` pointer. A checkpoint is written complete under a temporary name, flushed to disk and
renamed into place; only then may the pointer (itself replaced atomically) name it. A crash at any
point leaves the previous checkpoint active and never exposes a half-written one; leftovers of a
killed writer are removed by the next save. A damaged pointer, metrics file or model file is a
DamagedFileError naming it (memory_store.file_reads): never read as "no model", never written over."""
from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .local import LocalModel

_NAME = re.compile(r"^\d{6}$")


def checkpoint_root(home: str | os.PathLike | None = None, namespace: str = "default") -> Path:
    from memory_store.config import agentcl_home
    from memory_store.paths import namespace_path

    return namespace_path(agentcl_home(home) / "checkpoints", namespace, create=False)


def _fsync(path: Path) -> None:
    """Flush a file or directory to disk (a rename is only durable once its directory is synced)."""
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for name in files:
            _fsync(Path(dirpath) / name)
        _fsync(Path(dirpath))


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    _fsync(tmp)
    os.replace(tmp, path)
    _fsync(path.parent)


@dataclass
class CheckpointInfo:
    id: int
    path: Path
    active: bool
    metrics: dict

    def to_dict(self) -> dict:
        m = self.metrics
        return {"id": self.id, "active": self.active, "path": str(self.path), "created_at": m.get("created_at"),
                "promoted": m.get("promoted"), "reason": m.get("reason"), "metrics": m.get("metrics", {}),
                "examples": m.get("examples"), "device": m.get("device")}


class CheckpointStore:
    def __init__(self, home: str | os.PathLike | None = None, *, namespace: str = "default", create: bool = True):
        """`create=False`: only to read (a check makes no folders)."""
        self.root = checkpoint_root(home, namespace)
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        self.namespace = namespace

    def ids(self) -> list[int]:
        if not self.root.is_dir():
            return []
        return sorted(int(p.name) for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name))

    def path(self, ckpt_id: int) -> Path:
        return self.root / f"{int(ckpt_id):06d}"

    def active_id(self) -> int | None:
        """The active checkpoint's id, None when none was activated. A pointer that cannot be read or names
        a checkpoint that is not there is damage: reading it as "none" would let the next run train afresh
        and write over it."""
        from memory_store.errors import DamagedFileError
        from memory_store.file_reads import read_json

        pointer = self.root / "active.json"
        if not pointer.exists():
            return None
        ckpt_id = read_json(pointer).get("id")
        if isinstance(ckpt_id, bool) or not isinstance(ckpt_id, int) or not 0 < ckpt_id < 10**6:
            raise DamagedFileError(pointer, f"no checkpoint id in it: {str(ckpt_id)[:40]!r}")
        if not self.path(ckpt_id).is_dir():
            raise DamagedFileError(pointer, f"it names checkpoint {ckpt_id}, which is missing")
        return ckpt_id

    def save(self, model, metrics: dict, *, activate: bool, extra: Callable[[Path], None] | None = None) -> int:
        """Write a new checkpoint (even a rejected one is kept, for inspection); optionally activate it.
        `extra(directory)` adds files to the checkpoint before it is renamed into place. Callers hold
        the consolidation lock, so ids are not contended."""
        self.remove_leftovers()
        ckpt_id = (self.ids() or [0])[-1] + 1
        final = self.path(ckpt_id)
        tmp = self.root / f".{ckpt_id:06d}.tmp"
        model.save(tmp)
        if extra is not None:
            extra(tmp)
        _write_json(tmp / "metrics.json", {**metrics, "id": ckpt_id})
        _fsync_tree(tmp)
        os.replace(tmp, final)
        _fsync(self.root)
        if activate:
            self.activate(ckpt_id)
        return ckpt_id

    def remove_leftovers(self) -> list[str]:
        """Delete temporary checkpoint directories and pointer files a killed writer left behind."""
        removed = []
        for p in self.root.iterdir():
            if p.name.startswith(".") and p.name.endswith(".tmp") or p.name == "active.json.tmp":
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
                removed.append(p.name)
        return removed

    def activate(self, ckpt_id: int) -> None:
        from memory_store.errors import NotFoundError

        if int(ckpt_id) not in self.ids():
            raise NotFoundError(f"no checkpoint {ckpt_id} in namespace {self.namespace!r}")
        _write_json(self.root / "active.json", {"id": int(ckpt_id)})

    def metrics(self, ckpt_id: int) -> dict:
        from memory_store.file_reads import read_json

        path = self.path(ckpt_id) / "metrics.json"
        return read_json(path) if path.exists() else {}

    def list(self) -> list[CheckpointInfo]:
        active = self.active_id()
        return [CheckpointInfo(i, self.path(i), i == active, self.metrics(i)) for i in self.ids()]

    def load(self, ckpt_id: int, *, device: str = "cpu", embedder=None) -> LocalModel:
        return LocalModel.load(self.path(ckpt_id), device=device, embedder=embedder)

    def verify(self, ckpt_id: int) -> None:
        """Raise DamagedFileError unless checkpoint `ckpt_id`'s metrics and model can be loaded (before it
        is activated, or reported as the active one)."""
        self.metrics(ckpt_id)
        self.load(ckpt_id)

    def load_active(self, *, device: str = "cpu", embedder=None) -> LocalModel | None:
        active = self.active_id()
        return None if active is None else self.load(active, device=device, embedder=embedder)


def load_promoted(home: str | os.PathLike | None = None, *, namespace: str = "default", device: str = "cpu",
                  embedder=None) -> LocalModel | None:
    """The active (promoted) local model of a namespace, or None when none was promoted yet."""
    root = checkpoint_root(home, namespace)
    if not (root / "active.json").exists():
        return None
    return CheckpointStore(home, namespace=namespace).load_active(device=device, embedder=embedder)
