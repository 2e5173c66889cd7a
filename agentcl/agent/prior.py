"""How far to trust the local model's prior: by its track record, per question.

The local model is a closed-set classifier distilled from memory: asked about a slot it never learned (a
new rotation week, another team's on-call, a tool introduced since the last consolidation) it still
answers, often confidently, with a value of some other slot. Its softmax confidence is no evidence. So
the agent asks the model in the shadow of every decision whose truth it later learns (feedback, a
lookup, a call that worked), and trusts its prior for a key (a fact slot, a tool operation) only once the
last few of those checks all came out right. Pure bookkeeping: no store, no model."""
from __future__ import annotations

from collections import deque
from collections.abc import Hashable

from memory_store.normalize import normalize_name as _norm  # values compare as the store compares names


class PriorTrust:
    def __init__(self, *, checks: int = 3):
        if checks < 1:
            raise ValueError("checks must be >= 1")
        self.checks = checks
        self._record: dict[Hashable, deque[bool]] = {}
        self.checked = 0  # all checks so far, and how many came out right: the model's live accuracy
        self.right = 0

    def record(self, key: Hashable, predicted: object | None, truth: object | None) -> None:
        """One check of a prediction against the truth (ignored when either is unknown)."""
        if predicted is None or truth is None:
            return
        self.record_outcome(key, _norm(predicted) == _norm(truth))

    def record_outcome(self, key: Hashable, correct: bool) -> None:
        """A check whose truth is not known, only whether the prediction was right."""
        self._record.setdefault(key, deque(maxlen=self.checks)).append(bool(correct))
        self.checked += 1
        self.right += bool(correct)

    def trusted(self, key: Hashable) -> bool:
        history = self._record.get(key)
        return history is not None and len(history) == self.checks and all(history)

    def to_dict(self) -> dict[str, list[bool]]:
        return {str(k): list(v) for k, v in self._record.items()}
