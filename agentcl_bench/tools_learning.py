"""Learning from use on BFCL: examples recorded for the even-numbered questions (task -> ground-truth
call), the odd-numbered ones ranked. Reports hit@1/hit@5 for functions with and without examples before
and after, the 1-nearest-past-task baseline (MiniLM cosine, the tool of the nearest recorded task) in the
same run, a curve of hit@1 against the share of even questions recorded, search ms/query before and
after, how often the proposed arguments validate, what the consolidated model's prototype skill head
adds, and two checks: the same protocol with the halves swapped, and the description temperature fitted
by maximum likelihood on each half beside the one the registry fitted on its own examples."""
from __future__ import annotations

import time

import numpy as np

CURVE = (0.0, 0.25, 0.5, 0.75, 1.0)


def hit_rates(ranked: list[list[str]], gold: list[str], idx: list[int]) -> dict:
    if not idx:
        return {"n": 0, "hit@1": None, "hit@5": None}
    return {"n": len(idx), "hit@1": round(float(np.mean([gold[i] in ranked[i][:1] for i in idx])), 4),
            "hit@5": round(float(np.mean([gold[i] in ranked[i][:5] for i in idx])), 4)}


def nearest_task_tools(question_vecs: np.ndarray, recorded: list[int], asked: list[int], gold: list[str]) -> dict:
    """The baseline: each asked question gets the tool of its most similar recorded question."""
    sims = question_vecs[asked] @ question_vecs[recorded].T
    return {q: gold[recorded[j]] for q, j in zip(asked, sims.argmax(axis=1))}


def fit_temperature(scores: np.ndarray, labels: np.ndarray, grid=np.arange(0.25, 6.01, 0.25)) -> float:
    """Inverse temperature of softmax(beta * z) that maximises the likelihood of the right tools."""
    z = (scores - scores.mean(axis=1, keepdims=True)) / (scores.std(axis=1, keepdims=True) + 1e-9)
    best, best_ll = None, -np.inf
    for beta in grid:
        logits = beta * z
        logp = logits - logits.max(axis=1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
        ll = float(logp[np.arange(len(labels)), labels].mean())
        if ll > best_ll:
            best, best_ll = float(beta), ll
    return best


def _ranked(registry, texts: list[str], k: int = 5, **kw) -> tuple[list[list[str]], float]:
    t0 = time.perf_counter()
    rows = registry.search_many(texts, k, **kw)
    return [[h.name for h in row] for row in rows], 1000 * (time.perf_counter() - t0) / max(len(texts), 1)


def _protocol(specs, questions, gold, gold_args, embedder, recorded: list[int], asked: list[int], *,
              curve: bool, arguments: bool) -> dict:
    from skills import SkillRegistry

    registry = SkillRegistry.in_memory(embedder=embedder)
    for spec in specs:
        registry.register_spec(spec, origin="bfcl")
    registry.search("warm up the index", 1)
    texts = [questions[i] for i in asked]
    by_position = lambda rows: dict(zip(asked, rows))  # noqa: E731
    before_rows, before_ms = _ranked(registry, texts)
    before = by_position(before_rows)
    learned_all = {gold[i] for i in recorded}
    with_ex = [i for i in asked if gold[i] in learned_all]
    without = [i for i in asked if gold[i] not in learned_all]
    points = []
    done = 0
    for share in (CURVE if curve else (1.0,)):
        upto = int(round(share * len(recorded)))
        for i in recorded[done:upto]:
            registry.add_example(gold[i], questions[i], gold_args[i])
        done = upto
        if share == 0.0:
            rows = before
        else:
            rows = by_position(_ranked(registry, texts)[0])
        learned = {gold[i] for i in recorded[:upto]}
        unseen = [i for i in asked if gold[i] not in learned]
        points.append({"share": share, "examples": upto,
                       "hit@1_all": hit_rates(rows, gold, asked)["hit@1"],
                       "hit@1_with_examples": hit_rates(rows, gold, [i for i in asked if gold[i] in learned])["hit@1"],
                       "hit@1_without_examples": hit_rates(rows, gold, unseen)["hit@1"],
                       "hit@1_without_examples_before": hit_rates(before, gold, unseen)["hit@1"],
                       "hit@1_functions_with_examples_at_100pct": hit_rates(rows, gold, with_ex)["hit@1"]})
    after_rows, after_ms = _ranked(registry, texts)
    after = by_position(after_rows)
    index = registry.learning.index  # the registry's search index, with the parameters it fitted
    fitted = [round(float(p), 3) for p in index.parameters] if index is not None else None
    vecs = np.asarray(embedder.encode(questions))
    nn = nearest_task_tools(vecs, recorded, asked, gold)
    nn_ranked = {i: [nn[i]] for i in asked}
    out = {"n_recorded": len(recorded), "n_asked": len(asked),
           "before": {"with_examples": hit_rates(before, gold, with_ex), "without_examples": hit_rates(before, gold, without),
                      "all": hit_rates(before, gold, asked)},
           "after": {"with_examples": hit_rates(after, gold, with_ex), "without_examples": hit_rates(after, gold, without),
                     "all": hit_rates(after, gold, asked)},
           "nearest_past_task": {"with_examples": hit_rates(nn_ranked, gold, with_ex)["hit@1"],
                                 "all": hit_rates(nn_ranked, gold, asked)["hit@1"]},
           "search_ms_per_query": {"before_examples": round(before_ms, 2), "after_examples": round(after_ms, 2)},
           "fitted_parameters": {"values": fitted, "names": ["description inverse temperature", "gate bias",
                                                             "gate: nearest cosine", "gate: margin", "gate: novelty"]}}
    if curve:
        out["curve"] = points
    if arguments:
        out["arguments"] = _argument_check(registry, questions, gold, gold_args, with_ex)
        out["model_prior"] = _prototype_prior(vecs, recorded, with_ex, gold, after)
    registry.close()
    return out


def _argument_check(registry, questions, gold, gold_args, idx: list[int]) -> dict:
    """Arguments proposed for the right function from its nearest successful example, checked against the
    schema (valid) and against the ground truth (every given argument equal)."""
    proposed = valid = exact = 0
    for i in idx:
        got = registry.propose_args(gold[i], questions[i])
        if got["args"] is None:
            continue
        proposed += 1
        valid += bool(got["valid"])
        exact += all(_same(got["args"].get(k), v) for k, v in gold_args[i].items())
    n = max(len(idx), 1)
    return {"n": len(idx), "proposed": proposed, "valid_rate": round(valid / n, 4),
            "all_ground_truth_args_equal_rate": round(exact / n, 4)}


def _prototype_prior(vecs: np.ndarray, recorded: list[int], idx: list[int], gold: list[str], searched: dict) -> dict:
    """The consolidated model's skill head as it starts from these examples (agentcl/model: a prototype per
    skill, the mean of its examples through the adapter, which is the identity before training) on the
    questions whose function has examples: alone, and where it and the search disagree. An adapter trained
    by consolidation moves the prototypes; this measures the head the examples themselves give."""
    from agentcl.model.local import SKILL, LocalModel

    model = LocalModel.new(dim=vecs.shape[1])
    model.ensure_classes([(SKILL, gold[i]) for i in recorded], vecs[recorded])
    guesses, _ = model.predict_vectors(vecs[idx], SKILL)
    right = [g == gold[i] for g, i in zip(guesses, idx)]
    search_right = [gold[i] in searched[i][:1] for i in idx]
    n = max(len(idx), 1)
    return {"n": len(idx), "prior_hit@1": round(sum(right) / n, 4),
            "prior_right_search_wrong": sum(p and not s for p, s in zip(right, search_right)),
            "search_right_prior_wrong": sum(s and not p for p, s in zip(right, search_right))}


def _same(a, b) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.strip().lower() == b.strip().lower()
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) < 1e-9
    return a == b


def _temperature_check(specs, questions, gold, embedder) -> dict:
    """Maximum-likelihood inverse temperature of the description ranking alone on each half: a check of the
    one the registry fits leave-one-out on its examples (fitted_parameters[0])."""
    from skills import SkillRegistry

    registry = SkillRegistry.in_memory(embedder=embedder)
    for spec in specs:
        registry.register_spec(spec, origin="bfcl")
    names = [s.name for s in registry.list()]
    rows = registry.search_many(questions, len(names), learned=False)
    position = {n: j for j, n in enumerate(names)}
    scores = np.full((len(questions), len(names)), -1e9)
    for i, row in enumerate(rows):
        for h in row:
            scores[i, position[h.name]] = h.score
    labels = np.array([position[g] for g in gold])
    registry.close()
    halves = {"even": list(range(0, len(questions), 2)), "odd": list(range(1, len(questions), 2))}
    return {f"beta_{h}": fit_temperature(scores[idx], labels[idx]) for h, idx in halves.items()}


def run_learning_from_use(specs, questions, gold, gold_args, embedder, *, data: str) -> dict:
    even, odd = list(range(0, len(questions), 2)), list(range(1, len(questions), 2))
    main = _protocol(specs, questions, gold, gold_args, embedder, even, odd, curve=True, arguments=True)
    swapped = _protocol(specs, questions, gold, gold_args, embedder, odd, even, curve=False, arguments=False)
    return {"data": data, "protocol": "examples recorded for even-numbered questions, odd ones ranked",
            **main,
            "check_halves_swapped": {k: swapped[k] for k in ("before", "after", "nearest_past_task")},
            "check_description_temperature": _temperature_check(specs, questions, gold, embedder)}
