"""The consolidation job on DriftWorld's own facts and tools (the packaged scenario by default).

One consolidation at the end of each scenario phase. Before it, the store receives the value every fact
slot has at that step (changed values supersede the old ones, as the agent's revisions would), and the
job receives successful usages of the tools that appeared or changed signature during the phase (task
texts from the world's own operations, arguments under the signature running then). Tools not new in a
phase are not practised again: the class-incremental case in which an agent forgets tools it has not
touched. Deprecated tools are retired.

Measured on the *promoted* model, with task texts held out from training:
- stale answers: slots whose answer is one of the slot's superseded values, asked with the world's own
  question (the job itself probes with its canonical phrasing);
- tool forgetting: per earlier tool still live, best accuracy since it was learned minus final accuracy
  (points), averaged over those tools.
Runs: `naive` and `replay` with the corrective round and the gate off (what the strategy alone keeps),
and `full` (replay + corrective round + gate: the default configuration)."""
from __future__ import annotations

import random
import tempfile
import time

import numpy as np

RUNS = {  # label -> configuration overrides
    "naive": {"strategy": "naive", "correct": False, "gate": False},
    "replay": {"strategy": "replay", "correct": False, "gate": False},
    "full": {"strategy": "replay", "correct": True, "gate": True},
}


def _phase_ends(scenario) -> list[tuple[str, int, int]]:
    """(phase name, first step, last step) of each phase."""
    out, start = [], 0
    for phase in scenario.phases:
        out.append((phase.name, start, start + phase.steps - 1))
        start += phase.steps
    return out


def _tools_learned(toolbook, first: int, last: int, initial: bool) -> list[tuple[str, object]]:
    """(tool name, running version) of tools that appeared or changed in [first, last] and run at `last`."""
    out = []
    for tool in toolbook.tools.values():
        version = toolbook.running(tool.name, last)
        if version is None or toolbook.is_deprecated(tool, last):
            continue
        if initial or any(first <= v.from_step <= last for v in tool.versions):
            out.append((tool.name, version))
    return out


def _tasks(operation: str, count: int, seed: str) -> list[dict]:
    """Distinct canonical inputs of an operation with their rendered task text."""
    from agentcl.envs.operations import OPERATIONS

    op, rng, seen, out = OPERATIONS[operation], random.Random(seed), set(), []
    for _ in range(count * 50):
        if len(out) == count:
            break
        inputs = op.generate(rng)
        text = op.render(inputs)
        if text not in seen:
            seen.add(text)
            out.append({"text": text, "inputs": inputs})
    return out


def _usages(toolbook, learned, per_tool: int, seed: int, round_index: int) -> list[dict]:
    out = []
    for name, version in learned:
        operation = toolbook.tools[name].operation
        for task in _tasks(operation, per_tool, f"{seed}:train:{round_index}:{name}"):
            args = {p.name: task["inputs"][p.input or p.name] for p in version.params}
            out.append({"task": task["text"], "skill": name, "args": args})
    return out


def _write_facts(store, timeline, step: int) -> int:
    """Bring the store to the world's values at `step`; returns how many values changed."""
    changed = 0
    for slot in timeline.slots.values():
        value = timeline.value_of(slot.spec, step)
        current = store.current(slot.subject, slot.predicate)
        if current is None or current.object != value:
            store.add_fact(slot.subject, slot.predicate, value, source="user")
            changed += current is not None
    return changed


def _stale_answers(model, store, timeline, question_vecs) -> dict[str, str]:
    """Slot -> superseded value (in the store's history) the model answers to the world's own question."""
    asked = []  # (slot, superseded values)
    for slot in timeline.slots.values():
        old = {f.object for f in store.history(slot.subject, slot.predicate) if f.status == "superseded"}
        current = store.current(slot.subject, slot.predicate)
        old -= {current.object} if current is not None else set()
        if old:
            asked.append((slot, old))
    if model is None or not asked:
        return {}
    answers, _ = model.predict_vectors(np.stack([question_vecs[s.question] for s, _ in asked]), "fact")
    return {f"{s.subject} / {s.predicate}": a for (s, old), a in zip(asked, answers) if a in old}


def _tool_accuracy(model, toolbook, step: int, tests: dict[str, np.ndarray]) -> dict[str, float]:
    """Per live tool: how often the model proposes it for held-out tasks of its operation (encoded once)."""
    out = {}
    for name, vectors in tests.items():
        tool = toolbook.tools[name]
        if toolbook.running(name, step) is None or toolbook.is_deprecated(tool, step) or model is None:
            continue
        labels, _ = model.predict_vectors(vectors, "skill")
        out[name] = round(sum(label == name for label in labels) / len(vectors), 4)
    return out


def run_drift_consolidation(*, seed: int = 0, device: str = "cpu", embedder=None, scenario=None,
                            per_tool: int = 24, test_per_tool: int = 30, runs=tuple(RUNS)) -> dict:
    """Each run in `runs` on the same world and seed; see the module docstring."""
    from agentcl.consolidation import ConsolidationConfig, consolidate
    from agentcl.envs.drift import DriftWorld
    from agentcl.model import load_promoted
    from memory_store import MemoryStore
    from memory_store.embedding import get_default_embedder

    world = DriftWorld(scenario)
    timeline, toolbook = world.timeline, world.toolbook
    embedder = embedder or get_default_embedder(device)
    phases = _phase_ends(world.scenario)
    train_texts = {u["task"] for i, (_, first, last) in enumerate(phases)
                   for u in _usages(toolbook, _tools_learned(toolbook, first, last, i == 0), per_tool, seed, i)}
    tests = {}
    for name, tool in toolbook.tools.items():  # held-out texts: never among the training usages
        texts = [t["text"] for t in _tasks(tool.operation, test_per_tool + 2 * per_tool, f"{seed}:test:{name}")
                 if t["text"] not in train_texts][:test_per_tool]
        tests[name] = embedder.encode(texts)
    questions = sorted({slot.question for slot in timeline.slots.values()})
    question_vecs = dict(zip(questions, embedder.encode(questions)))
    out = {}
    for label in runs:
        home = tempfile.mkdtemp(prefix=f"agentcl-drift-cl-{label}-")
        cfg = ConsolidationConfig(seed=seed, replay_size=200, **RUNS[label])
        started = time.perf_counter()
        rounds, learned_at, accuracy_rows = [], {}, []
        with MemoryStore.open(None, home=home, embedder=embedder) as store:
            for index, (phase, first, last) in enumerate(phases):
                changed = _write_facts(store, timeline, last)
                learned = _tools_learned(toolbook, first, last, initial=index == 0)
                retired = [t.name for t in toolbook.tools.values() if toolbook.is_deprecated(t, last)]
                rep = consolidate(store, device=device, config=cfg, home=home, retire=retired,
                                  usages=_usages(toolbook, learned, per_tool, seed, index))
                model = load_promoted(home, embedder=embedder, device=device)
                for name, _ in learned:
                    learned_at.setdefault(name, index)
                accuracy_rows.append(_tool_accuracy(model, toolbook, last, tests))
                stale = _stale_answers(model, store, timeline, question_vecs)
                d = rep.to_dict()
                rounds.append({"phase": phase, "step": last, "facts_changed": changed,
                               "tools_learned": [n for n, _ in learned], "retired": retired,
                               "stale_answers": len(stale), "stale_slots": stale,
                               **{k: d[k] for k in ("promoted", "reason", "examples", "replayed", "stale_before",
                                                    "stale_detected", "stale_corrected", "stale_remaining",
                                                    "forgotten_detected", "forgotten_corrected")},
                               "metrics": {k: d["metrics"].get(k) for k in ("acc", "bwt", "fwt", "forgetting")}})
        final = len(phases) - 1
        earlier = [n for n, at in learned_at.items() if at < final and n in accuracy_rows[-1]]
        drops = {n: round(100 * (max(row.get(n, 0.0) for row in accuracy_rows[learned_at[n]:])
                                 - accuracy_rows[-1][n]), 2) for n in earlier}
        out[label] = {
            "config": RUNS[label],
            "tool_forgetting_points": round(sum(drops.values()) / len(drops), 2) if drops else None,
            "tool_forgetting_by_tool": drops,
            "final_tool_accuracy": accuracy_rows[-1],
            "tool_accuracy_by_round": accuracy_rows,
            "stale_answers_by_round": [r["stale_answers"] for r in rounds],
            "stale_before_by_round": [r["stale_before"] for r in rounds],
            "rounds": rounds,
            "seconds": round(time.perf_counter() - started, 2),
        }
    return {"scenario": world.scenario.name, "seed": seed, "phases": [p for p, _, _ in phases],
            "per_tool": per_tool, "test_per_tool": test_per_tool, "runs": out}
