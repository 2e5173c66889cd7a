"""`agentcl bench ...`: run the benchmark suite, print its summary tables, save JSON, report and plots."""
from __future__ import annotations

from pathlib import Path

import typer

from cli.render import console, print_json, table
from memory_store.errors import InvalidInputError

bench = typer.Typer(help="Benchmarks: measured in one run, ratios beside absolute times.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print the full JSON result.")
OUT = typer.Option(None, "--out", help="Directory for <name>.json (and report.md + plots for `all`).")
DEVICE = typer.Option("auto", "--device", help="auto | cpu | cuda")
QUICK = typer.Option(False, "--quick", help="Small sizes: a smoke run, not the reported numbers.")
DATA = typer.Option(None, "--data", help="Data directory (default: ../shared/data).")


def _options(*, quick: bool, device: str, data: Path | None = None, seeds: str | None = None, **extra):
    from agentcl_bench.data import require_bench_packages
    from agentcl_bench.suite import BenchOptions
    from memory_store.embedding import check_device

    require_bench_packages()  # matplotlib and scikit-learn: the [bench] extra, not runtime dependencies
    check_device(device)
    parsed_seeds = _int_list(seeds, "--seeds") if seeds else (0, 1, 2)
    return BenchOptions(quick=quick, device=device, data_dir=data, seeds=parsed_seeds,
                        extra={k: v for k, v in extra.items() if v is not None})


def _int_list(text: str, what: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise InvalidInputError(f"{what} must be comma-separated whole numbers, got {text!r}") from None
    if not values or any(v < 0 for v in values):
        raise InvalidInputError(f"{what} must list at least one number >= 0")
    return values


def _out_dir(out: Path | None) -> Path | None:
    if out is None:
        return None
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _show(name: str, result: dict, json_out: bool, out: Path | None) -> None:
    from agentcl_bench.suite import SUITE
    from agentcl_bench.suite_report import table_rows, write_json

    if out is not None:
        write_json(result, out / f"{name}.json")
    if json_out:
        print_json(result)
        return
    table(f"{SUITE[name].title} (agentcl bench {name})", ["metric", "value", "target", ""], table_rows(result))
    if out is not None:
        console.print(f"saved {out / (name + '.json')}")


def _run_one(name: str, opts, json_out: bool, out: Path | None) -> None:
    from agentcl_bench.suite import run_benchmark

    out = _out_dir(out)
    _show(name, run_benchmark(name, opts), json_out, out)


def _simple(name: str, doc: str):
    """A subcommand with only the common options."""
    def command(device: str = DEVICE, quick: bool = QUICK, data: Path | None = DATA, json_out: bool = JSON,
                out: Path | None = OUT) -> None:
        _run_one(name, _options(quick=quick, device=device, data=data), json_out, out)

    command.__doc__ = doc
    command.__name__ = f"bench_{name}"
    return command


bench.command("locomo")(_simple("locomo", "LoCoMo evidence recall@1/5/10 per category, with dense, BM25 and fusion "
                                          "baselines computed in the same run."))
bench.command("tools")(_simple("tools", "BFCL tool retrieval hit@1/5 with the same-run baselines, and learning "
                                        "from use."))
bench.command("cl")(_simple("cl", "Consolidation strategies (naive, replay, EWC, LwF, replay+LwF) on class-"
                                  "incremental digits: accuracy matrices, ACC, BWT, FWT, forgetting."))
bench.command("skills")(_simple("skills", "Skill call latency in the warm worker process against a thread of the "
                                          "caller, the worker's start, and a GIL-holding skill stopped at its timeout."))
bench.command("peers")(_simple("peers", "agentcl beside mem0 (pip install 'agentcl\\[peers]') on the same store, "
                                        "LoCoMo and conflicting-facts workloads."))


@bench.command("store")
def bench_store(sizes: str | None = typer.Option(None, "--sizes", help="Note counts for search, e.g. 10000,100000."),
                import_notes: int | None = typer.Option(None, "--import-notes", min=0, help=(
                    "Notes in the larger import file (default 200000, quick 2000; 0 skips); N/2 is also measured.")),
                versions: int | None = typer.Option(None, "--versions", min=100,
                                                    help="History length for as-of / valid-at reads (100000)."),
                device: str = DEVICE, quick: bool = QUICK, json_out: bool = JSON, out: Path | None = OUT) -> None:
    """Insert throughput against raw embedding throughput; search p50/p99 at 10k and 100k notes against
    query-embedding latency; exact vs approximate FAISS recall; a streamed import of N notes against raw
    encoding, with its peak memory at N/2 and N; as-of and valid-at reads at 100,000 versions against a
    current read."""
    _run_one("store", _options(quick=quick, device=device, sizes=_int_list(sizes, "--sizes") if sizes else None,
                               import_notes=import_notes, versions=versions), json_out, out)


@bench.command("drift")
def bench_drift(seeds: str = typer.Option("0,1,2", "--seeds"), scenario: Path | None = typer.Option(None, "--scenario"),
                generated: int | None = typer.Option(None, "--generated", min=0, help=(
                    "Generated worlds to add (default 10, quick 2; 0: none).")),
                difficulty: str = typer.Option("harsh", "--difficulty", help="Of the generated worlds: easy | default | harsh."),
                worlds_only: bool = typer.Option(False, "--worlds-only", help="Only the generated worlds."),
                device: str = DEVICE, quick: bool = QUICK, json_out: bool = JSON, out: Path | None = OUT) -> None:
    """The agent on the drift world as ablations of the same code (no memory, append-only, full memory,
    consolidation without replay, full system), then on generated worlds (full system, append-only, no
    memory, always verify) with the cost-accuracy frontier (frontier.png under --out)."""
    from agentcl.envs.generate import DIFFICULTIES

    if difficulty not in DIFFICULTIES:
        raise InvalidInputError(f"unknown difficulty {difficulty!r}; use {', '.join(DIFFICULTIES)}")
    if worlds_only and generated == 0:
        raise InvalidInputError("--worlds-only needs generated worlds (--generated > 0)")
    from agentcl_bench.suite import run_benchmark

    opts = _options(quick=quick, device=device, seeds=seeds, scenario=str(scenario) if scenario else None,
                    generated=generated, difficulty=difficulty, worlds_only=worlds_only or None)
    out = _out_dir(out)
    result = run_benchmark("drift", opts)
    _show("drift", result, json_out, out)
    if out is not None and result.get("generated"):
        from agentcl_bench.drift_generated import plot_frontier

        path = plot_frontier(result["generated"], out / "drift_frontier.png")
        if path is not None and not json_out:
            console.print(f"saved {path}")


@bench.command("consolidation")
def bench_consolidation(memories: int | None = typer.Option(None, "--memories", min=100,
                                                               help="Validated memories (default 100000)."),
                        device: str = DEVICE, quick: bool = QUICK, json_out: bool = JSON,
                        out: Path | None = OUT) -> None:
    """Time to consolidate N validated memories (default 100,000)."""
    _run_one("consolidation", _options(quick=quick, device=device, memories=memories), json_out, out)


@bench.command("llm")
def bench_llm(seeds: str = typer.Option("0,1,2", "--seeds"),
              facts: int | None = typer.Option(None, "--facts", min=1, help="Round-1 facts (default 40)."),
              changed: int | None = typer.Option(None, "--changed", min=0, help="Round-2 superseded (default 10)."),
              new: int | None = typer.Option(None, "--new", min=0, help="Round-2 new facts (default 10)."),
              model_dir: str | None = typer.Option(None, "--model-dir",
                                                   help="Your own causal LM directory or .gguf file."),
              locality: int | None = typer.Option(None, "--locality", min=1,
                                                  help="Ask only the first N general questions (default all)."),
              threads: int | None = typer.Option(None, "--threads", min=1, help="torch CPU threads (default: torch's)."),
              kl_previous: float | None = typer.Option(
                  None, "--kl-previous", min=0.0,
                  help="Weight of KL(previous adapter || current) on replayed rows in round 2 (default 0: off)."),
              device: str = DEVICE, quick: bool = QUICK, json_out: bool = JSON, out: Path | None = OUT) -> None:
    """The local LM (packaged SmolLM2) over two consolidation rounds: facts learned, stale values corrected,
    unchanged facts and general answers kept, a tool parameter rename, with replay against the naive run."""
    if facts is not None and changed is not None and changed > facts:
        raise InvalidInputError("--changed cannot exceed --facts")
    if model_dir is not None:
        from agentcl.model.base_lm import resolve_model_dir

        model_dir = str(resolve_model_dir(model_dir))
    config = {k: v for k, v in (("locality_limit", locality), ("cpu_threads", threads), ("kl_previous", kl_previous))
              if v is not None}
    _run_one("llm", _options(quick=quick, device=device, seeds=seeds, facts=facts, changed=changed, new=new,
                             model_dir=model_dir, config=config or None), json_out, out)


@bench.command("llm-agent")
def bench_llm_agent(every: int = typer.Option(4, "--every", min=1, help="Consolidate every N steps in the "
                                                                         "consolidating arm."),
                    seed: int | None = typer.Option(None, "--seed", min=0, help="One seed (default 0)."),
                    seeds: str | None = typer.Option(None, "--seeds", help="Comma-separated seeds, run in one "
                                                     "process with one loaded model; the verdict is on their "
                                                     "totals."),
                    scenario: Path | None = typer.Option(None, "--scenario", help="Scenario JSON (default: a "
                                                                                  "short built-in world)."),
                    model_dir: str | None = typer.Option(None, "--model-dir", help="Your own causal LM directory."),
                    device: str = DEVICE, json_out: bool = JSON, out: Path | None = OUT) -> None:
    """`agentcl run --policy llm --text-only` with consolidation every N steps against none (same seed, one
    run per seed): success, stale answers and lookups of both arms, the local policy on the same world, and
    the totals over the seeds."""
    if seed is not None and seeds is not None:
        raise InvalidInputError("give --seed or --seeds, not both")
    if model_dir is not None:
        from agentcl.model.base_lm import check_model_dir

        check_model_dir(model_dir)
    if scenario is not None and not scenario.is_file():
        raise InvalidInputError(f"--scenario {scenario}: no such file")
    _run_one("llm-agent", _options(quick=False, device=device, seeds=seeds or str(seed or 0), every=every,
                                   scenario=str(scenario) if scenario else None, model_dir=model_dir), json_out, out)


@bench.command("load")
def bench_load(writers: int = typer.Option(2, "--writers", min=1, max=16),
               readers: int = typer.Option(2, "--readers", min=0, max=16),
               seconds: float = typer.Option(20.0, "--seconds", min=1, max=600),
               url: str | None = typer.Option(None, "--url", help="Database URL (default: a fresh SQLite file)."),
               quick: bool = QUICK, json_out: bool = JSON, out: Path | None = OUT) -> None:
    """N writer and M reader processes for a fixed time: writes/s, reads/s, p99 latency, integrity check."""
    _run_one("load", _options(quick=quick, device="cpu", writers=writers, readers=readers, seconds=seconds, url=url),
             json_out, out)


@bench.command("serve")
def bench_serve(clients: int = typer.Option(8, "--clients", min=1, max=64),
                seconds: float = typer.Option(30.0, "--seconds", min=1, max=600),
                url: str | None = typer.Option(None, "--url", help="PostgreSQL URL: also run the load there (a "
                                                                  "temporary schema, dropped afterwards)."),
                device: str = DEVICE, quick: bool = QUICK, json_out: bool = JSON, out: Path | None = OUT) -> None:
    """agentcl serve on loopback: CLI through the server (p50), search/add_note against in-process, N clients
    for a fixed time with the integrity check (SQLite, and PostgreSQL with --url)."""
    _run_one("serve", _options(quick=quick, device=device, clients=clients, seconds=seconds, url=url),
             json_out, out)


@bench.command("all")
def bench_all(out: Path = typer.Option(Path("bench-out"), "--out", help="Directory for the JSON results, "
                                                                        "report.md and plots."),
              only: list[str] | None = typer.Option(None, "--only", help="Run only these (repeatable)."),
              device: str = DEVICE, quick: bool = QUICK, data: Path | None = DATA, json_out: bool = JSON) -> None:
    """Every benchmark in one run; writes DIR/report.md, DIR/<name>.json and PNG plots, prints the tables."""
    from agentcl_bench.suite import ALL, SUITE, run_benchmark
    from agentcl_bench.suite_report import markdown_report, write_json, write_plots
    from memory_store.errors import UserError

    names = list(only) if only else list(ALL)
    unknown = [n for n in names if n not in SUITE]
    if unknown:
        raise InvalidInputError(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(SUITE)}")
    opts = _options(quick=quick, device=device, data=data)
    out = _out_dir(out)
    results = {}
    for name in names:
        if not json_out:
            console.print(f"[bold]running {name}[/bold]")
        try:
            results[name] = run_benchmark(name, opts)
        except UserError as exc:  # e.g. data absent: the rest of the suite still runs
            results[name] = {"benchmark": name, "error": str(exc), "summary": []}
        write_json(results[name], out / f"{name}.json")
        if not json_out:
            _show(name, results[name], False, None) if not results[name].get("error") else \
                console.print(f"{name}: not run: {results[name]['error']}")
    plots = write_plots(results, out)
    command = "agentcl bench all" + (" --quick" if quick else "") + (f" --device {device}" if device != "auto" else "")
    report = markdown_report(results, titles={n: SUITE[n].title for n in SUITE}, plots=[p.name for p in plots],
                             command=command)
    (out / "report.md").write_text(report)
    if json_out:
        print_json({"out": str(out), "report": str(out / "report.md"), "plots": [str(p) for p in plots],
                    "results": results})
    else:
        console.print(f"report: {out / 'report.md'}; plots: {', '.join(p.name for p in plots) or 'none'}")


def register(app: typer.Typer) -> None:
    app.add_typer(bench, name="bench")
