"""The trainable part of the local model: a residual adapter over frozen sentence embeddings and a
growing cosine (prototype) head, after SimpleCIL / APER (Zhou et al. 2023): new classes are new
prototype rows, initialised at the mean adapted embedding of their examples."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class AdapterNet(nn.Module):
    def __init__(self, dim: int = 384, *, hidden: int = 256, n_classes: int = 0, scale: float = 16.0):
        super().__init__()
        self.dim, self.hidden = dim, hidden
        self.adapter = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        # Zero the last layer: an untrained adapter is the identity, so prototypes of the frozen
        # encoder already work (SimpleCIL) and training only refines them.
        nn.init.zeros_(self.adapter[2].weight)
        nn.init.zeros_(self.adapter[2].bias)
        self.prototypes = nn.Parameter(torch.zeros(n_classes, dim))
        self.register_buffer("scale", torch.tensor(float(scale)))

    @property
    def n_classes(self) -> int:
        return int(self.prototypes.shape[0])

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x + self.adapter(x), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.n_classes == 0:
            return x.new_zeros((x.shape[0], 0))
        return self.scale * self.embed(x) @ F.normalize(self.prototypes, dim=-1).T

    @torch.no_grad()
    def add_classes(self, init: torch.Tensor) -> None:
        """Append prototype rows (one per new class); `init` is (k, dim)."""
        if init.numel() == 0:
            return
        init = F.normalize(init.to(self.prototypes.device, self.prototypes.dtype), dim=-1)
        self.prototypes = nn.Parameter(torch.cat([self.prototypes.data, init], dim=0))

    @torch.no_grad()
    def class_means(self, x: torch.Tensor, y: torch.Tensor, classes: list[int]) -> torch.Tensor:
        """Mean adapted embedding of the examples of each class (the SimpleCIL prototype)."""
        z = self.embed(x)
        return torch.stack([z[y == c].mean(0) for c in classes]) if classes else z.new_zeros((0, self.dim))
