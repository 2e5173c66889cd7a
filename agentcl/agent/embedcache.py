"""A memo in front of an embedder: an agent asks the same questions and searches the same task texts
again and again (a fact question recurs every few steps), and the model gives the same vector for the
same text, so each distinct text is encoded once. Bounded (least recently used out first)."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np


class CachingEmbedder:
    def __init__(self, inner: Any, *, capacity: int = 4096):
        self.inner = inner
        self.capacity = capacity
        self.name = inner.name
        self.dim = inner.dim
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __getattr__(self, attr: str) -> Any:  # device, path, model...: whatever the inner one has
        return getattr(self.inner, attr)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        texts = list(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if missing:
            for text, vec in zip(missing, self.inner.encode(missing, batch_size=batch_size)):
                self._memo[text] = np.asarray(vec, dtype=np.float32)
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._memo[text]
            self._memo.move_to_end(text)
        while len(self._memo) > self.capacity:
            self._memo.popitem(last=False)
        return out


def caching(embedder: Any) -> Any:
    """`embedder` with a memo in front (itself if it already has one)."""
    return embedder if isinstance(embedder, CachingEmbedder) else CachingEmbedder(embedder)
