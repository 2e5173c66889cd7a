"""`agentcl scenario`: DriftWorld scenario files (generate one; the format is agentcl/envs/SCENARIO.md)."""
from __future__ import annotations

import json
from pathlib import Path

import typer

scenario = typer.Typer(help="DriftWorld scenario files.", no_args_is_help=True)


@scenario.command("generate")
def generate(seed: int = typer.Option(..., "--seed", help="Seed: the same seed and difficulty give the same file."),
             difficulty: str = typer.Option("default", "--difficulty", help="easy | default | harsh."),
             out: Path | None = typer.Option(None, "-o", "--out", help="Write here (default: stdout).")) -> None:
    """Write a random, valid scenario (checked by the same loader as `agentcl run --scenario`)."""
    from agentcl.envs.generate import DIFFICULTIES, generate_scenario
    from agentcl.envs.scenario import parse_scenario
    from memory_store.errors import InvalidInputError, UserError

    if difficulty not in DIFFICULTIES:
        raise InvalidInputError(f"unknown difficulty {difficulty!r}; use {', '.join(DIFFICULTIES)}")
    text = json.dumps(generate_scenario(seed, difficulty), indent=1) + "\n"
    parse_scenario(text, origin=f"generated scenario (seed {seed}, {difficulty})")  # never write an invalid one
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    typer.echo(f"wrote {out} ({difficulty}, seed {seed})", err=True)


@scenario.command("validate")
def validate(file: Path = typer.Argument(..., metavar="FILE", help="Scenario JSON file.")) -> None:
    """Check a scenario file as `agentcl run --scenario FILE` would load it: one line and exit 2 if it
    cannot be run (bad JSON, a schema or reference error, a phase with nothing to ask)."""
    from agentcl.envs.drift import DriftWorld

    world = DriftWorld(str(file))
    s = world.scenario
    typer.echo(f"ok: {file}: {s.name!r}, {s.horizon} steps, {len(world.timeline.slots)} fact slots, "
               f"{len(s.tools)} tools")


def register(app: typer.Typer) -> None:
    app.add_typer(scenario, name="scenario")
