"""Learned usage as a ranking signal: what the nearest past tasks say about which tool to use. Pure functions.

A new task is compared (without its values: numbers and quoted strings say which arguments, not which
tool) with every recorded task of the namespace. Its K nearest past tasks vote for the tool they used,
each vote weighted by a kernel on its cosine and by the example's own weight: successes vote for the tool,
failures against it, and both fade with age and with each change of the tool's signature since the
example was recorded (a deprecated tool's examples are filed under its replacement by the registry).
The ranking is the mixture

    P(tool) = (1 - c) * P_description(tool) + c * P_past_tasks(tool),   c = sigmoid(gate . [1, s, m, v])

where P_description is a softmax of the z-scored description scores at inverse temperature beta,
P_past_tasks the positive votes (plus a little mass spread by the description ranking over the tools
not voted against), s the nearest past task's cosine, m by how much its tool leads the next tool's
nearest task, and v the novelty: how much better the best description of a tool *without* examples
fits than the best description of a tool with examples. beta and the gate are fitted by maximum
likelihood (MAP, prior below) on the registry's own examples, leave-one-out: each recorded success asked
as a new task with itself removed. An example whose tool has no other example then plays a tool never
used before, in the proportion such tasks arrive (Good-Turing), so the gate learns how far past tasks
mislead where the right tool has none. Nothing is fitted to a benchmark file: K and the kernel width only
shape the vote, the prior matters only while examples are few, and with no examples the order is the
description ranking's whatever the parameters."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

NEIGHBOURS = 10          # past tasks that vote
KERNEL_WIDTH = 0.1       # cosine units: a task 0.1 further away counts e^-1 as much as the nearest
HALF_LIFE_DAYS = 180.0   # policy, not measured (BFCL has no time): an example half as strong after ~6 months
CHANGED_SIGNATURE_WEIGHT = 0.5  # per signature change since the example's version: its wording still says
#                                 what the tool is for, its arguments may not
MAX_TRAINING = 1000     # newest successes asked leave-one-out (bounds the O(n^2) step and the fit's time)
REFIT_FRACTION = 0.1    # refit the mixture when the number of examples moved by a tenth
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


def owner_closeness(sims: np.ndarray, owners: np.ndarray, weights: np.ndarray, n_skills: int) -> np.ndarray:
    """(Q, n_skills): per skill, its nearest successful example's cosine times that example's weight
    (decayed examples are further away); -inf for a skill with no successful example (or only left-out
    ones, whose cosine is -inf). `owners` must be grouped (each skill's examples contiguous)."""
    q = sims.shape[0]
    out = np.full((q, n_skills), -np.inf)
    positive = np.flatnonzero(weights > 0)
    if not len(positive) or q == 0:
        return out
    scaled = sims[:, positive] * weights[positive]
    scaled[~np.isfinite(sims[:, positive])] = -np.inf
    grouped = owners[positive]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    out[:, grouped[starts]] = np.maximum.reduceat(scaled, starts, axis=1)
    return out


def evidence(description: np.ndarray, sims: np.ndarray, owners: np.ndarray, weights: np.ndarray, *,
             k: int = NEIGHBOURS, width: float = KERNEL_WIDTH) -> dict[str, np.ndarray]:
    """What a task's description scores (Q, n_skills) and its cosines to the past tasks (Q, n_examples)
    say: z-scored description scores, the kernel vote of the nearest past tasks (failures negative), and
    the gate's inputs - how close the nearest past task is, by how much its tool leads the next tool's
    nearest task, and how much better the best description of a tool *without* examples matches than
    the best description of a tool with examples (a new kind of task looks like that)."""
    n_skills = description.shape[1]
    z = (description - description.mean(axis=1, keepdims=True)) / (description.std(axis=1, keepdims=True) + 1e-9)
    votes, nearest = knn_vote(sims, owners, weights, n_skills, k=k, width=width)
    close = owner_closeness(sims, owners, weights, n_skills)
    has = np.isfinite(close)
    ordered = np.sort(np.where(has, close, 0.0), axis=1)
    margin = ordered[:, -1] - (ordered[:, -2] if n_skills > 1 else 0.0)
    floor = z.min() - 1.0 if z.size else 0.0
    novelty = np.where(~has, z, floor).max(axis=1) - np.where(has, z, floor).max(axis=1)
    nearest = np.where(np.isfinite(nearest), nearest, 0.0)
    return {"z": z, "votes": votes, "gate": np.stack([np.ones(len(z)), nearest, margin, novelty], axis=1)}


# (description inverse temperature, gate weights on [1, nearest cosine, margin, novelty]): the prior's mean,
# the fit's starting point, and what ranks before there are two examples to learn from.
DEFAULT_PARAMETERS = np.array([1.0, -2.0, 4.0, 0.0, -1.0])
# The fit is MAP under a Gaussian prior centred on DEFAULT_PARAMETERS, worth about one example: a registry
# with a handful of examples, none of them of a tool used only once, would otherwise learn from leave-one-
# out that past tasks are never wrong. The prior says: trust a past task from cosine ~0.5 up, and less when
# a tool without examples fits the task's description better than every tool with examples. On BFCL the
# fitted parameters are the same to the third decimal of hit@1 for prior precisions 0.01 to 1 and novelty
# weights 0 to -2 (README); the prior matters only while examples are few.
PRIOR_PRECISION = 1.0


def log_probs(params: np.ndarray, ev: dict[str, np.ndarray]) -> np.ndarray:
    """log P(skill | task) of the mixture (module docstring)."""
    beta, gate = params[0], params[1:]
    log_desc = _log_softmax(beta * ev["z"])
    c = 1.0 / (1.0 + np.exp(-(ev["gate"] @ gate)))[:, None]
    positive = np.clip(ev["votes"], 0.0, None)
    total = positive.sum(axis=1, keepdims=True)
    against = np.clip(-ev["votes"], 0.0, 1.0)
    # The past tasks' expert: the positive votes, with a little mass (1/n_skills; all of it when no past
    # task voted for anything) spread by the description ranking over the skills not voted against.
    rest = np.where(total > 0, 1.0 / ev["z"].shape[1], 1.0)
    spread = np.exp(log_desc) * (1.0 - against)
    spread /= np.maximum(spread.sum(axis=1, keepdims=True), 1e-300)
    past = (1.0 - rest) * positive / np.maximum(total, 1e-300) + rest * spread
    with np.errstate(divide="ignore"):
        return np.logaddexp(np.log1p(-c + 1e-12) + log_desc, np.log(c + 1e-12) + np.log(past))


def needs_refit(fitted_on: int, examples: int) -> bool:
    """Whether parameters fitted on `fitted_on` examples (0: never fitted) are stale for `examples`."""
    return fitted_on == 0 or abs(examples - fitted_on) >= max(1.0, REFIT_FRACTION * fitted_on)


def label_log_likelihood(params: np.ndarray, ev: dict[str, np.ndarray], labels: np.ndarray) -> np.ndarray:
    """log P(labels[i] | task i), the same as log_probs(params, ev)[i, labels[i]] but with one pass over
    the (task, skill) matrix instead of several: the fit evaluates it a thousand times."""
    rows = np.arange(len(labels))
    beta, gate = params[0], params[1:]
    scaled = beta * ev["z"]
    top = scaled.max(axis=1)
    weights = np.exp(scaled - top[:, None])
    against = np.clip(-ev["votes"], 0.0, 1.0)
    log_desc = scaled[rows, labels] - top - np.log(weights.sum(axis=1))
    c = 1.0 / (1.0 + np.exp(-(ev["gate"] @ gate)))
    positive = np.clip(ev["votes"], 0.0, None)
    total = positive.sum(axis=1)
    rest = np.where(total > 0, 1.0 / ev["z"].shape[1], 1.0)
    spread = weights[rows, labels] * (1.0 - against[rows, labels]) / np.maximum((weights * (1.0 - against)).sum(axis=1), 1e-300)
    past = (1.0 - rest) * positive[rows, labels] / np.maximum(total, 1e-300) + rest * spread
    with np.errstate(divide="ignore"):
        return np.logaddexp(np.log1p(-c + 1e-12) + log_desc, np.log(c + 1e-12) + np.log(past))


def fit(ev: dict[str, np.ndarray], labels: np.ndarray) -> np.ndarray:
    """MAP parameters of the mixture for tasks with known right skills (`labels`), by L-BFGS from the
    prior's mean (not from the previous fit: the result depends on the examples, not on their history)."""
    from scipy.optimize import minimize

    def loss(p):
        return -float(label_log_likelihood(p, ev, labels).sum()) \
            + 0.5 * PRIOR_PRECISION * float(np.sum((p - DEFAULT_PARAMETERS) ** 2))

    result = minimize(loss, DEFAULT_PARAMETERS, method="L-BFGS-B", options={"maxiter": 200})
    return np.asarray(result.x)


def leave_one_out(description: np.ndarray, vectors: np.ndarray, owners: np.ndarray, weights: np.ndarray,
                  rows: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Training data for `fit` from the registry's own examples: each successful example in `rows` asked
    as a new task (description: its description scores, (len(rows), n_skills)) with itself left out of
    the evidence. An example whose tool has no other example plays a tool never used before, in the
    proportion such tasks arrive (Good-Turing), so the gate learns where past tasks mislead."""
    sims = vectors[rows] @ vectors.T
    sims[np.arange(len(rows)), rows] = -np.inf
    return evidence(description, sims, owners, weights), owners[rows]


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    top = np.max(scores, axis=-1, keepdims=True)
    return scores - top - np.log(np.sum(np.exp(scores - top), axis=-1, keepdims=True))
