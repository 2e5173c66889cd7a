"""Flash cards: capital cities, one of which changes twice. A minimal agentcl environment plug-in."""
from __future__ import annotations

import random

from agentcl.envs.base import (
    Action,
    BaseEnvironment,
    Correction,
    FactQuery,
    Feedback,
    Observation,
    StepRecord,
)
from agentcl.envs.grading import matches

# (country, [(from_step, capital), ...])
CARDS = {
    "France": [(0, "Paris")],
    "Japan": [(0, "Tokyo")],
    "Kazakhstan": [(0, "Astana"), (8, "Nur-Sultan"), (16, "Astana")],
    "Brazil": [(0, "Brasilia")],
}


class FlashcardsEnv(BaseEnvironment):
    name = "flashcards"

    def __init__(self, *, rounds: int = 24) -> None:
        self.rounds = rounds
        self.episode = -1
        self._records: list[StepRecord] = []
        self._order: list[str] = []
        self._step = 0

    def truth(self, subject: str, predicate: str = "capital", *, step: int | None = None) -> str | None:
        history = CARDS.get(subject)
        if history is None or predicate != "capital":
            return None
        at = self._step if step is None else step
        return [capital for start, capital in history if start <= at][-1]

    def reset(self, seed: int | None = None) -> Observation:
        rng = random.Random(seed or 0)
        self.episode += 1
        self._order = [rng.choice(sorted(CARDS)) for _ in range(self.rounds)]
        self._step = 0
        return self._observe()

    def _observe(self) -> Observation | None:
        if self._step >= len(self._order):
            return None
        country = self._order[self._step]
        return Observation(step=self._step, phase="cards", task_id=f"capital/{country}", kind="fact",
                           text=f"What is the capital of {country}?", query=FactQuery(country, "capital"))

    def step(self, action: Action) -> Feedback:
        country = self._order[self._step]
        truth = self.truth(country)
        correct = action.answer is not None and matches(action.answer, truth)
        self._records.append(StepRecord(episode=self.episode, step=self._step, phase="cards",
                                        task_id=f"capital/{country}", kind="fact", correct=correct,
                                        answer=action.answer, subject=country, predicate="capital", expected=truth))
        step, self._step = self._step, self._step + 1
        return Feedback(step, f"capital/{country}", correct, "correct" if correct else f"wrong: it is {truth}",
                        correction=None if correct else Correction(country, "capital", truth),
                        next_observation=self._observe())
