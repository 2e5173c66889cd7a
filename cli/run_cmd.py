"""`agentcl run`: the main job. Runs the agent on an environment (DriftWorld by default), offline."""
from __future__ import annotations

import typer

from cli.render import console, print_json, table

MAX_EPISODES = 10_000  # each episode is a whole run of the world: more is a typo, not a plan


def run(env: str = typer.Option("drift", "--env", help="Environment name (entry-point group agentcl.envs)."),
        scenario: str | None = typer.Option(None, "--scenario", help="Scenario JSON file (default: built-in)."),
        episodes: int = typer.Option(1, "--episodes", max=MAX_EPISODES,
                                     help=f"Episodes to run (each a fresh world; at most {MAX_EPISODES})."),
        policy: str = typer.Option("local", "--policy", help="local (no LLM), openai (an endpoint) or llm "
                                                              "(the local language model, in process)."),
        model: str | None = typer.Option(None, "--model", help="Model name for --policy openai "
                                                                  "(endpoint: OPENAI_BASE_URL, OPENAI_API_KEY)."),
        model_dir: str | None = typer.Option(None, "--model-dir", help="Causal LM directory for --policy llm "
                                                                       "(default: the packaged SmolLM2-135M-Instruct)."),
        text_only: bool = typer.Option(False, "--text-only", help="Observations without the structured query "
                                                                  "and request: the agent grounds the task text."),
        seed: int = typer.Option(0, "--seed"),
        consolidate_every: int = typer.Option(0, "--consolidate-every", help="Consolidate every N steps (0: never)."),
        replay: bool = typer.Option(True, "--replay/--no-replay", help="Consolidate with replay (default) or without."),
        device: str = typer.Option("auto", "--device", help="Device of consolidation and of the --policy llm model: auto, cpu or cuda."),
        namespace: str | None = typer.Option(None, "--namespace", "-n", help="Memory namespace (default: new per run)."),
        memory: str = typer.Option("full", "--memory", help="full | append (ablation: never supersede/expire) | none."),
        verify: str = typer.Option("cost", "--verify", help="cost (look a remembered value up when P(stale) x "
                                   "--stale-cost > lookup cost) | always | trust."),
        stale_cost: float = typer.Option(10.0, "--stale-cost", min=0, help="Cost of a stale answer, in lookup units."),
        lookup_cost: float | None = typer.Option(None, "--lookup-cost", min=0,
                                                 help="Cost of a lookup (default: what the world reports)."),
        json_out: bool = typer.Option(False, "--json", help="Print the JSON report.")) -> None:
    """Run the learning agent and print a summary (the report is also saved under AGENTCL_HOME/runs)."""
    import math

    from memory_store.errors import InvalidInputError

    for flag, value in (("--stale-cost", stale_cost), ("--lookup-cost", lookup_cost)):
        if value is not None and not math.isfinite(value):  # inf would make the cost rule always/never look up
            raise InvalidInputError(f"{flag} must be a finite number, got {value}")
    from agentcl.agent.embedcache import caching
    from agentcl.agent.runner import run_agent
    from cli.state import open_store
    from memory_store.embedding import get_default_embedder

    def opener():  # called by run_agent only once every option is known to be good
        return open_store(embedder=caching(get_default_embedder()))

    options = {"env": env, "scenario": scenario, "episodes": episodes, "policy": policy, "model": model, "seed": seed,
               "model_dir": model_dir, "text_only": text_only,
               "consolidate_every": consolidate_every, "consolidation_replay": replay, "device": device,
               "namespace": namespace, "memory": memory, "open_store": opener,
               "verify": verify, "stale_cost": stale_cost, "lookup_cost": lookup_cost}
    if json_out or not console.is_terminal:
        report = run_agent(**options)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("running", total=None)
            report = run_agent(**options, on_start=lambda total: progress.update(task, total=total),
                               on_step=lambda step: progress.update(task, advance=1, description=f"step {step}"))
    if json_out:
        print_json(report)
        return
    summary(report)


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def summary(report: dict) -> None:
    explore = report.get("exploration", {})
    rows = [("tasks", report["tasks"]), ("success", _pct(report["success_rate"])),
            ("stale answers", _pct(report["stale_answer_rate"])),
            ("median recovery after a tool change (tasks)", report["median_recovery_tasks"]),
            ("revisited tasks: success / first time",
             f"{_pct(report['revisit_success_rate'])} / {_pct(report['revisit_baseline_rate'])}"),
            ("lookups (in tasks + exploring)", f"{report['lookups']} ({report.get('task_lookups')} in tasks)"),
            ("remembered values verified before answering", report.get("verify_lookups", 0)),
            ("exploration: spent / budget", f"{explore.get('spent', 0)} / {explore.get('budget', 0)}"),
            ("consolidations", report["consolidations"]),
            ("seconds", report["seconds"]), ("memory namespace", report.get("namespace")),
            ("report", report.get("report_path"))]
    rows += [(f"success in phase '{k}'", _pct(v)) for k, v in report["success_rate_by_phase"].items()]
    text = ", text only" if report.get("text_only") else ""
    table(f"agentcl run {report['run_id']} ({report['env']}{text}, {report['policy']} policy, {report['memory']} memory)",
          ["metric", "value"], rows)
    if report["tool_changes"]:
        table("tool changes", ["tool", "step", "kind", "recovery tasks"],
              [(c["tool"], c["step"], c["kind"], c["recovery_tasks"]) for c in report["tool_changes"]])
    if report.get("namespace"):
        from cli.runs_cmd import print_next_steps

        print_next_steps(report["run_id"], report["namespace"])


def register(app: typer.Typer) -> None:
    app.command("run")(run)
