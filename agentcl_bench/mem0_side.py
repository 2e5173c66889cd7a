"""mem0 (PyPI `mem0ai`) run fully offline for `agentcl bench peers`: importing it without telemetry or
~/.mem0, one `Memory` on the local MiniLM and FAISS with no LLM ever called, and an audit hook that
records any non-loopback connection attempted while the benchmark runs."""
from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, Self

import numpy as np

MEM0_MISSING = "mem0ai not installed (pip install agentcl[peers])"


class NetworkWatch:
    """Records connection attempts to anything but loopback while active. Python cannot remove an audit
    hook, so it is installed once and does nothing while no watch is active."""

    _installed: ClassVar[bool] = False
    _active: ClassVar[list[NetworkWatch]] = []

    def __enter__(self) -> Self:
        if not NetworkWatch._installed:
            sys.addaudithook(NetworkWatch._hook)
            NetworkWatch._installed = True
        self.attempts: list[str] = []
        NetworkWatch._active.append(self)
        return self

    def __exit__(self, *exc) -> None:
        NetworkWatch._active.remove(self)

    @staticmethod
    def _hook(event: str, args: tuple) -> None:
        if not NetworkWatch._active or event not in ("socket.connect", "socket.getaddrinfo"):
            return
        try:
            address = args[1] if event == "socket.connect" else args[:2]
            if isinstance(address, (str, bytes)):  # an AF_UNIX path: not the network
                return
            host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
            if host not in ("localhost", "::1") and not host.startswith("127."):
                for watch in NetworkWatch._active:
                    watch.attempts.append(f"{event} {address!r}")
        except Exception:  # noqa: BLE001 - an audit hook must never break the call it observes
            return


def load_mem0():
    """(mem0 module, None) or (None, why not)."""
    os.environ["MEM0_TELEMETRY"] = "False"  # read when mem0 is first imported
    os.environ.setdefault("MEM0_DIR", os.path.join(tempfile.gettempdir(), "agentcl-mem0"))  # not ~/.mem0
    try:
        import mem0
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] == "mem0":
            return None, MEM0_MISSING
        return None, f"mem0ai cannot be imported ({exc}); reinstall with pip install agentcl[peers]"
    except Exception as exc:  # noqa: BLE001 - a broken optional peer must not stop agentcl's side
        return None, f"mem0ai cannot be imported ({exc.__class__.__name__}: {exc})"
    logging.getLogger("mem0").setLevel(logging.ERROR)  # expected here: no spaCy, no BM25 with FAISS
    return mem0, None


class Mem0Side:
    """One mem0 `Memory`: the local MiniLM, FAISS under `root`, no LLM ever called (infer=False)."""

    def __init__(self, mem0, root: Path, *, model_path: str, device: str, dim: int):
        from mem0.memory import telemetry

        self.telemetry = bool(telemetry.MEM0_TELEMETRY)
        self.memory = mem0.Memory.from_config({
            "embedder": {"provider": "huggingface", "config": {
                "model": model_path, "embedding_dims": dim,
                "model_kwargs": {"device": device, "local_files_only": True}}},
            "vector_store": {"provider": "faiss", "config": {
                "collection_name": "peers", "path": str(root / "faiss"), "distance_strategy": "cosine",
                "embedding_model_dims": dim}},
            # never called with infer=False; were it called, it would fail on loopback, not call out
            "llm": {"provider": "openai", "config": {"api_key": "sk-offline-dummy",
                                                     "openai_base_url": "http://127.0.0.1:9/v1"}},
            "history_db_path": str(root / "history.db"),
        })

    def add(self, texts: Sequence[str], *, user: str, metadata: dict | None = None) -> None:
        self.memory.add([{"role": "user", "content": t} for t in texts], user_id=user, metadata=metadata,
                        infer=False)

    def bulk_fill(self, texts: Sequence[str], vectors: np.ndarray, *, user: str) -> None:
        """The vectors and payloads `Memory.add(infer=False)` writes, one FAISS insert per chunk."""
        from mem0.utils.lemmatization import lemmatize_for_bm25

        for i in range(0, len(texts), 4096):
            chunk, now = texts[i:i + 4096], datetime.now(UTC).isoformat()
            payloads = [{"user_id": user, "role": "user", "data": t, "created_at": now, "updated_at": now,
                         "hash": hashlib.md5(t.encode()).hexdigest(),
                         "text_lemmatized": lemmatize_for_bm25(t)} for t in chunk]
            self.memory.vector_store.insert(vectors=vectors[i:i + 4096].tolist(), payloads=payloads,
                                            ids=[str(uuid.uuid4()) for _ in chunk])

    def search(self, query: str, *, user: str, k: int) -> list[dict]:
        return self.memory.search(query, filters={"user_id": user}, top_k=k)["results"]

    def payload_keys(self) -> dict:
        """Keys of the first stored payload (bulk-filled) and of the last (written by `Memory.add`)."""
        payloads = list(self.memory.vector_store.docstore.values())
        return {"bulk_fill": sorted(payloads[0]), "add": sorted(payloads[-1])} if payloads else {}
