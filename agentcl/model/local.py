"""LocalModel: the fast prior the agent consults. Frozen sentence encoder + AdapterNet, one head whose
classes are fact values ("fact", value) and skills ("skill", name); each skill class keeps the
argument mapping of its latest successful usage beside it."""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .net import AdapterNet

FACT, SKILL = "fact", "skill"


@dataclass
class LocalModel:
    net: AdapterNet
    classes: list[tuple[str, str]] = field(default_factory=list)  # (kind, label), index = head row
    skill_args: dict[str, dict] = field(default_factory=dict)
    encoder_name: str = "all-MiniLM-L6-v2"
    device: str = "cpu"
    meta: dict = field(default_factory=dict)
    embedder: Any = None  # loaded lazily; anything with .encode(texts) -> normalised float32 rows
    retired_skills: list = field(default_factory=list)  # deprecated/disabled: never proposed again

    def __post_init__(self) -> None:
        self._index = {c: i for i, c in enumerate(self.classes)}

    # -- classes --------------------------------------------------------------------------------
    @classmethod
    def new(cls, *, dim: int = 384, hidden: int = 256, device: str = "cpu", encoder_name: str = "all-MiniLM-L6-v2",
            seed: int = 0) -> LocalModel:
        torch.manual_seed(seed)
        return cls(net=AdapterNet(dim, hidden=hidden).to(device), encoder_name=encoder_name, device=device)

    def class_id(self, kind: str, label: str) -> int | None:
        return self._index.get((kind, label))

    def ensure_classes(self, kind_labels: Sequence[tuple[str, str]], vectors: np.ndarray) -> list[int]:
        """Class ids for (kind, label) pairs, adding unseen classes with prototype = mean adapted vector."""
        new = []
        for kl in kind_labels:
            if kl not in self._index and kl not in new:
                new.append(kl)
        if new:
            x = torch.as_tensor(np.asarray(vectors, dtype=np.float32), device=self.device)
            pos = {kl: i for i, kl in enumerate(new)}
            y = torch.as_tensor([pos.get(kl, -1) for kl in kind_labels], device=self.device)
            self.net.add_classes(self.net.class_means(x, y, list(range(len(new)))))
            for kl in new:
                self._index[kl] = len(self.classes)
                self.classes.append(kl)
        return [self._index[kl] for kl in kind_labels]

    def kind_mask(self, kind: str) -> torch.Tensor:
        retired = set(self.retired_skills) if kind == SKILL else set()
        return torch.tensor([k == kind and label not in retired for k, label in self.classes], dtype=torch.bool,
                            device=self.device)

    # -- prediction -----------------------------------------------------------------------------
    def _encoder(self):
        if self.embedder is None:
            from memory_store.embedding import get_default_embedder

            self.embedder = get_default_embedder(device="cpu" if self.device == "cpu" else self.device)
        return self.embedder

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._encoder().encode(list(texts))

    @torch.no_grad()
    def predict_vectors(self, vectors: np.ndarray, kind: str) -> tuple[list[str | None], list[float]]:
        """Best label of `kind` and its softmax probability (over that kind's classes) for each row."""
        n = len(vectors)
        mask = self.kind_mask(kind) if self.classes else None
        if n == 0 or mask is None or not bool(mask.any()):
            return [None] * n, [0.0] * n
        self.net.eval()
        cols = torch.nonzero(mask).squeeze(1)
        labels, confs = [], []
        for start in range(0, n, 4096):
            x = torch.as_tensor(np.asarray(vectors[start: start + 4096], dtype=np.float32), device=self.device)
            probs = torch.softmax(self.net(x)[:, cols], dim=1)
            conf, arg = probs.max(1)
            labels += [self.classes[int(cols[a])][1] for a in arg.tolist()]
            confs += [round(float(c), 6) for c in conf.tolist()]
        return labels, confs

    def predict_fact(self, question_text: str) -> tuple[str | None, float]:
        """(answer value, confidence in [0, 1]); (None, 0.0) before any fact was learned."""
        labels, confs = self.predict_vectors(self.encode([question_text]), FACT)
        return labels[0], confs[0]

    def predict_skill(self, task_text: str) -> tuple[str | None, dict, float]:
        """(skill name, argument mapping of its latest successful usage, confidence)."""
        labels, confs = self.predict_vectors(self.encode([task_text]), SKILL)
        name = labels[0]
        return name, dict(self.skill_args.get(name, {})) if name else {}, confs[0]

    # -- persistence ----------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> None:
        """model.safetensors + model.json in `directory` (each written via tmp + os.replace)."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        tmp = directory / "model.safetensors.tmp"
        save_file(tensors, str(tmp))
        os.replace(tmp, directory / "model.safetensors")
        info = {"format": 1, "dim": self.net.dim, "hidden": self.net.hidden, "encoder": self.encoder_name,
                "classes": [list(c) for c in self.classes], "skill_args": self.skill_args, "meta": self.meta,
                "retired_skills": list(self.retired_skills)}
        tmp = directory / "model.json.tmp"
        tmp.write_text(json.dumps(info, indent=1, default=str))
        os.replace(tmp, directory / "model.json")

    @classmethod
    def load(cls, directory: str | os.PathLike, *, device: str = "cpu", embedder=None) -> LocalModel:
        from safetensors.torch import load_file

        from memory_store.file_reads import read_json, reading, require_file

        directory = Path(directory)
        info_path, weights = directory / "model.json", require_file(directory / "model.safetensors")
        info = read_json(info_path)
        with reading(info_path):  # its fields: dimensions, classes
            net = AdapterNet(info["dim"], hidden=info["hidden"], n_classes=len(info["classes"]))
            classes, skill_args = [tuple(c) for c in info["classes"]], dict(info["skill_args"])
        with reading(weights):  # truncated, not safetensors, or tensors of other shapes than model.json says
            net.load_state_dict(load_file(str(weights)))
        return cls(net=net.to(device), classes=classes, skill_args=skill_args,
                   encoder_name=info.get("encoder", ""), device=device, meta=info.get("meta", {}), embedder=embedder,
                   retired_skills=info.get("retired_skills", []))

    def copy(self) -> LocalModel:
        import copy

        return LocalModel(net=copy.deepcopy(self.net), classes=list(self.classes),
                          skill_args=json.loads(json.dumps(self.skill_args)), encoder_name=self.encoder_name,
                          device=self.device, meta=dict(self.meta), embedder=self.embedder,
                          retired_skills=list(self.retired_skills))
