"""`agentcl skills ...`: list, inspect, add, remove, enable/disable/deprecate, search, test and stats."""
from __future__ import annotations

import json
import sys

import typer

from cli.render import key_values, print_json, table
from cli.state import STATE
from memory_store.errors import InvalidInputError

skills_app = typer.Typer(help="The skill registry: pluggable, versioned tools.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
NS = typer.Option("default", "--namespace", "-n", help="Namespace whose learned usage examples to use.")


def _open(namespace: str = "default"):
    from skills import SkillRegistry

    return SkillRegistry.open(STATE.db, home=STATE.home, namespace=namespace)


def _summary_rows(infos):
    return [(s.name, s.current_version, s.kind, "yes" if s.enabled else "no", s.status,
             (f"-> {s.replacement}" if s.replacement else "yes") if s.deprecated else "", s.origin,
             ", ".join(s.current.parameters.get("properties", {})), s.current.description) for s in infos]


SUMMARY_COLUMNS = ["name", "v", "kind", "enabled", "status", "deprecated", "origin", "parameters", "description"]
# At 80 columns: parameters, then kind and enabled give way; origin and description are shortened.
SUMMARY_FIT = {"optional": ("parameters", "kind", "enabled"), "wide": ("origin", "description")}


@skills_app.command("list")
def list_cmd(removed: bool = typer.Option(False, "--removed", help="List removed built-in and plug-in skills "
                                                                   "instead (`skills restore` brings one back)."),
             json_out: bool = JSON) -> None:
    """All registered skills (current version), disabled ones included (enabled: no)."""
    with _open() as reg:
        infos = reg.list()
        gone = reg.removed() if removed else []
    if removed:
        print_json(gone) if json_out else table(f"{len(gone)} removed skills", ["name", "origin", "removed_at"],
                                                [(r["name"], r["origin"], r["removed_at"]) for r in gone])
        return
    if json_out:
        print_json([s.summary() for s in infos])
    else:
        table(f"{len(infos)} skills", SUMMARY_COLUMNS, _summary_rows(infos), **SUMMARY_FIT)


@skills_app.command("show")
def show_cmd(name: str, namespace: str = NS, json_out: bool = JSON) -> None:
    """One skill: schema, versions with parameter diffs, usage notes, examples and stats."""
    with _open(namespace) as reg:
        info = reg.get(name)
        examples = reg.examples(name)
    data = info.to_dict()
    data["learned_examples"] = [e.to_dict() for e in examples]
    if json_out:
        print_json(data)
        return
    key_values(f"{name} v{info.current_version}", {k: v for k, v in info.summary().items() if k != "parameters"}
               | {"parameters": info.current.parameters})
    table("versions", ["v", "label", "created", "change", "notes", "calls", "ok", "failures"],
          [(v.version, v.label, v.created_at.isoformat(timespec="seconds"), (v.diff or {}).get("text", "first"),
            "; ".join(v.notes), v.stats.calls, v.stats.successes, json.dumps(v.stats.failures)) for v in info.versions])
    if examples:
        table("learned examples", ["v", "task", "args"], [(e.version, e.task, json.dumps(e.args)) for e in examples[-10:]])


@skills_app.command("add")
def add_cmd(path: str, json_out: bool = JSON) -> None:
    """Register the skills of a .py/.json file or a directory (all or nothing)."""
    with _open() as reg:
        results = reg.add_path(path)
    if json_out:
        print_json([r.to_dict() for r in results])
    else:
        table(f"added from {path}", ["name", "version", "action", "change"],
              [(r.name, r.version, r.action, (r.diff or {}).get("text", "")) for r in results])


@skills_app.command("remove")
def remove_cmd(name: str, json_out: bool = JSON) -> None:
    """Delete a skill with its versions, stats, examples and notes. A built-in or plug-in skill stays
    removed (it is not discovered again) until `skills restore`."""
    from skills.repo import is_discovered

    with _open() as reg:
        info = reg.remove(name)
    sticky = is_discovered(info.origin)
    if json_out:
        print_json({"removed": name, "origin": info.origin, "restorable": sticky})
    else:
        typer.echo(f"removed {name}" + (f" ({info.origin}; it stays removed: `agentcl skills restore {name}` "
                                        f"brings it back)" if sticky else ""))


@skills_app.command("restore")
def restore_cmd(name: str, json_out: bool = JSON) -> None:
    """Bring back a removed built-in or plug-in skill."""
    with _open() as reg:
        info = reg.restore(name)
    if json_out:
        print_json(info.summary())
    else:
        table(f"restored {name}", SUMMARY_COLUMNS, _summary_rows([info]))


def _state_change(name: str, json_out: bool, action: str, **kwargs) -> None:
    with _open() as reg:
        info = getattr(reg, action)(name, **kwargs)
    if json_out:
        print_json(info.summary())
    else:
        table(f"{action}d {name}", SUMMARY_COLUMNS, _summary_rows([info]), **SUMMARY_FIT)


@skills_app.command("enable")
def enable_cmd(name: str, json_out: bool = JSON) -> None:
    """Make a skill callable and searchable again."""
    _state_change(name, json_out, "enable")


@skills_app.command("disable")
def disable_cmd(name: str, json_out: bool = JSON) -> None:
    """Keep a skill but refuse calls to it and hide it from search."""
    _state_change(name, json_out, "disable")


@skills_app.command("deprecate")
def deprecate_cmd(name: str, replacement: str | None = typer.Option(None, "--replacement", help="The skill to use instead."),
                  json_out: bool = JSON) -> None:
    """Mark a skill deprecated (hidden from search; calls still work and point to the replacement)."""
    _state_change(name, json_out, "deprecate", replacement=replacement)


@skills_app.command("search")
def search_cmd(text: str, k: int = typer.Option(5, "-k", help="How many skills."),
               include_deprecated: bool = typer.Option(False, "--include-deprecated"), namespace: str = NS,
               json_out: bool = JSON) -> None:
    """Rank skills for a task text (over their descriptions and the namespace's learned example tasks)."""
    if k < 1:
        raise InvalidInputError("-k must be at least 1")
    with _open(namespace) as reg:
        hits = reg.search(text, k, include_deprecated=include_deprecated)
    if json_out:
        print_json([h.to_dict() for h in hits])
    else:
        table(f"skills for {text!r}", ["rank", "name", "v", "score", "description"],
              [(i + 1, h.name, h.version, f"{h.score:.3f}", h.description[:80]) for i, h in enumerate(hits)])


@skills_app.command("test")
def test_cmd(name: str, args: str = typer.Option("{}", "--args", help="Arguments as a JSON object."),
             task: str | None = typer.Option(None, "--task", help="Task text: keep a success as a usage example."),
             timeout: float | None = typer.Option(None, "--timeout", help="Seconds before the call is abandoned."),
             namespace: str = NS, json_out: bool = JSON) -> None:
    """Call a skill once (for a candidate composite: verify it). Bad JSON or arguments that do not fit
    the schema: exit 2, nothing recorded. A call that runs and fails (an exception, a timeout, a skill
    that ends its own process): one line on stderr, exit 1."""
    from memory_store.normalize import parse_json
    from skills.calls import renames_of
    from skills.nesting import check_text
    from skills.validate import validate_args

    check_text(args, "--args")
    try:  # no NaN/Infinity, duplicate keys or lone surrogates reach a skill or its recorded examples
        parsed = parse_json(args, what="--args")
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"--args is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise InvalidInputError("--args must be a JSON object")
    if timeout is not None and timeout <= 0:
        raise InvalidInputError("--timeout must be positive")
    with _open(namespace) as reg:
        info = reg.get(name)
        problem = validate_args(info.current.parameters, parsed, renames=renames_of(info))
        if problem is not None:
            raise InvalidInputError(f"{name}: {problem.message}")
        # Testing a candidate composite is its verification: a success admits it.
        verifying = info.kind == "composite" and info.status == "candidate"
        outcome = reg.verify_composite(name, parsed, task=task) if verifying else \
            reg.call(name, parsed, task=task, timeout_s=timeout)
        admitted = verifying and outcome.ok
    if json_out:
        print_json(outcome.to_dict() | ({"admitted": admitted} if verifying else {}))
    elif outcome.ok:
        key_values(f"{name} v{outcome.version} ok ({outcome.latency_ms:.1f} ms)"
                   + (" - verified and admitted" if admitted else ""), {"result": outcome.result})
    if not outcome.ok:
        # One line whatever ended the call (an exception, a timeout, a skill that ended its own process).
        err = outcome.error
        typer.echo(f"error: {name} v{outcome.version} failed ({err.kind}): {err.message}"
                   + (f" [{'; '.join(err.notes)}]" if err.notes else ""), err=True)
        sys.exit(1)


@skills_app.command("stats")
def stats_cmd(name: str | None = typer.Argument(None), json_out: bool = JSON) -> None:
    """Calls, successes, failures by kind, latency and last use per skill version."""
    with _open() as reg:
        rows = reg.stats(name)
    if json_out:
        print_json(rows)
    else:
        table("skill stats", ["name", "v", "calls", "ok", "failures", "mean ms", "last used"],
              [(r["name"], r["version"], r["calls"], r["successes"], json.dumps(r["failures"]), r["mean_latency_ms"],
                r["last_used_at"]) for r in rows])


def register(app: typer.Typer) -> None:
    app.add_typer(skills_app, name="skills")
