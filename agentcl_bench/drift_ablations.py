"""`agentcl bench drift`: the agent on DriftWorld, as ablations of the same code, over several seeds.

Variants (all the local policy, the same Agent, the same `run_agent` path as `agentcl run`):
no memory; append-only memory (no supersede, no expiry); full memory without consolidation;
consolidation without replay; the full system (full memory + consolidation with replay).
Each run gets its own SQLite store and state directory, so runs never see each other's memories.
The metrics are the world's own scoring (`agentcl.envs.scoring`); this module only aggregates them.
In the consolidating variants the agent asks the promoted local model in the shadow of every task and
scores its guesses; it relies on them only with a clean track record (`agentcl.agent.prior`), so the
summary also says how often those guesses were right and what the rounds did to the model (ACC, BWT).

Over 300 lines on purpose: the variants, the per-seed run and the aggregation of one benchmark, read
together; the generated worlds are apart (drift_generated.py).
"""
from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CONSOLIDATE_EVERY = 60  # steps: 5 consolidations over the default scenario's 300 steps
ROLLING_WINDOW = 20  # tasks per point of the success curves
STALE_TARGET = 0.02
RECOVERY_TARGET = 2.0
REVISIT_TARGET = 0.95


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    short: str
    memory: str
    consolidate: bool = False
    replay: bool = True


VARIANTS = (
    Variant("no_memory", "no memory", "none", "none"),
    Variant("append_only", "append-only memory", "append", "append"),
    Variant("full_memory", "full memory", "full", "full"),
    Variant("consolidation_no_replay", "consolidation, no replay", "no replay", "full", consolidate=True,
            replay=False),
    Variant("full_system", "full system", "full system", "full", consolidate=True, replay=True),
)


# -- pure aggregation ------------------------------------------------------------------------------
def rolling_success(records: list[dict], *, window: int = ROLLING_WINDOW) -> list[float]:
    """Success rate over the last `window` tasks at each step (fewer at the start)."""
    flags = [bool(r["correct"]) for r in sorted(records, key=lambda r: r["step"])]
    out, total = [], 0
    for i, flag in enumerate(flags):
        total += flag
        if i >= window:
            total -= flags[i - window]
        out.append(total / min(i + 1, window))
    return out


def mean_curve(curves: list[list[float]]) -> list[float]:
    """Point-wise mean of curves (truncated to the shortest)."""
    if not curves:
        return []
    n = min(len(c) for c in curves)
    return [round(statistics.fmean(c[i] for c in curves), 4) for i in range(n)]


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(statistics.median(present)) if present else None


def revisit_ratio(report: dict) -> float | None:
    """Success on revisited tasks as a share of the success the same tasks had when first asked."""
    again, first = report.get("revisit_success_rate"), report.get("revisit_baseline_rate")
    if again is None or not first:
        return None
    return again / first


def model_metrics(consolidations: list[dict]) -> dict:
    """What the consolidation rounds of one run did to the local model: promotions, and the continual-
    learning metrics of the last round (ACC, BWT: negative when old probes got worse), as the job reports."""
    last = consolidations[-1] if consolidations else {}
    metrics = last.get("metrics") or {}
    return {"rounds": len(consolidations), "promoted": sum(1 for c in consolidations if c.get("promoted")),
            "acc": metrics.get("acc"), "bwt": metrics.get("bwt"), "forgetting": metrics.get("forgetting"),
            "stale_detected": sum(int(c.get("stale_detected") or 0) for c in consolidations),
            "forgotten_detected": sum(int(c.get("forgotten_detected") or 0) for c in consolidations),
            "consolidation_seconds": round(sum(float(c.get("seconds") or 0) for c in consolidations), 3)}


def _guess_accuracy(guesses: dict) -> float | None:
    return guesses["right"] / guesses["checked"] if guesses.get("checked") else None


def per_seed_row(report: dict, *, undocumented: set[tuple[str, int]] = frozenset()) -> dict:
    return {"seed": report["seed"], "success_rate": report["success_rate"],
            "stale_answer_rate": report["stale_answer_rate"],
            "median_recovery_tasks": report["median_recovery_tasks"],
            "revisit_success_rate": report["revisit_success_rate"],
            "revisit_baseline_rate": report["revisit_baseline_rate"], "revisit_ratio": revisit_ratio(report),
            "success_rate_by_phase": report["success_rate_by_phase"], "lookups": report["lookups"],
            "lookups_per_task": report["lookups"] / report["tasks"] if report["tasks"] else None,
            "consolidations": report["consolidations"],
            "model": model_metrics(report.get("consolidation_reports") or []),
            "model_priors_used": report.get("model_priors_used", 0), "exploration": report.get("exploration"),
            "model_guess_accuracy": _guess_accuracy(report.get("model_guesses") or {}),
            "tool_changes": [{**{k: c[k] for k in ("tool", "step", "kind", "recovery_tasks", "recovered", "tasks_after")},
                              "undocumented": (c["tool"], c["step"]) in undocumented}
                             for c in report["tool_changes"]],
            "seconds": report["seconds"]}


def aggregate(rows: list[dict]) -> dict:
    """Mean over seeds of each per-seed number; recovery as the median of the per-seed medians, and over
    all tool changes of all seeds (a change never recovered from counts as all its tasks, as in scoring)."""
    from agentcl.envs.scoring import median_recovery_tasks

    changes = [c for r in rows for c in r["tool_changes"]]
    hidden = [c for c in changes if c["undocumented"]]
    phases = {p for r in rows for p in r["success_rate_by_phase"]}
    return {
        "success_rate": _mean([r["success_rate"] for r in rows]),
        "stale_answer_rate": _mean([r["stale_answer_rate"] for r in rows]),
        "median_recovery_tasks": _median([r["median_recovery_tasks"] for r in rows]),
        "median_recovery_all_changes": median_recovery_tasks(changes),
        # changes the tool specs did not show when they happened: learnt only from errors (or practice)
        "mean_recovery_undocumented": _mean([c["recovery_tasks"] if c["recovered"] else c["tasks_after"]
                                             for c in hidden]) if hidden else None,
        "revisit_success_rate": _mean([r["revisit_success_rate"] for r in rows]),
        "revisit_baseline_rate": _mean([r["revisit_baseline_rate"] for r in rows]),
        "revisit_ratio": _mean([r["revisit_ratio"] for r in rows]),
        "success_rate_by_phase": {p: _mean([r["success_rate_by_phase"].get(p) for r in rows]) for p in sorted(phases)},
        "lookups_per_task": _mean([r["lookups_per_task"] for r in rows]),
        "consolidations": _mean([r["consolidations"] for r in rows]),
        "model_promotions": _mean([r["model"]["promoted"] for r in rows]),
        "model_acc": _mean([r["model"]["acc"] for r in rows]),
        "model_bwt": _mean([r["model"]["bwt"] for r in rows]),
        "model_priors_used": _mean([r["model_priors_used"] for r in rows]),
        "model_guess_accuracy": _mean([r.get("model_guess_accuracy") for r in rows]),
        "seconds_per_run": _mean([r["seconds"] for r in rows]),
    }


def change_points(world) -> list[dict]:
    """Fact changes (given steps, not the rotations' natural turnover) and tool changes, by step."""
    points = []
    for slot in world.timeline.slots.values():
        if slot.spec.rotation is not None:
            continue
        for step in world.timeline.change_steps(slot):
            points.append({"step": step, "label": f"{slot.subject} {slot.predicate}", "kind": "fact"})
    for change in world.tool_changes():
        label = f"{change.tool}: {change.detail}" if change.kind != "introduced" else f"{change.tool} introduced"
        points.append({"step": change.step, "label": label, "kind": "tool"})
    return sorted(points, key=lambda p: (p["step"], p["label"]))


def _num1(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def summary_rows(variants: dict[str, dict], seeds: list[int]) -> list[dict]:
    """The rows people read: success per variant, then each issue target for full memory and the full
    system against the append-only agent, with ok from this run."""
    def agg(key: str) -> dict:
        return variants[key]["mean"]

    rows = [{"metric": f"success rate: {variants[k]['label']}", "value": round(agg(k)["success_rate"], 4),
             "target": None, "ok": None} for k in variants]
    append = agg("append_only") if "append_only" in variants else None
    for key in ("full_memory", "full_system"):
        if key not in variants:
            continue
        m, label = agg(key), variants[key]["label"]
        stale = m["stale_answer_rate"]
        rows.append({"metric": f"stale-answer rate: {label} (vs append-only)",
                     "value": f"{_pct(stale)} (append-only {_pct(append['stale_answer_rate'] if append else None)})",
                     "target": f"<= {STALE_TARGET:.0%}", "ok": None if stale is None else stale <= STALE_TARGET})
        rec = m["median_recovery_tasks"]
        rows.append({"metric": f"median recovery after a tool change (tasks): {label}",
                     "value": rec if rec is not None else "n/a", "target": f"<= {RECOVERY_TARGET:g}",
                     "ok": None if rec is None else rec <= RECOVERY_TARGET})
        ratio = m["revisit_ratio"]
        rows.append({"metric": f"revisit success / first-phase success: {label}",
                     "value": f"{_pct(ratio)} ({_pct(m['revisit_success_rate'])} / {_pct(m['revisit_baseline_rate'])})",
                     "target": f">= {REVISIT_TARGET:.0%}", "ok": None if ratio is None else ratio >= REVISIT_TARGET})
    hidden = {k: agg(k)["mean_recovery_undocumented"] for k in variants}
    if any(v is not None for v in hidden.values()):
        rows.append({"metric": "recovery after undocumented tool changes (tasks, mean): "
                               + " / ".join(variants[k]["short"] for k in variants),
                     "value": " / ".join("n/a" if v is None else f"{v:.2f}" for v in hidden.values()),
                     "target": None, "ok": None})
    consolidating = [k for k in ("consolidation_no_replay", "full_system") if k in variants]
    if consolidating:
        names = " vs ".join(variants[k]["short"] for k in consolidating)
        rows.append({"metric": f"local model, last round's ACC / BWT: {names}",
                     "value": " vs ".join(f"{_num(agg(k)['model_acc'])} / {_num(agg(k)['model_bwt'])}"
                                          for k in consolidating), "target": None, "ok": None})
        rows.append({"metric": f"local model's guesses right on the live stream / rounds promoted: {names}",
                     "value": " vs ".join(f"{_pct(agg(k)['model_guess_accuracy'])} / {_num1(agg(k)['model_promotions'])}"
                                          for k in consolidating), "target": None, "ok": None})
    if "full_memory" in variants and "no_memory" in variants:
        rows.append({"metric": "lookups per task: full memory / no memory",
                     "value": f"{agg('full_memory')['lookups_per_task']:.3f} / {agg('no_memory')['lookups_per_task']:.3f}",
                     "target": None, "ok": None})
    if "full_memory" in variants and "full_system" in variants:
        base, full = agg("full_memory")["seconds_per_run"], agg("full_system")["seconds_per_run"]
        rows.append({"metric": "seconds per run: full system / full memory (ratio)",
                     "value": f"{full:.1f} / {base:.1f} ({full / base:.2f}x)" if base else f"{full:.1f} / {base:.1f}",
                     "target": None, "ok": None})
    rows.append({"metric": "seeds", "value": ", ".join(map(str, seeds)), "target": None, "ok": None})
    return rows


# -- the run ---------------------------------------------------------------------------------------
def _run_one(variant: Variant, *, seed: int, scenario: str | None, device: str, embedder, consolidate_every: int,
             registry: bool) -> dict:
    from agentcl.agent.runner import open_registry, run_agent
    from memory_store import MemoryStore

    with tempfile.TemporaryDirectory(prefix=f"agentcl-drift-{variant.key}-{seed}-") as home:
        store = MemoryStore.open(f"sqlite:///{Path(home) / 'memory.db'}", home=home, embedder=embedder)
        try:
            reg = open_registry(store) if registry else None
            try:
                return run_agent(scenario=scenario, seed=seed, store=store, registry=reg, memory=variant.memory,
                                 consolidate_every=consolidate_every if variant.consolidate else 0,
                                 consolidation_replay=variant.replay, device=device, save=False,
                                 include_records=True)
            finally:
                if reg is not None and hasattr(reg, "close"):
                    reg.close()
        finally:
            store.close()


def run_drift_bench(*, seeds=(0, 1, 2), scenario: str | None = None, device: str | None = None,
                    consolidate_every: int = CONSOLIDATE_EVERY, variants=VARIANTS, registry: bool = True,
                    progress=None, generated: int = 0, difficulty: str = "harsh") -> dict:
    """Every variant on every seed of the scenario (default: the packaged one); the result contract of
    `agentcl bench`: benchmark, machine, seeds, summary rows, plus per-variant means and per-seed numbers,
    "curves" (rolling success per step, mean over seeds) and "change_points" (fact and tool changes).
    `generated` > 0 adds that many generated worlds of `difficulty` (agentcl_bench/drift_generated.py), under
    "generated", their target rows appended to the summary."""
    from agentcl.agent.embedcache import caching
    from agentcl.envs.drift import DriftWorld
    from agentcl_bench.machine import machine_info
    from memory_store.embedding import get_default_embedder, resolve_device
    from memory_store.errors import UserError

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise UserError("drift bench needs at least one seed")
    if consolidate_every < 1:
        raise UserError("consolidate_every must be a positive number of steps")
    if generated < 0:
        raise UserError("--generated must be 0 (none) or a number of worlds")
    world = DriftWorld(scenario)  # validates the scenario before anything runs
    undocumented = {(c.tool, c.step) for c in world.tool_changes()
                    if c.documented_step is not None and c.documented_step > c.step}
    device = resolve_device(device or "auto")
    embedder = caching(get_default_embedder(device))
    started = time.perf_counter()
    out_variants: dict[str, dict] = {}
    curves: dict[str, list[float]] = {}
    for variant in variants:
        rows, variant_curves = [], []
        for seed in seeds:
            report = _run_one(variant, seed=seed, scenario=scenario, device=device, embedder=embedder,
                              consolidate_every=consolidate_every, registry=registry)
            rows.append(per_seed_row(report, undocumented=undocumented))
            variant_curves.append(rolling_success(report["records"]))
            if progress is not None:
                progress(variant.key, seed, report)
        out_variants[variant.key] = {"label": variant.label, "short": variant.short, "memory": variant.memory,
                                     "consolidate_every": consolidate_every if variant.consolidate else 0,
                                     "replay": variant.replay if variant.consolidate else None,
                                     "mean": aggregate(rows), "per_seed": rows}
        curves[variant.key] = mean_curve(variant_curves)
    summary = summary_rows(out_variants, seeds)
    worlds = None
    if generated:
        from agentcl_bench.drift_generated import run_generated_worlds

        worlds = run_generated_worlds(worlds=generated, difficulty=difficulty, seeds=seeds, embedder=embedder,
                                      progress=progress)
        summary = summary[:-1] + worlds["summary"] + summary[-1:]
    return {
        "benchmark": "drift",
        "machine": machine_info(device),
        "seeds": seeds,
        "scenario": scenario or "default",
        "horizon": world.scenario.horizon,
        "consolidate_every": consolidate_every,
        "rolling_window": ROLLING_WINDOW,
        "summary": summary,
        "generated": worlds,
        "variants": out_variants,
        "curves": curves,
        "change_points": [{"step": p["step"], "label": p["label"]} for p in change_points(world)],
        "embedding_cache": {"hits": embedder.hits, "misses": embedder.misses},
        "seconds": round(time.perf_counter() - started, 2),
    }
