"""Learned usage as a ranking signal: what the nearest past tasks say about which tool to use. Pure functions.

A new task is compared with every recorded task of the namespace. Its K nearest past tasks vote for the
tool they used, each vote weighted by a kernel on its cosine (nearer tasks count more) and by the
example's own weight: successes vote for the tool, failures against it, and both fade with age and with
each change of the tool's signature since the example was recorded. The vote is trusted as much as the
nearest task's similarity has proved reliable *in this registry*: leave-one-out over the recorded
successes (would the other examples have named this example's tool?) gives, by isotonic regression, the
probability that the vote's choice is right at a given similarity. Leave-one-out also simulates the tools
that have no examples yet (an example whose tool has no other example), at their Good-Turing rate, so the
confidence falls where examples mislead. The ranking is the mixture

    P(tool) = (1 - c) * P_description(tool) + c * P_past_tasks(tool)

where P_past_tasks is the positive vote, plus the mass it leaves (decayed examples, failures) spread by
the description ranking over the tools not voted against,
so learned usage dominates when past tasks are close and reliable, fades when they are not, and a skill
without examples keeps its place among the others (every description probability is scaled alike).
No constant here is fitted to a benchmark file: K and the kernel width only shape the vote, the confidence
is measured on the registry's own examples, and the description temperature was checked on both halves
of two BFCL sets (agentcl/bench/tools_learning.py reports the check)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np

NEIGHBOURS = 10          # past tasks that vote
KERNEL_WIDTH = 0.1       # cosine units: a task 0.1 further away counts e^-1 as much as the nearest
DESCRIPTION_TEMPERATURE = 1 / 1.5  # softmax over z-normalised description scores; ML fit: 1.5 (live_simple),
#                                    1.75 (simple_python), the same on either half (see the bench's check)
HALF_LIFE_DAYS = 180.0   # policy, not measured (BFCL has no time): an example half as strong after ~6 months
CHANGED_SIGNATURE_WEIGHT = 0.5  # per signature change since the example's version: its wording still says
#                                 what the tool is for, its arguments may not
MAX_CALIBRATION = 2000   # newest successes used for leave-one-out (bounds the O(n^2) step)
PRIOR_GRID = np.round(np.arange(0.0, 1.01, 0.1), 2)
SIGNATURE_KEYS = ("added", "removed", "renamed", "type_changed", "now_required")


def signature_changes(diffs: Sequence[tuple[int, dict | None]], recorded: int) -> int:
    """How many versions after `recorded` changed the parameters ((version, diff) pairs of one skill)."""
    return sum(1 for version, diff in diffs
               if version > recorded and diff and any(diff.get(key) for key in SIGNATURE_KEYS))


def example_weight(created_at: datetime | None, now: datetime, changes: int, *,
                   half_life_days: float = HALF_LIFE_DAYS) -> float:
    """Strength of one example's vote in (0, 1]: halves every `half_life_days` and per signature change."""
    age_days = max((now - created_at).total_seconds() / 86400.0, 0.0) if created_at else 0.0
    return float(0.5 ** (age_days / half_life_days) * CHANGED_SIGNATURE_WEIGHT ** changes)


def knn_vote(sims: np.ndarray, owners: np.ndarray, weights: np.ndarray, n_skills: int, *,
             k: int = NEIGHBOURS, width: float = KERNEL_WIDTH) -> tuple[np.ndarray, np.ndarray]:
    """(votes (Q, n_skills) in [-1, 1], nearest similarity (Q,)). `weights` are signed: a failure votes
    against its tool. Normalised by the kernel mass, not the weights, so decayed examples vote weakly."""
    q = sims.shape[0]
    votes = np.zeros((q, n_skills))
    if sims.shape[1] == 0 or q == 0:
        return votes, np.full(q, -1.0)
    k = min(k, sims.shape[1])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    s = np.take_along_axis(sims, top, axis=1)
    nearest = s.max(axis=1)
    kernel = np.exp((s - nearest[:, None]) / width)
    kernel[~np.isfinite(s)] = 0.0
    rows = np.repeat(np.arange(q), k)
    np.add.at(votes, (rows, owners[top].ravel()), (kernel * weights[top]).ravel())
    votes /= np.maximum(kernel.sum(axis=1, keepdims=True), 1e-12)
    return votes, nearest


def isotonic(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """Non-decreasing weighted fit of y on x (pool adjacent violators), as a step function of x."""
    weight = np.ones(len(x)) if weight is None else np.asarray(weight, float)
    order = np.argsort(x, kind="stable")
    blocks: list[list[float]] = []  # [mean, weight, x_low]
    for xv, yv, wv in zip(x[order], y[order].astype(float), weight[order]):
        blocks.append([yv, wv, xv])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            b2, b1 = blocks.pop(), blocks.pop()
            total = b1[1] + b2[1]
            blocks.append([(b1[0] * b1[1] + b2[0] * b2[1]) / total, total, b1[2]])
    # A step: the value proved at this x or below, never interpolated upwards into x where nothing was seen.
    starts = np.array([b[2] for b in blocks])
    values = np.array([b[0] for b in blocks])
    return lambda q: values[np.clip(np.searchsorted(starts, q, side="right") - 1, 0, len(values) - 1)]


def calibrate(vectors: np.ndarray, owners: np.ndarray, weights: np.ndarray, n_skills: int, *,
              k: int = NEIGHBOURS, width: float = KERNEL_WIDTH,
              limit: int = MAX_CALIBRATION) -> Callable[[np.ndarray], np.ndarray]:
    """P(the vote's first tool is right | nearest similarity), by leave-one-out over the recorded successes.
    Prior: one pseudo-observation per 0.1 of cosine saying that a task at cosine s names the same tool with
    probability s (an unrelated task says nothing, an identical one names its tool); it decides while
    there are few examples and is outweighed as they accrue."""
    xs, ys = list(PRIOR_GRID), list(PRIOR_GRID)
    labelled = np.flatnonzero(weights > 0)[-limit:]
    if len(labelled) > 1:
        sims = vectors[labelled] @ vectors.T
        sims[np.arange(len(labelled)), labelled] = -np.inf  # leave the example itself out
        votes, nearest = knn_vote(sims, owners, weights, n_skills, k=k, width=width)
        right = (votes.argmax(axis=1) == owners[labelled]) & (votes.max(axis=1) > 0)
        finite = np.isfinite(nearest)
        xs += list(nearest[finite])
        ys += list(right[finite].astype(float))
    return isotonic(np.array(xs), np.array(ys))


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    top = np.max(scores, axis=1, keepdims=True)
    return scores - top - np.log(np.sum(np.exp(scores - top), axis=1, keepdims=True))


def fuse(description: np.ndarray, votes: np.ndarray, confidence: np.ndarray, *,
         temperature: float = DESCRIPTION_TEMPERATURE) -> np.ndarray:
    """log P(skill | task) of the mixture (module docstring) over the candidate columns given (all finite).

    The past tasks' expert is a distribution too: the positive votes, and the mass they leave (decayed
    examples, failures) spread by the description ranking over the skills not voted against."""
    z = (description - description.mean(axis=1, keepdims=True)) / (description.std(axis=1, keepdims=True) + 1e-9)
    c = np.clip(confidence, 0.0, 1.0 - 1e-9)[:, None]
    log_desc = _log_softmax(z / temperature)
    positive = np.clip(votes, 0.0, None)
    against = np.clip(-votes, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_positive = np.log(positive)
        rest = np.clip(1.0 - positive.sum(axis=1, keepdims=True), 0.0, 1.0)
        spread = log_desc + np.log1p(-against)
        top = np.max(spread, axis=1, keepdims=True)
        norm = top + np.log(np.sum(np.exp(spread - top), axis=1, keepdims=True))
        log_rest = np.where(np.isfinite(norm), np.log(rest) + spread - norm, -np.inf)
        log_past = np.logaddexp(log_positive, log_rest)
        log_c = np.log(c)
    return np.logaddexp(np.log1p(-c) + log_desc, log_c + log_past)
