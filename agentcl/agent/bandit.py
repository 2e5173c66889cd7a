"""A UCB1 bandit over candidate tools for an operation (pure; the agent keeps the counts)."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Arm:
    pulls: int = 0
    reward: float = 0.0

    @property
    def mean(self) -> float:
        return self.reward / self.pulls if self.pulls else 0.0


def ucb_choice(candidates: list[str], arms: dict[str, Arm], *, prior: dict[str, float] | None = None,
               c: float = 0.8) -> str:
    """Pick among candidates: untried ones first (best prior, e.g. search rank, first), then UCB1."""
    if not candidates:
        raise ValueError("no candidates")
    prior = prior or {}
    untried = [n for n in candidates if arms.get(n, Arm()).pulls == 0]
    if untried:
        return max(untried, key=lambda n: (prior.get(n, 0.0), -candidates.index(n)))
    total = sum(arms[n].pulls for n in candidates)
    return max(candidates, key=lambda n: arms[n].mean + c * math.sqrt(math.log(total + 1) / arms[n].pulls)
               + 1e-3 * prior.get(n, 0.0))


def update(arms: dict[str, Arm], name: str, reward: float) -> None:
    arm = arms.setdefault(name, Arm())
    arm.pulls += 1
    arm.reward += reward
