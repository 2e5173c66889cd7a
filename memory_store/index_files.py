"""A namespace search cache on disk: three files (FAISS vectors, the row columns, JSON metadata) saved
atomically and checked when loaded. A cache is derived from SQL, so an unusable one is rebuilt, never
trusted: the caller treats ValueError as "rebuild"."""
from __future__ import annotations

import io
import json
import os
import uuid
import zlib
from contextlib import contextmanager
from pathlib import Path

import faiss
import numpy as np

INDEX_FORMAT = 3  # 2: a save token shared by the files of one save; 3: a checksum of each file
ARRAYS = ("keys", "kind", "status", "expires", "time", "alive")


def save_files(directory: Path, name: str, *, index: faiss.Index, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Atomic and safe between processes: unique temporary files renamed into place under an exclusive
    file lock; the three files of one save share a token, and the JSON holds a checksum of the other
    two, both of which load_files() checks. `meta` is stored beside the format fields."""
    directory.mkdir(parents=True, exist_ok=True)
    base = directory / name
    token = uuid.uuid4().hex
    tmp = {ext: f"{base}.{ext}.{os.getpid()}.{token}.tmp" for ext in ("faiss", "npz", "json")}
    try:
        vectors = faiss.serialize_index(index)  # bytes in memory: checksummed as written
        packed = io.BytesIO()
        np.savez(packed, **{k: arrays[k] for k in ARRAYS}, token=np.asarray(token))
        for ext, data in (("faiss", vectors), ("npz", packed.getbuffer())):
            with open(tmp[ext], "wb") as fh:
                fh.write(data)
        full = {"format": INDEX_FORMAT, **meta, "rows": len(arrays["keys"]), "token": token,
                "checksum": {"faiss": checksum(vectors), "npz": checksum(packed.getbuffer())}}
        Path(tmp["json"]).write_text(json.dumps(full))
        with _file_lock(base, exclusive=True):
            for ext in ("faiss", "npz", "json"):
                os.replace(tmp[ext], f"{base}.{ext}")
    finally:
        for path in tmp.values():
            if os.path.exists(path):
                os.unlink(path)


def load_files(directory: Path, name: str, *, dim: int, model: str) -> tuple[faiss.Index, dict, dict] | None:
    """(FAISS index, row arrays, metadata) of a saved cache, or None if absent. Raises ValueError if
    present but unusable: written by another model or format, files of different saves, or content that
    no longer matches its checksum (a damaged vector keeps the file's structure intact, so only the
    checksum can tell)."""
    base = directory / name
    if not Path(f"{base}.json").exists():
        return None
    with _file_lock(base, exclusive=False):
        meta = json.loads(Path(f"{base}.json").read_text())
        if meta.get("format") != INDEX_FORMAT or meta.get("dim") != dim or meta.get("model") != model:
            raise ValueError("index was written by another model or format")
        data = {ext: Path(f"{base}.{ext}").read_bytes() for ext in ("faiss", "npz")}
    with np.load(io.BytesIO(data["npz"])) as saved:
        arrays = {k: saved[k] for k in (*ARRAYS, "token")}
    if str(arrays.pop("token")) != meta.get("token"):
        raise ValueError("index files come from different saves")
    expected = meta.get("checksum") or {}
    for ext, content in data.items():
        if checksum(content) != expected.get(ext):
            raise ValueError(f"the {ext} file does not match its checksum (damaged after it was saved)")
    index = faiss.deserialize_index(np.frombuffer(data["faiss"], dtype=np.uint8))
    if index.ntotal != len(arrays["keys"]) or meta.get("rows") != len(arrays["keys"]):
        raise ValueError("index files disagree about the number of rows")
    return index, arrays, meta


def checksum(data) -> str:
    """CRC-32 of a saved file's bytes: detects damage (not tampering: whoever can rewrite the files can
    rewrite the JSON too) at about 1 GB/s, so loading a 100k-row cache pays well under a second."""
    return f"{zlib.crc32(data) & 0xFFFFFFFF:08x}"


@contextmanager
def _file_lock(base: Path, *, exclusive: bool):
    """An advisory lock on `<base>.lock` (POSIX); elsewhere a no-op (the token check still applies)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(f"{base}.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
