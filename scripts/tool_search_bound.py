"""How far can learning from use get on BFCL with these signals? Issue #17 asks for hit@1 on functions
with examples >= the 1-nearest-past-task baseline + 0.05, with functions without examples no worse than
before. This script measures, in one run and on both halves of the protocol (examples recorded for one
half of the questions, the other half ranked, as in `agentcl bench tools`):

- the registry's ranking (skills/usage.py) and the 1-nearest-past-task baselines (whole task; task
  without its values, which is what the registry compares);
- the oracle of the two signals: right whenever the description's top tool *or* the nearest past task's
  tool is right (no ranker that picks one of them can do better);
- an upper bound for rankers on the registry's evidence: a conditional logit over per-tool features
  (description z-score, nearest example's cosine and its gap to the best, has-examples, the kNN vote)
  fitted on the ranked questions' own answers (in-sample, so optimistic): once over all of them, and
  once over only the questions whose function has examples (no care for the others), and that again
  with word-overlap closeness to past tasks and the whole-task cosine added (the better of two ridge
  strengths: the most optimistic figure).

    python scripts/tool_search_bound.py                 # live_simple (BFCL_v4), both halves
    python scripts/tool_search_bound.py --split simple_python
"""
from __future__ import annotations

import argparse
import json

import numpy as np


def _features(description: np.ndarray, sims: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    """(questions, tools, features) of one ranking: what skills/usage.evidence sees, per tool."""
    from skills import usage

    z = (description - description.mean(1, keepdims=True)) / (description.std(1, keepdims=True) + 1e-9)
    ones = np.ones(len(owners))
    close = usage.owner_closeness(sims, owners, ones, n)
    has = np.isfinite(close)
    cosine = np.where(has, close, 0.0)
    votes, _ = usage.knn_vote(sims, owners, ones, n)
    gap = (cosine - cosine.max(1, keepdims=True)) * has
    return np.stack([z, cosine * has, gap, has.astype(float), votes, z * has], -1)


def _word_overlap(queries: list[str], tasks: list[str]) -> np.ndarray:
    """(queries, past tasks): the share of a query's words and word pairs (values left out) in a past task."""
    from memory_store.keyword import split_identifier, tokenize
    from skills.search import strip_quoted_values

    def grams(text):
        words = tokenize(split_identifier(strip_quoted_values(text)), keep_stopwords=True)
        return set(words) | set(zip(words, words[1:]))

    past = [grams(t) for t in tasks]
    return np.array([[len(q & p) / max(1, len(q)) for p in past] for q in map(grams, queries)])


def _extra_features(sims: np.ndarray, whole: np.ndarray, overlap: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    """Per tool: nearest past task by word overlap, by cosine plus overlap (and its gap), by whole-task cosine."""
    from skills import usage

    ones = np.ones(len(owners))
    close = lambda s: np.nan_to_num(usage.owner_closeness(s, owners, ones, n), neginf=0.0)  # noqa: E731
    both = close(sims + 0.3 * overlap)
    return np.stack([close(overlap), both, both - both.max(1, keepdims=True), close(whole)], -1)


def _fit_logit(x: np.ndarray, y: np.ndarray, l2: float = 0.1) -> np.ndarray:
    from scipy.optimize import minimize

    def loss(w):
        s = x @ w
        s = s - s.max(1, keepdims=True)
        return -float((s[np.arange(len(y)), y] - np.log(np.exp(s).sum(1))).sum()) + l2 * float(w @ w)

    return minimize(loss, np.zeros(x.shape[-1]), method="L-BFGS-B").x


def measure(split: str, recorded_parity: int, embedder, data_dir: str) -> dict:
    from agentcl_bench.tools import load_bfcl
    from skills import SkillRegistry

    specs, questions, gold, gold_args = load_bfcl(data_dir, split)
    recorded = list(range(recorded_parity, len(questions), 2))
    asked = list(range(1 - recorded_parity, len(questions), 2))
    registry = SkillRegistry.in_memory(embedder=embedder)
    for spec in specs:
        registry.register_spec(spec, origin="bfcl")
    for i in recorded:
        registry.add_example(gold[i], questions[i], gold_args[i])
    texts = [questions[i] for i in asked]
    ranked = [[h.name for h in row] for row in registry.search_many(texts, 1)]
    index = registry.learning.index
    names = [d.name for d in index.docs]
    vectors = index._query_vectors(texts)
    description = index.description_scores(texts, vectors)
    sims = vectors[2] @ index.example_task_vecs.T  # the registry's comparison: tasks without their values
    whole = vectors[0] @ index.example_vecs.T  # the bench's baseline: whole tasks
    owners = index.example_owner
    overlap = _word_overlap(texts, [t for d in index.docs for t in d.examples])
    registry.close()

    y = np.array([names.index(gold[i]) for i in asked])
    has = np.zeros(len(names), bool)
    has[np.unique(owners)] = True
    with_ex = has[y]
    rate = lambda right, rows: round(float(np.mean(right[rows])), 3) if rows.any() else None  # noqa: E731
    registry_right = np.array([gold[i] in r[:1] for i, r in zip(asked, ranked)])
    desc_right = description.argmax(1) == y
    nn_right, nn_whole_right = owners[sims.argmax(1)] == y, owners[whole.argmax(1)] == y
    x = _features(description, sims, owners, len(names))
    fitted_all = (x @ _fit_logit(x, y)).argmax(1) == y
    fitted_with = (x[with_ex] @ _fit_logit(x[with_ex], y[with_ex])).argmax(1) == y[with_ex]
    xw = np.concatenate([x, _extra_features(sims, whole, overlap, owners, len(names))], -1)[with_ex]
    fitted_words = max(float(np.mean((xw @ _fit_logit(xw, y[with_ex], l2)).argmax(1) == y[with_ex])) for l2 in (0.01, 0.1))
    return {
        "split": split, "examples_from": "even" if recorded_parity == 0 else "odd",
        "asked_with_examples": int(with_ex.sum()), "asked_without_examples": int((~with_ex).sum()),
        "baseline_nearest_task_whole": rate(nn_whole_right, with_ex),
        "target_with_examples": round(rate(nn_whole_right, with_ex) + 0.05, 3),
        "nearest_task_without_values": rate(nn_right, with_ex),
        "description_only": {"with": rate(desc_right, with_ex), "without": rate(desc_right, ~with_ex)},
        "registry": {"with": rate(registry_right, with_ex), "without": rate(registry_right, ~with_ex)},
        "oracle_description_or_nearest": rate(desc_right | nn_right, with_ex),
        "fitted_on_answers_all": {"with": rate(fitted_all, with_ex), "without": rate(fitted_all, ~with_ex)},
        "fitted_on_answers_with_examples_only": round(float(fitted_with.mean()), 3),
        "same_plus_word_overlap_and_whole_task_cosine": round(fitted_words, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="live_simple")
    parser.add_argument("--data-dir", default="../shared/data")
    args = parser.parse_args()
    from memory_store.embedding import get_default_embedder

    embedder = get_default_embedder("cpu")
    for parity in (0, 1):
        print(json.dumps(measure(args.split, parity, embedder, args.data_dir)))


if __name__ == "__main__":
    main()
