"""Stages of a language-model consolidation round that touch the model: training with a class-balanced
text replay, and the probes (all by greedy batched generation, graded by the pure rules of
text_examples)."""
from __future__ import annotations

import json
import random
import time
from functools import lru_cache
from importlib import resources

from .pipeline import TrainStats
from .text_examples import (
    Anchor,
    Slot,
    TextExample,
    call_problem,
    fact_questions,
    grade_general,
    is_stale,
    says_current,
    tool_prompt,
)


@lru_cache(maxsize=1)
def general_questions() -> dict:
    """The shipped general questions: {"locality": [{"q", "a": [...]}, ...], "anchors": [question, ...]}."""
    text = resources.files("agentcl.consolidation.data").joinpath("general_questions.json").read_text()
    return json.loads(text)


# -- training ---------------------------------------------------------------------------------------
def balanced_sample(pool: list[TextExample], n: int, rng: random.Random) -> list[TextExample]:
    """n replayed examples, class-balanced: a key (slot, tool or anchor) uniformly, then one of its examples."""
    if not pool or n <= 0:
        return []
    by_key: dict = {}
    for ex in pool:
        by_key.setdefault(ex.key, []).append(ex)
    keys = list(by_key)
    return [rng.choice(by_key[rng.choice(keys)]) for _ in range(n)]


def train_round(lm, examples: list[TextExample], replay: list[TextExample], *, epochs: int, min_epochs: int,
                batch_size: int, lr: float, seed: int, learned=None, anchors: list[TextExample] = (),
                anchor_batch: int = 4, kl_weight: float = 1.0, min_steps: int = 0, warmup_steps: int = 0,
                kl_previous: float = 0.0, previous_knows=None) -> TrainStats:
    """Epochs over `examples`; every step is joined by a full batch of class-balanced replay (earlier
    slots and tools) and by `anchor_batch` anchors of each kind (shipped general questions, policy
    prompts) distilled towards the base model (KL, not fitted to its text). Stops once `learned()` (a
    cheap probe of new and kept material) says True, but not before `min_epochs` epochs and `min_steps` steps: a round of a few changed facts must not be a
    few unopposed steps on them. The learning rate warms up over `warmup_steps`, because a fresh Adam's
    first steps move every adapter weight by about `lr`, whatever the gradient.

    `kl_previous` > 0 (the caller holds the previous adapter in `lm`, lm.hold_previous): the replayed
    rows the previous adapter was trained on (`previous_knows`; None: every replayed row) are also kept
    close to it, KL(previous || current) at their answer positions."""
    stats, started = TrainStats(examples=len(examples)), time.perf_counter()
    rng = random.Random(seed)
    opt = lm.optimizer(lr)
    by_kind: dict[str, list[TextExample]] = {}  # each kind of anchor gets its own `anchor_batch` rows a step
    for a in anchors:
        by_kind.setdefault(a.key.kind, []).append(a)
    pools = list(by_kind.values())
    knows = None if previous_knows is None else set(previous_knows)
    per_epoch = max(1, -(-len(examples) // batch_size))
    limit = max(epochs, -(-min_steps // per_epoch)) if examples and epochs > 0 else 0
    for epoch in range(limit):
        order = list(examples)
        rng.shuffle(order)
        total = 0.0
        for start in range(0, len(order), batch_size):
            for group in opt.param_groups:
                group["lr"] = lr * min(1.0, (stats.steps + 1) / (warmup_steps + 1))
            batch = order[start: start + batch_size]
            extra = balanced_sample(replay, batch_size, rng)
            general = [rng.choice(pool) for pool in pools for _ in range(min(anchor_batch, len(pool)))]
            rows = batch + extra + general
            flags = [isinstance(e.key, Anchor) for e in rows]
            held = {}  # only when asked for: an LM without a previous adapter keeps the plain signature
            if kl_previous > 0:
                held = dict(kl_previous=kl_previous, previous=[False] * len(batch) + [
                    knows is None or e in knows for e in extra] + [False] * len(general))
            total += lm.train_step([(e.user, e.answer, e.context) if e.context else (e.user, e.answer) for e in rows],
                                   opt, distill=flags, kl_weight=kl_weight,
                                   **held)
            stats.steps += 1
            stats.sequences += len(rows)
            stats.replayed += len(extra) + len(general)
        stats.epochs = epoch + 1
        stats.losses.append(round(total / per_epoch, 4))
        done_min = epoch + 1 >= min_epochs and stats.steps >= min_steps
        if learned is not None and done_min and epoch + 1 < limit and learned():
            break
    stats.seconds = round(time.perf_counter() - started, 3)
    return stats


# -- probes -----------------------------------------------------------------------------------------
def ask_slots(lm, slots: list[Slot], *, unseen: bool, max_new_tokens: int) -> dict[Slot, list[str]]:
    """Each slot's answers: to its first trained phrasing, or to every unseen phrasing."""
    questions = [(s, q) for s in slots for q in (fact_questions(s, unseen=True) if unseen
                                                 else fact_questions(s, trained=1))]
    answers = lm.generate([q for _, q in questions], max_new_tokens=max_new_tokens)
    out: dict[Slot, list[str]] = {}
    for (slot, _), a in zip(questions, answers):
        out.setdefault(slot, []).append(a)
    return out


def slot_accuracy(answers: dict[Slot, list[str]], values: dict[Slot, str]) -> float | None:
    graded = [says_current(a, values[s]) for s, items in answers.items() for a in items]
    return None if not graded else sum(graded) / len(graded)


def stale_slots(answers: dict[Slot, list[str]], current: dict[Slot, str | None], superseded: dict) -> dict:
    """Slot -> the stale answer, for answers with a superseded value and not the current one."""
    return {s: items[0] for s, items in answers.items()
            if any(is_stale(a, current.get(s), superseded.get(s, ())) for a in items)}


def tool_validity(lm, tools: dict[str, dict], *, max_new_tokens: int, asker=None) -> dict[str, dict]:
    """Per tool: the share of its probe tasks answered with a valid call under today's signature. With an
    `asker` (ToolAsker), each task is asked the way the agent's policy asks it; otherwise as tool_prompt."""
    asks = [(name, task) for name, info in tools.items() for task in info.get("probes", [])]
    if asker is not None:
        answers = asker.replies(lm, asks, max_new_tokens=max_new_tokens)
    else:
        answers = lm.generate([tool_prompt(t) for _, t in asks], max_new_tokens=max_new_tokens)
    out: dict[str, dict] = {}
    for (name, task), text in zip(asks, answers):
        info = tools[name]
        problem = call_problem(text, name, info["params"], info.get("required"))
        entry = out.setdefault(name, {"valid": 0, "asked": 0, "problems": []})
        entry["asked"] += 1
        entry["valid"] += problem is None
        if problem is not None and len(entry["problems"]) < 3:
            entry["problems"].append({"task": task, "answer": text[:200], "problem": problem})
    for entry in out.values():
        entry["rate"] = entry["valid"] / entry["asked"]
    return out


def forgotten_tools(validity: dict[str, dict], tools: dict[str, dict], *, threshold: float) -> dict:
    return {name: {"best": tools[name].get("best", 0.0), "now": round(v["rate"], 4), "problems": v["problems"]}
            for name, v in validity.items() if tools[name].get("best", 0.0) - v["rate"] > threshold}


def locality(lm, *, limit: int | None, base: bool, max_new_tokens: int, answers_out: list | None = None,
             scoped: bool = True, base_right: list[bool] | None = None) -> list[bool]:
    """Per general question: answered right? (`answers_out` receives the answers, for the report.)
    `scoped`: as the model is used (out-of-scope prompts go to the base model); False: every prompt
    through the adapter. With `base_right` (the base model's grades), a scoped probe generates only the
    prompts inside the adapter's scope: the others are answered by the base model, greedily, so their
    grade is the base model's (their answer is left empty: they can never be lost)."""
    items = general_questions()["locality"][:limit]
    questions = [it["q"] for it in items]
    scope = getattr(lm, "scope", None)
    if base or not scoped or base_right is None or scope is None or len(base_right) != len(items):
        answers = lm.generate(questions, max_new_tokens=max_new_tokens, adapter=not base, scoped=scoped)
        graded = [grade_general(a, it["a"]) for a, it in zip(answers, items)]
    else:
        inside = [i for i, q in enumerate(questions) if scope.covers(q)]
        asked = lm.generate([questions[i] for i in inside], max_new_tokens=max_new_tokens) if inside else []
        answers, graded = [""] * len(items), list(base_right)
        for i, a in zip(inside, asked):
            answers[i], graded[i] = a, grade_general(a, items[i]["a"])
    if answers_out is not None:
        answers_out.extend(answers)
    return graded


def locality_lost(base_right: list[bool], now_right: list[bool], answers: list[str], *, limit: int = 5) -> list:
    """A few general questions the base model answered right and the candidate no longer does."""
    items = general_questions()["locality"]
    lost = [{"question": items[i]["q"], "expected": items[i]["a"][0], "answer": answers[i][:120]}
            for i, (b, n) in enumerate(zip(base_right, now_right)) if b and not n]
    return lost[:limit]


def locality_kept(base_right: list[bool], now_right: list[bool]) -> float | None:
    """Of the general questions the base model answered right, the share still answered right."""
    pairs = [n for b, n in zip(base_right, now_right) if b]
    return None if not pairs else sum(pairs) / len(pairs)


def anchors(lm, *, limit: int | None, max_new_tokens: int) -> list[TextExample]:
    prompts = general_questions()["anchors"][:limit]
    answers = lm.generate(prompts, max_new_tokens=max_new_tokens, adapter=False)
    return [TextExample(Anchor(i), q, a) for i, (q, a) in enumerate(zip(prompts, answers)) if a]
