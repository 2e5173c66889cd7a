"""How far can any verify rule get on generated worlds? The frontier of a rule that KNOWS each predicate's
true change rate (read from the generator, `predicate_change_rates`), which the agent can only estimate
from its history: an upper bound for the agent's age-threshold rule (agentcl/agent/verify.py).

The simulated rule, per fact question: the first question about a slot is a lookup; a rotation's value is
known until its end (the lookup gives `valid_until`), then looked up again (or, with `--rotations`,
predicted once the cycle has been seen with a repeat: value of index k = the value seen at k mod n, n the
number of people seen); a value doubted (an announced change, a wrong answer) is looked up; otherwise the
value is looked up when P(changed since last validated) = 1 - exp(-rate * age) exceeds `theta`, else
answered from memory (stale if the world changed it; a wrong answer is then doubted). Lookups are counted
per fact question, so they read as a share of the no-memory agent's (one lookup per question).

    python scripts/drift_bound.py                          # bench worlds: harsh 1000-1009 x seeds 0,1,2
    python scripts/drift_bound.py --first 2000 --seeds 0 --rotations
"""
from __future__ import annotations

import argparse
import math

from agentcl.envs.drift import DriftWorld
from agentcl.envs.generate import generate_scenario, predicate_change_rates

THETAS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 1.0)


def _predict(seen: dict[int, str], end: int, period: int):
    """The rotation's value ending at step `end`, from values seen by end step; None unless the cycle is known."""
    e0 = min(seen)
    by_index = {(e - e0) // period: v for e, v in seen.items()}
    n = len(set(by_index.values()))
    if n < 2 or len(by_index) <= n:  # a repeat is needed before the cycle length is believed
        return None
    residue: dict[int, str] = {}
    for k, v in by_index.items():
        if residue.setdefault(k % n, v) != v:
            return None
    if len(set(residue.values())) != n:
        return None
    return residue.get(((end - e0) // period) % n)


def simulate(world: int, seed: int, theta: float, *, difficulty: str = "harsh", rotations: bool = False) -> dict:
    env = DriftWorld(generate_scenario(world, difficulty))
    env.reset(seed)
    tl, rates = env.timeline, predicate_change_rates(world, difficulty)
    known: dict[tuple, list] = {}  # slot -> [value, validated step, doubted]
    rotation_seen: dict[tuple, dict[int, str]] = {}
    counts = {"first": 0, "rotation": 0, "doubted": 0, "verify": 0, "stale": 0, "questions": 0}
    last_step = 0
    for step, (_, task) in enumerate(env._stream):
        for s in range(last_step, step + 1):  # announced changes doubt what is remembered
            for notice in tl.notices_at(s):
                slot = tl.slot(notice.subject, notice.predicate)
                if (slot.subject, slot.predicate) in known:
                    known[(slot.subject, slot.predicate)][2] = True
        last_step = step + 1
        if task.kind != "fact":
            continue
        counts["questions"] += 1
        slot = tl.slot(task.query.subject, task.query.predicate)
        key, truth = (slot.subject, slot.predicate), tl.value_of(slot.spec, step)
        if key not in known:
            counts["first"] += 1
            known[key] = [truth, step, False]
            if slot.spec.rotation is not None:
                rotation_seen.setdefault(key, {})[tl.valid_until(slot, step)] = truth
            continue
        value, checked, doubted = known[key]
        if slot.spec.rotation is not None:
            if step >= tl.valid_until(slot, checked):
                end = tl.valid_until(slot, step)
                guess = _predict(rotation_seen[key], end, slot.spec.rotation.period) if rotations else None
                if guess != truth:  # no prediction (a lookup), or a wrong one (a stale answer, then a lookup)
                    counts["rotation"] += 1
                    counts["stale"] += guess is not None
                    rotation_seen[key][end] = truth
                known[key] = [truth, step, False]
            continue
        if doubted:
            counts["doubted"] += 1
            known[key] = [truth, step, False]
        elif 1 - math.exp(-rates[slot.predicate] * (step - checked)) > theta:
            counts["verify"] += 1
            known[key] = [truth, step, False]
        elif value == truth:
            known[key] = [value, step, False]
        else:
            counts["stale"] += 1
            known[key][2] = True
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first", type=int, default=1000)
    ap.add_argument("--worlds", type=int, default=10)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--difficulty", default="harsh")
    ap.add_argument("--rotations", action="store_true", help="predict a rotation's next value once its cycle is seen")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    for theta in THETAS:
        total: dict[str, int] = {}
        for w in range(a.first, a.first + a.worlds):
            for seed in seeds:
                for k, v in simulate(w, seed, theta, difficulty=a.difficulty, rotations=a.rotations).items():
                    total[k] = total.get(k, 0) + v
        q = total.pop("questions")
        stale = total.pop("stale")
        share = sum(total.values()) / q
        parts = ", ".join(f"{k} {v / q:.3f}" for k, v in total.items())
        print(f"theta {theta:<4}  lookups {share:.1%} of no-memory's  stale {stale / q:.2%}   ({parts})")


if __name__ == "__main__":
    main()
