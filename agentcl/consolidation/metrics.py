"""Continual-learning metrics from an accuracy matrix. Pure functions, no torch.

`matrix[i][j]` is the accuracy on probe set (task) j measured after training round i; rows may be
shorter than the number of tasks and entries may be None (not measured). Task j is first trained in
round j, so `matrix[j][j]` is "just learned", `matrix[j-1][j]` is "before training it" (forward
transfer) and the last row is "now".
"""
from __future__ import annotations

from collections.abc import Sequence

Matrix = Sequence[Sequence[float | None]]


def _get(matrix: Matrix, i: int, j: int) -> float | None:
    if i < 0 or i >= len(matrix) or j >= len(matrix[i]):
        return None
    return matrix[i][j]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def average_accuracy(matrix: Matrix) -> float | None:
    """Mean accuracy over every task seen so far, after the last round (ACC)."""
    if not matrix:
        return None
    last = len(matrix) - 1
    return _mean([v for j in range(last + 1) if (v := _get(matrix, last, j)) is not None])


def last_accuracy(matrix: Matrix) -> float | None:
    """Accuracy on the newest task right after learning it."""
    if not matrix:
        return None
    last = len(matrix) - 1
    return _get(matrix, last, last)


def backward_transfer(matrix: Matrix) -> float | None:
    """BWT: mean over earlier tasks of (accuracy now - accuracy just after learning it). Negative = forgetting."""
    last = len(matrix) - 1
    diffs = []
    for j in range(last):
        now, then = _get(matrix, last, j), _get(matrix, j, j)
        if now is not None and then is not None:
            diffs.append(now - then)
    return _mean(diffs)


def forward_transfer(matrix: Matrix, baseline: Sequence[float | None] | None = None) -> float | None:
    """FWT: mean over tasks j >= 1 of (accuracy on j before training it - baseline accuracy on j)."""
    diffs = []
    for j in range(1, len(matrix)):
        before = _get(matrix, j - 1, j)
        base = baseline[j] if baseline is not None and j < len(baseline) else 0.0
        if before is not None and base is not None:
            diffs.append(before - base)
    return _mean(diffs)


def forgetting_first_last(matrix: Matrix) -> float | None:
    """Mean over earlier tasks of (accuracy just after learning it - accuracy now)."""
    bwt = backward_transfer(matrix)
    return None if bwt is None else 0.0 - bwt + 0.0


def forgetting_max_last(matrix: Matrix) -> float | None:
    """Chaudhry et al.: mean over earlier tasks of (best accuracy in any earlier round - accuracy now)."""
    last = len(matrix) - 1
    drops = []
    for j in range(last):
        now = _get(matrix, last, j)
        earlier = [v for i in range(j, last) if (v := _get(matrix, i, j)) is not None]
        if now is not None and earlier:
            drops.append(max(earlier) - now)
    return _mean(drops)


def summarize(matrix: Matrix, baseline: Sequence[float | None] | None = None) -> dict:
    """All metrics at once, in the shape reports use."""
    return {
        "acc": average_accuracy(matrix),
        "last_acc": last_accuracy(matrix),
        "bwt": backward_transfer(matrix),
        "fwt": forward_transfer(matrix, baseline),
        "forgetting": forgetting_max_last(matrix),
        "forgetting_first_last": forgetting_first_last(matrix),
        "forgetting_max_last": forgetting_max_last(matrix),
    }


def accuracy(predicted: Sequence, expected: Sequence) -> float | None:
    """Fraction of equal pairs; None for an empty probe set (not 0: nothing was measured)."""
    if len(expected) == 0:
        return None
    return sum(1 for p, e in zip(predicted, expected) if p == e) / len(expected)
