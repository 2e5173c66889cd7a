"""`agentcl bench llm-agent`: the local LM as the agent's policy (`agentcl run --policy llm --text-only`),
with consolidation into that same model every N steps against none, same world, same seed, one model
loaded once (each arm starts from the fresh, identity adapter in its own temporary home). The local
(no-LLM) policy runs the same world, text-only and structured, for reference. `paired` lists every step
right or wrong in each LLM arm, and the steps consolidation gained or lost."""
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


def run_llm_agent_bench(*, every: int = 4, seed: int = 0, scenario: str | None = None, model_dir: str | None = None,
                        device: str = "auto", config: dict | None = None, lm=None) -> dict:
    from agentcl.policies.local_lm import LocalLMPolicy
    from memory_store.embedding import resolve_device

    scenario = str(scenario or SCENARIO)
    device = resolve_device(device)
    started = time.perf_counter()
    policy = LocalLMPolicy(lm=lm, model_dir=model_dir, device=device)
    load_seconds = round(time.perf_counter() - started, 1)
    round_config = {**ROUND, **(config or {})}
    arms, reports = {}, {}
    with tempfile.TemporaryDirectory(prefix="agentcl-llm-agent-") as tmp:
        for name, n in (("no consolidation", 0), (f"consolidation every {every}", every)):
            policy.lm.set_adapter_state(None)  # both arms start from the base model
            from agentcl.agent.config import AgentConfig

            cfg = AgentConfig(consolidate_every=n, device=device, lm_consolidation=round_config)
            home = Path(tmp) / f"arm{n}"
            reports[name] = _run(home, scenario=scenario, seed=seed, policy="llm", policy_object=policy,
                                 text_only=True, config=cfg, device=device, include_records=True)
            arms[name] = _arm(reports[name])
            print(json.dumps({"arm": name, **arms[name]}, default=str), file=sys.stderr, flush=True)
        for name, text_only in (("local policy, text only", True), ("local policy, structured", False)):
            report = _run(Path(tmp) / name.replace(" ", "_").replace(",", ""), scenario=scenario, seed=seed,
                          policy="local", text_only=text_only, device=device)
            arms[name] = _arm(report)
    policy.lm.set_adapter_state(None)
    base, cons = arms["no consolidation"], arms[f"consolidation every {every}"]
    paired = paired_steps(reports["no consolidation"]["records"], reports[f"consolidation every {every}"]["records"])
    summary = [
        {"metric": f"{name}: success / stale / lookups", "value": f"{a['success']:.3f} / {a['stale_answers']:.3f} / "
                                                             f"{a['lookups']}", "target": None, "ok": None}
        for name, a in arms.items()]
    d_success, d_lookups = cons["success"] - base["success"], cons["lookups"] - base["lookups"]
    summary.append({"metric": "consolidation: success change, lookups change",
                    "value": f"{d_success:+.3f}, {d_lookups:+d}",
                    "target": "success up, or lookups down with success kept", "ok": helped(d_success, d_lookups)})
    summary.append({"metric": "paired steps: right only with consolidation / only without",
                    "value": f"{len(paired['gained'])} {paired['gained']} / {len(paired['lost'])} {paired['lost']}",
                    "target": None, "ok": None})
    summary.append({"metric": "rounds promoted / run", "value": f"{cons['promoted']} / {cons['consolidations']}",
                    "target": None, "ok": None})
    return {"benchmark": "llm-agent", "scenario": scenario, "seed": seed, "every": every, "device": device,
            "tasks": base["tasks"], "model": policy.model, "model_load_seconds": load_seconds, "round": round_config,
            "arms": arms, "paired": paired, "summary": summary, "seconds": round(time.perf_counter() - started, 1)}
