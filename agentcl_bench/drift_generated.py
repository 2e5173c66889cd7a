"""Generated worlds in `agentcl bench drift`: the agent on N scenarios from `agentcl scenario generate`
(seeds `first_world`..`first_world + N - 1`, one difficulty) x the run seeds, so no figure rests on one
hand-written world. The worlds are never looked at one by one: only the means over all of them are reported.

Agents (the same Agent code, the local policy):
- full system: full memory, volatility learned from history, cost-aware verify (agentcl/agent/verify.py);
- append-only memory (no supersede, no expiry; same verify rule);
- no memory (it looks every fact up);
- always verify: full memory, every remembered value looked up before it is used.
Consolidation is off here: a round trains the local model for minutes per run, and on the packaged
scenario it did not change the agent's success (README, `bench drift`)."""
from __future__ import annotations

import json
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

FIRST_WORLD = 1000  # generator seeds of the benchmark worlds (held out from anything looked at while building)
STALE_TARGET = 0.02
RECOVERY_TARGET = 2.0
LOOKUP_SHARE_TARGET = 0.5


@dataclass(frozen=True)
class GeneratedAgent:
    key: str
    label: str
    memory: str
    verify: str


AGENTS = (
    GeneratedAgent("full_system", "full system", "full", "cost"),
    GeneratedAgent("append_only", "append-only memory", "append", "cost"),
    GeneratedAgent("no_memory", "no memory (always looks up)", "none", "cost"),
    GeneratedAgent("always_verify", "always verify", "full", "always"),
)


def _mean(values):
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def summarise(runs: list[dict]) -> dict:
    """Means over every (world, seed) run of one agent; recovery as the median of the runs' medians."""
    medians = [r["median_recovery_tasks"] for r in runs if r["median_recovery_tasks"] is not None]
    return {"runs": len(runs),
            "success_rate": _mean([r["success_rate"] for r in runs]),
            "stale_answer_rate": _mean([r["stale_answer_rate"] for r in runs]),
            "lookups_per_task": _mean([r["lookups_per_task"] for r in runs]),
            "median_recovery_tasks": float(statistics.median(medians)) if medians else None}


def target_rows(agents: dict[str, dict], difficulty: str, worlds: int, seeds: list[int]) -> list[dict]:
    """The issue's targets for the full system against the no-memory agent, with ok from this run."""
    rows = [{"metric": f"{difficulty} worlds ({worlds} x {len(seeds)} seeds): success / stale / lookups per task / "
                       f"median recovery: {a['label']}",
             "value": " / ".join(_fmt(a["mean"][k], p) for k, p in (("success_rate", False),
                                                                   ("stale_answer_rate", True),
                                                                   ("lookups_per_task", False),
                                                                   ("median_recovery_tasks", False))),
             "target": None, "ok": None} for a in agents.values()]
    full, none = agents.get("full_system"), agents.get("no_memory")
    if full is None:
        return rows
    m = full["mean"]
    rows.append({"metric": f"{difficulty} worlds: stale-answer rate, full system", "value": _fmt(m["stale_answer_rate"], True),
                 "target": f"<= {STALE_TARGET:.0%}", "ok": _le(m["stale_answer_rate"], STALE_TARGET)})
    rec = m["median_recovery_tasks"]
    rows.append({"metric": f"{difficulty} worlds: median recovery after a tool change, full system",
                 "value": _fmt(rec, False), "target": f"<= {RECOVERY_TARGET:g}", "ok": _le(rec, RECOVERY_TARGET)})
    if none is not None:
        n = none["mean"]
        rows.append({"metric": f"{difficulty} worlds: success, full system vs no memory",
                     "value": f"{_fmt(m['success_rate'], False)} vs {_fmt(n['success_rate'], False)}",
                     "target": ">= no memory", "ok": None if m["success_rate"] is None or n["success_rate"] is None
                     else m["success_rate"] >= n["success_rate"]})
        share = (m["lookups_per_task"] / n["lookups_per_task"]) if n["lookups_per_task"] else None
        rows.append({"metric": f"{difficulty} worlds: lookups per task, full system / no memory",
                     "value": f"{_fmt(m['lookups_per_task'], False)} / {_fmt(n['lookups_per_task'], False)} "
                              f"({_fmt(share, True)})",
                     "target": f"<= {LOOKUP_SHARE_TARGET:.0%}", "ok": _le(share, LOOKUP_SHARE_TARGET)})
    return rows


def _le(value, bound) -> bool | None:
    return None if value is None else value <= bound


def _fmt(value, pct: bool) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.1f}%" if pct else f"{value:.3f}"


def frontier_points(agents: dict[str, dict]) -> list[dict]:
    """One (lookups per task, success) point per agent: the cost-accuracy frontier."""
    return [{"agent": a["label"], "lookups_per_task": a["mean"]["lookups_per_task"],
             "success_rate": a["mean"]["success_rate"], "stale_answer_rate": a["mean"]["stale_answer_rate"]}
            for a in agents.values()]


def _run(agent: GeneratedAgent, scenario_path: str, seed: int, embedder) -> dict:
    from agentcl.agent.config import AgentConfig
    from agentcl.agent.runner import run_agent
    from memory_store import MemoryStore

    with tempfile.TemporaryDirectory(prefix=f"agentcl-gen-{agent.key}-") as home:
        store = MemoryStore.open(f"sqlite:///{Path(home) / 'memory.db'}", home=home, embedder=embedder)
        try:
            config = AgentConfig(memory=agent.memory, verify=agent.verify, use_model_prior=False)
            report = run_agent(scenario=scenario_path, seed=seed, store=store, registry=None, config=config,
                               save=False)
        finally:
            store.close()
    return {"seed": seed, "success_rate": report["success_rate"], "stale_answer_rate": report["stale_answer_rate"],
            "median_recovery_tasks": report["median_recovery_tasks"], "lookups": report["lookups"],
            "lookups_per_task": report["lookups"] / report["tasks"] if report["tasks"] else None,
            "cycle_predictions": report.get("cycle_predictions"), "seconds": report["seconds"]}


def run_generated_worlds(*, worlds: int = 10, difficulty: str = "harsh", seeds=(0, 1, 2), embedder,
                         first_world: int = FIRST_WORLD, agents=AGENTS, progress=None) -> dict:
    """Every agent on every generated world and seed; per-agent means and the frontier points."""
    from agentcl.envs.generate import generate_scenario
    from agentcl.envs.scenario import load_scenario

    seeds = [int(s) for s in seeds]
    runs: dict[str, list[dict]] = {a.key: [] for a in agents}
    with tempfile.TemporaryDirectory(prefix="agentcl-worlds-") as tmp:
        for w in range(first_world, first_world + worlds):
            path = Path(tmp) / f"{difficulty}-{w}.json"
            data = generate_scenario(w, difficulty)
            load_scenario(data)  # the loader users get
            path.write_text(json.dumps(data))
            for agent in agents:
                for seed in seeds:
                    row = _run(agent, str(path), seed, embedder)
                    runs[agent.key].append({"world": w, **row})
                    if progress is not None:
                        progress(f"{difficulty}-{w}/{agent.key}", seed, row)
    out = {a.key: {"label": a.label, "memory": a.memory, "verify": a.verify, "mean": summarise(runs[a.key]),
                   "runs": runs[a.key]} for a in agents}
    return {"difficulty": difficulty, "worlds": list(range(first_world, first_world + worlds)), "seeds": seeds,
            "agents": out, "summary": target_rows(out, difficulty, worlds, seeds), "frontier": frontier_points(out)}


def plot_frontier(generated: dict, path: Path) -> Path | None:
    """Success against lookups per task, one point per agent; None (no plot) when matplotlib is missing."""
    try:
        from agentcl_bench.suite_report import _pyplot

        plt = _pyplot()
    except ImportError:
        return None
    points = [p for p in generated.get("frontier") or [] if p["lookups_per_task"] is not None]
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for p in points:
        ax.scatter(p["lookups_per_task"], p["success_rate"], s=50)
        ax.annotate(f"{p['agent']}\n(stale {100 * (p['stale_answer_rate'] or 0):.1f}%)",
                    (p["lookups_per_task"], p["success_rate"]), fontsize=7, xytext=(5, 5),
                    textcoords="offset points")
    ax.set_xlabel("lookups per task (cost)")
    ax.set_ylabel("success rate")
    ax.set_title(f"Cost-accuracy frontier: {len(generated['worlds'])} {generated['difficulty']} worlds x "
                 f"{len(generated['seeds'])} seeds")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
