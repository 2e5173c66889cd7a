"""`agentcl runs`: the agent's past runs (their saved reports under AGENTCL_HOME/runs), and `--run ID`,
the shorthand every memory and consolidate command takes for the namespace a run wrote into."""
from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from cli.render import key_values, print_json, table
from memory_store.errors import InvalidInputError, NotFoundError, shown

runs_app = typer.Typer(help="Past runs of the agent: id, time, scenario, namespace, headline figures.",
                       invoke_without_command=True)
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
RUN = typer.Option(None, "--run", help="A run id (see 'agentcl runs'): use the namespace that run wrote into.")
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_NAMESPACE = "default"


def runs_dir() -> Path:
    from memory_store.config import agentcl_home

    return agentcl_home() / "runs"


def load_run(run_id: str) -> dict:
    """The saved report of run `run_id` (an id is a file name: anything else is refused, never a path)."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise InvalidInputError(f"bad run id {shown(run_id)}: letters, digits, '-' and '_' only")
    path = runs_dir() / f"{run_id}.json"
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        raise NotFoundError(f"no run with id {run_id!r} (list them with 'agentcl runs')") from None
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"run {run_id}: its report {path} is unreadable ({exc.__class__.__name__})") from None
    if not isinstance(report, dict) or not isinstance(report.get("namespace"), str):
        raise InvalidInputError(f"run {run_id}: its report {path} names no namespace")
    return report


def namespace_for(namespace: str | None, run: str | None) -> str:
    """The namespace a command works on: --run ID's namespace, else --namespace (default 'default').
    Both at once is an error unless they agree."""
    if run is None:
        return namespace or DEFAULT_NAMESPACE
    ns = load_run(run)["namespace"]
    if namespace not in (None, DEFAULT_NAMESPACE, ns):
        raise InvalidInputError(f"--run {run} writes into namespace {ns!r}, but --namespace says {namespace!r}; "
                                f"give one of them")
    return ns


def headline(report: dict) -> dict:
    """One run in a line: what `agentcl runs` lists."""
    return {"run_id": report.get("run_id"), "finished_at": report.get("finished_at"),
            "env": report.get("env"), "scenario": report.get("scenario"), "namespace": report.get("namespace"),
            "policy": report.get("policy"), "memory": report.get("memory"), "tasks": report.get("tasks"),
            "success_rate": report.get("success_rate"), "stale_answer_rate": report.get("stale_answer_rate"),
            "consolidations": report.get("consolidations"), "seconds": report.get("seconds")}


def all_runs() -> list[dict]:
    """Saved runs, newest first (by the report file's time); unreadable files are skipped."""
    directory = runs_dir()
    if not directory.is_dir():
        return []
    out = []
    for path in sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(report, dict) and "run_id" in report:
            report.setdefault("finished_at", _mtime(path))
            out.append(headline(report))
    return out


def _mtime(path: Path) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")


def _pct(value) -> str:
    return "" if value is None else f"{100 * value:.0f}%"


@runs_app.callback()
def runs(ctx: typer.Context, json_out: bool = JSON) -> None:
    """List past runs, newest first ('agentcl runs show ID' for one)."""
    if ctx.invoked_subcommand is not None:
        return
    found = all_runs()
    if json_out:
        print_json(found)
        return
    table(f"{len(found)} runs", ["run", "finished", "scenario", "namespace", "tasks", "success", "stale"],
          [(r["run_id"], r["finished_at"], r["scenario"], r["namespace"], r["tasks"], _pct(r["success_rate"]),
            _pct(r["stale_answer_rate"])) for r in found], optional=("stale", "tasks", "finished"), wide=("scenario",))


@runs_app.command("show")
def show(run_id: str, json_out: bool = JSON) -> None:
    """One run's saved report, and the commands that inspect and consolidate its memory."""
    report = load_run(run_id)
    if json_out:
        print_json(report)
        return
    key_values(f"run {run_id}", {k: v for k, v in headline(report).items() if v is not None})
    print_next_steps(report["run_id"], report["namespace"])


def next_steps(run_id: str, namespace: str) -> list[str]:
    return [f"agentcl memory facts --run {run_id}", f"agentcl memory audit --run {run_id}",
            f"agentcl consolidate run --run {run_id}"]


def print_next_steps(run_id: str, namespace: str) -> None:
    from cli.render import console

    console.print(f"memory of this run: namespace [bold]{namespace}[/bold]; inspect and consolidate it with:")
    for line in next_steps(run_id, namespace):
        console.print(f"  {line}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
