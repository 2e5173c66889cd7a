"""The benchmark suite: one entry per `agentcl bench <name>`, each an adapter from the suite's common
options (quick, device, data directory, seeds) to its module's own parameters. Modules are imported
only when their benchmark runs, so `agentcl bench --help` stays fast and a missing optional peer
(mem0) only affects its own entry."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agentcl_bench.data import default_data_dir
from memory_store.errors import UserError


@dataclass(frozen=True)
class BenchOptions:
    quick: bool = False             # small sizes: a smoke run in about a minute, not the reported numbers
    device: str | None = None       # auto | cpu | cuda
    data_dir: Path | None = None    # ../shared/data by default
    seeds: tuple[int, ...] = (0, 1, 2)
    extra: dict = field(default_factory=dict)  # benchmark-specific options from the CLI


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    run: Callable[[BenchOptions], dict]
    needs_data: tuple[str, ...] = ()  # paths under the data directory


def require_data(bench: Benchmark, opts: BenchOptions) -> Path:
    root = Path(opts.data_dir) if opts.data_dir else default_data_dir()
    for part in bench.needs_data:
        if not (root / part).exists():
            raise UserError(f"benchmark '{bench.name}' needs {root / part}, which does not exist "
                            f"(expected ../shared/data beside the repository; pass --data DIR)")
    return root


# -- adapters: common options -> each module's parameters ------------------------------------------
def _store(o: BenchOptions) -> dict:
    from agentcl_bench.store_speed import run_store_bench

    sizes = o.extra.get("sizes") or ((2_000,) if o.quick else (10_000, 100_000))
    imports = o.extra.get("import_notes", 2_000 if o.quick else None)
    versions = o.extra.get("versions")
    return run_store_bench(sizes=tuple(sizes), device=o.device, import_notes=imports,
                           **({"queries": 50, "insert_notes": 512} if o.quick else {}),
                           **({"versions": versions} if versions else {}))


def _locomo(o: BenchOptions) -> dict:
    from agentcl_bench.locomo import run_locomo_bench

    root = require_data(SUITE["locomo"], o)
    return run_locomo_bench(path=root / "locomo" / "locomo_dev.json", device=o.device)


def _tools(o: BenchOptions) -> dict:
    from agentcl_bench.tools import run_tools_bench

    return run_tools_bench(data_dir=require_data(SUITE["tools"], o), device=o.device)


def _drift(o: BenchOptions) -> dict:
    from agentcl_bench.drift_ablations import VARIANTS, run_drift_bench

    generated = o.extra.get("generated")
    return run_drift_bench(seeds=o.seeds[:1] if o.quick else o.seeds, device=o.device,
                           scenario=o.extra.get("scenario"),
                           generated=(2 if o.quick else 10) if generated is None else int(generated),
                           difficulty=o.extra.get("difficulty") or "harsh",
                           variants=() if o.extra.get("worlds_only") else VARIANTS)


def _cl(o: BenchOptions) -> dict:
    from agentcl_bench.cl import run_cl_bench

    return run_cl_bench(seeds=o.seeds, device=o.device, quick=o.quick)


def _consolidation(o: BenchOptions) -> dict:
    from agentcl_bench.consolidation_scale import run_consolidation_scale

    n = o.extra.get("memories") or (5_000 if o.quick else 100_000)
    return run_consolidation_scale(n=int(n), device=o.device, quick=o.quick)


def _peers(o: BenchOptions) -> dict:
    from agentcl_bench.peers import run_peers_bench

    sizes = (500, 1_000) if o.quick else (2_000, 10_000)
    return run_peers_bench(sizes=sizes, data_dir=require_data(SUITE["peers"], o), device=o.device)


def _load(o: BenchOptions) -> dict:
    from agentcl_bench.load import run_load_bench

    seconds = o.extra.get("seconds") or (5 if o.quick else 20)
    return run_load_bench(writers=o.extra.get("writers") or 2, readers=o.extra.get("readers") or 2,
                          seconds=seconds, url=o.extra.get("url"))


def _skills(o: BenchOptions) -> dict:
    from agentcl_bench.skill_calls import run_skill_calls_bench

    return run_skill_calls_bench(calls=50 if o.quick else 300)


def _serve(o: BenchOptions) -> dict:
    from agentcl_bench.serve import run_serve_bench

    seconds = o.extra.get("seconds") or (5 if o.quick else 30)
    return run_serve_bench(clients=o.extra.get("clients") or 8, seconds=seconds, url=o.extra.get("url"),
                           device=o.device, quick=o.quick)


def _llm(o: BenchOptions) -> dict:
    from agentcl_bench.llm import run_llm_bench

    sizes = {k: o.extra[k] for k in ("facts", "changed", "new") if o.extra.get(k) is not None}
    return run_llm_bench(seeds=o.seeds, device=o.device or "auto", model_dir=o.extra.get("model_dir"),
                         quick=o.quick, config=o.extra.get("config"), **sizes)


def _llm_agent(o: BenchOptions) -> dict:
    from agentcl_bench.llm_agent import run_llm_agent_bench

    return run_llm_agent_bench(every=o.extra.get("every") or 4, seeds=o.seeds, scenario=o.extra.get("scenario"),
                               model_dir=o.extra.get("model_dir"), device=o.device or "auto")


SUITE: dict[str, Benchmark] = {b.name: b for b in (
    Benchmark("store", "Store: insert throughput and search latency", _store),
    Benchmark("locomo", "LoCoMo evidence recall", _locomo, needs_data=("locomo/locomo_dev.json",)),
    Benchmark("tools", "BFCL tool retrieval", _tools, needs_data=("bfcl/BFCL_v4_simple_python.json",)),
    Benchmark("drift", "Drift world: ablations of the agent", _drift),
    Benchmark("cl", "Continual learning strategies on digits", _cl),
    Benchmark("consolidation", "Consolidation at scale", _consolidation),
    Benchmark("peers", "Side by side with mem0", _peers, needs_data=("locomo/locomo_dev.json",)),
    Benchmark("load", "Concurrent load and integrity", _load),
    Benchmark("skills", "Skill calls in a worker process vs in a thread", _skills),
    Benchmark("serve", "agentcl serve: CLI, REST against in-process, concurrent clients", _serve),
    Benchmark("llm", "The local language model learns what the agent validated", _llm),
    Benchmark("llm-agent", "The local LM as the agent's policy, with consolidation against none", _llm_agent),
)}

# What `agentcl bench all` runs, in order (load has its own command: it needs writers and readers).
ALL = ("store", "locomo", "tools", "drift", "cl", "consolidation", "peers")


def run_benchmark(name: str, opts: BenchOptions) -> dict:
    if name not in SUITE:
        raise UserError(f"unknown benchmark {name!r}; choose from {', '.join(SUITE)}")
    bench = SUITE[name]
    if bench.needs_data:
        require_data(bench, opts)
    result = bench.run(opts)
    result.setdefault("benchmark", name)
    result.setdefault("quick", opts.quick)
    return result
