"""Probes that turn model answers into findings. The rules are pure functions; `probe_*` wrappers
only ask the model."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .metrics import accuracy


@dataclass
class StaleFindings:
    stale: dict = field(default_factory=dict)      # slot key -> the superseded value the model gave
    disagree: dict = field(default_factory=dict)   # slot key -> {"model": answer, "store": current}

    def to_dict(self) -> dict:
        return {"stale": self.stale, "disagree": self.disagree}


def classify_answers(answers: dict[str, str | None], current: dict[str, str | None],
                     superseded: dict[str, set]) -> StaleFindings:
    """An answer equal to a superseded value of its slot (and not the current one) is stale; any
    other answer that differs from the store's current value is a disagreement."""
    out = StaleFindings()
    for key, answer in answers.items():
        now = current.get(key)
        if answer is None or answer == now:
            continue
        if answer in superseded.get(key, set()):
            out.stale[key] = answer
        else:
            out.disagree[key] = {"model": answer, "store": now}
    return out


def forgotten_skills(accuracy_now: dict[str, float | None], best_before: dict[str, float],
                     *, threshold: float) -> dict[str, dict]:
    """Skills whose probe accuracy fell more than `threshold` below the best of earlier rounds."""
    out = {}
    for skill, now in accuracy_now.items():
        best = best_before.get(skill)
        if now is None or best is None:
            continue
        if best - now > threshold:
            out[skill] = {"best": round(best, 4), "now": round(now, 4), "drop": round(best - now, 4)}
    return out


def per_key_accuracy(keys: list[str], predicted: list, expected: list) -> dict[str, float]:
    """Accuracy grouped by key (one entry per skill or slot)."""
    groups: dict[str, tuple[list, list]] = {}
    for k, p, e in zip(keys, predicted, expected):
        g = groups.setdefault(k, ([], []))
        g[0].append(p)
        g[1].append(e)
    return {k: accuracy(p, e) for k, (p, e) in groups.items()}


def probe_items(model, items, vectors: np.ndarray) -> list:
    """The model's answer for each probe item (facts through the fact classes, skills through skills)."""
    answers: list = [None] * len(items)
    for kind in ("fact", "skill"):
        idx = [i for i, it in enumerate(items) if it.kind == kind]
        if idx:
            labels, _ = model.predict_vectors(vectors[idx], kind)
            for i, lab in zip(idx, labels):
                answers[i] = lab
    return answers


def probe_accuracy(model, items, vectors: np.ndarray) -> float | None:
    if model is None:
        return None
    return accuracy(probe_items(model, items, vectors), [it.label for it in items])
