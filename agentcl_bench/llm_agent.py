"""`agentcl bench llm-agent`: the local LM as the agent's policy (`agentcl run --policy llm --text-only`),
with consolidation into that same model every N steps against none, same world, same seed, one model
loaded once (each arm starts from the fresh, identity adapter in its own temporary home), on one or more
seeds. The local (no-LLM) policy runs the same world, text-only and structured, for reference. Each seed's
`paired` lists every step right or wrong in each LLM arm and the steps consolidation gained or lost;
`totals` sums them over the seeds and gives the verdict."""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

SCENARIO = Path(__file__).with_name("llm_agent_scenario.json")
# Short rounds for a 2-core CPU: few epochs with early stopping, a few general questions for locality.
ROUND = {"epochs": 4, "min_epochs": 1, "corrective_epochs": 2, "locality_limit": 8, "anchors_limit": 4,
         "cpu_threads": 2}


def _arm(report: dict) -> dict:
    rounds = report.get("consolidation_reports") or []
    return {"success": report["success_rate"], "stale_answers": report["stale_answer_rate"],
            "lookups": report["task_lookups"], "tasks": report["tasks"],
            "consolidations": len(rounds), "promoted": sum(bool(r.get("promoted")) for r in rounds),
            "reasons": [r.get("reason") for r in rounds],
            "round_seconds": round(sum(float(r.get("seconds") or 0) for r in rounds), 1),
            "seconds": report["seconds"]}


def helped(d_success: float, d_lookups: int) -> bool:
    """Consolidation helped the agent: it raised success, or it lowered lookups without costing success
    (fewer lookups bought with wrong answers is no help). Pure."""
    return d_success > 0 or (d_lookups < 0 and d_success >= 0)


def paired_steps(base: list[dict], other: list[dict]) -> dict:
    """Per step, right or wrong in each arm (the same world and seed ask the same task at each step), and
    the steps whose outcome differs: which tasks consolidation changed, and how (pure)."""
    by_step = {(r["episode"], r["step"]): r for r in other}
    steps, gained, lost = [], [], []
    for r in base:
        o = by_step.get((r["episode"], r["step"]))
        if o is None:
            continue
        row = {"step": r["step"], "task": r["task_id"], "kind": r["kind"], "phase": r["phase"],
               "base": bool(r["correct"]), "consolidated": bool(o["correct"]),
               "lookups": [int(r.get("lookups") or 0), int(o.get("lookups") or 0)],
               "answers": [r.get("answer"), o.get("answer")]}
        if row["task"] != o["task_id"]:
            row["note"] = f"different task in the other arm: {o['task_id']}"
        steps.append(row)
        if row["consolidated"] and not row["base"]:
            gained.append(row["step"])
        elif row["base"] and not row["consolidated"]:
            lost.append(row["step"])
    return {"steps": steps, "gained": gained, "lost": lost}


def _run(home: Path, **options) -> dict:
    """One agent run whose store and checkpoints live in `home` (a temporary directory)."""
    from agentcl.agent.runner import default_store, run_agent

    home.mkdir(parents=True, exist_ok=True)
    return run_agent(save=False, open_store=lambda: default_store(url=f"sqlite:///{home / 'memory.db'}", home=home),
                     **options)


def seed_totals(per_seed: list[dict]) -> dict:
    """The seeds taken together (pure): each arm's mean success and stale-answer rate and its total lookups,
    and the paired steps consolidation gained and lost over all seeds. One run of a 135M model is a few
    greedy tokens from another; only the totals say whether consolidation helps."""
    def arm_totals(name: str) -> dict:
        arms = [s["arms"][name] for s in per_seed]
        return {"success": sum(a["success"] for a in arms) / len(arms),
                "stale_answers": sum(a["stale_answers"] for a in arms) / len(arms),
                "lookups": sum(a["lookups"] for a in arms), "tasks": sum(a["tasks"] for a in arms)}

    base, cons = arm_totals("no consolidation"), arm_totals("consolidation")
    gained = sum(len(s["paired"]["gained"]) for s in per_seed)
    lost = sum(len(s["paired"]["lost"]) for s in per_seed)
    d_success, d_lookups = round(cons["success"] - base["success"], 4), cons["lookups"] - base["lookups"]
    for arm in (base, cons):
        arm["success"], arm["stale_answers"] = round(arm["success"], 4), round(arm["stale_answers"], 4)
    return {"seeds": [s["seed"] for s in per_seed], "no consolidation": base, "consolidation": cons,
            "success_change": d_success, "lookups_change": d_lookups, "gained": gained, "lost": lost,
            "helped": helped(d_success, d_lookups)}


def _run_seed(policy, *, seed: int, every: int, scenario: str, device: str, round_config: dict) -> dict:
    """Both LLM arms (each from the base model, in its own temporary home) and the local policy's two, on
    one seed."""
    from agentcl.agent.config import AgentConfig

    arms, reports = {}, {}
    with tempfile.TemporaryDirectory(prefix="agentcl-llm-agent-") as tmp:
        for name, n in (("no consolidation", 0), ("consolidation", every)):
            policy.lm.set_adapter_state(None)  # both arms start from the base model
            cfg = AgentConfig(consolidate_every=n, device=device, lm_consolidation=round_config)
            reports[name] = _run(Path(tmp) / f"arm{n}", scenario=scenario, seed=seed, policy="llm",
                                 policy_object=policy, text_only=True, config=cfg, device=device, include_records=True)
            arms[name] = _arm(reports[name])
            print(json.dumps({"seed": seed, "arm": name, **arms[name]}, default=str), file=sys.stderr, flush=True)
        for name, text_only in (("local policy, text only", True), ("local policy, structured", False)):
            report = _run(Path(tmp) / name.replace(" ", "_").replace(",", ""), scenario=scenario, seed=seed,
                          policy="local", text_only=text_only, device=device)
            arms[name] = _arm(report)
    policy.lm.set_adapter_state(None)
    return {"seed": seed, "arms": arms,
            "paired": paired_steps(reports["no consolidation"]["records"], reports["consolidation"]["records"])}


def _summary(per_seed: list[dict], totals: dict, every: int) -> list[dict]:
    rows = []
    for s in per_seed:
        a = s["arms"]
        rows += [{"metric": f"seed {s['seed']}, {name}: success / stale / lookups",
                  "value": f"{a[name]['success']:.3f} / {a[name]['stale_answers']:.3f} / {a[name]['lookups']}",
                  "target": None, "ok": None} for name in a]
        rows.append({"metric": f"seed {s['seed']}: paired steps right only with consolidation / only without",
                     "value": f"{s['paired']['gained']} / {s['paired']['lost']}", "target": None, "ok": None})
        rows.append({"metric": f"seed {s['seed']}: rounds promoted / run",
                     "value": f"{a['consolidation']['promoted']} / {a['consolidation']['consolidations']}",
                     "target": None, "ok": None})
    b, c = totals["no consolidation"], totals["consolidation"]
    rows.append({"metric": f"all seeds: success (mean), no consolidation -> consolidation every {every}",
                 "value": f"{b['success']:.3f} -> {c['success']:.3f}", "target": None, "ok": None})
    rows.append({"metric": "all seeds: lookups (total), no consolidation -> consolidation",
                 "value": f"{b['lookups']} -> {c['lookups']}", "target": None, "ok": None})
    rows.append({"metric": "all seeds: steps gained / lost by consolidation",
                 "value": f"{totals['gained']} / {totals['lost']}", "target": None, "ok": None})
    rows.append({"metric": "all seeds: success change, lookups change",
                 "value": f"{totals['success_change']:+.3f}, {totals['lookups_change']:+d}",
                 "target": "success up, or lookups down with success kept", "ok": totals["helped"]})
    return rows


def run_llm_agent_bench(*, every: int = 4, seeds: tuple[int, ...] = (0,), scenario: str | None = None,
                        model_dir: str | None = None, device: str = "auto", config: dict | None = None,
                        lm=None) -> dict:
    """Every seed in one process with one loaded model; per seed both arms and their paired steps, and the
    totals over the seeds (seed_totals), which carry the verdict."""
    from agentcl.policies.local_lm import LocalLMPolicy
    from memory_store.embedding import resolve_device

    scenario = str(scenario or SCENARIO)
    device = resolve_device(device)
    started = time.perf_counter()
    policy = LocalLMPolicy(lm=lm, model_dir=model_dir, device=device)
    load_seconds = round(time.perf_counter() - started, 1)
    round_config = {**ROUND, **(config or {})}
    per_seed = [_run_seed(policy, seed=seed, every=every, scenario=scenario, device=device, round_config=round_config)
                for seed in seeds]
    totals = seed_totals(per_seed)
    return {"benchmark": "llm-agent", "scenario": scenario, "seeds": list(seeds), "every": every, "device": device,
            "model": policy.model, "model_load_seconds": load_seconds, "round": round_config,
            "per_seed": per_seed, "totals": totals, "summary": _summary(per_seed, totals, every),
            "seconds": round(time.perf_counter() - started, 1)}
