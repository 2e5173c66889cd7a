"""Entry point of the `agentcl` command. Sub-apps live in their own modules; this file only wires them."""
from __future__ import annotations

import sys
from typing import Optional

import typer

from cli.state import apply_globals

app = typer.Typer(
    help="agentcl: agents that keep learning after deployment.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _globals(
    db: Optional[str] = typer.Option(None, "--db", help="Database URL (default: SQLite in AGENTCL_HOME; "
                                      "also $AGENTCL_DB_URL)."),
    home: Optional[str] = typer.Option(None, "--home", help="State directory (default: $AGENTCL_HOME or ~/.agentcl)."),
) -> None:
    apply_globals(db, home)


def _register() -> None:
    # Each sub-app is a module of its own; one line each here.
    from cli import memory_cmd

    memory_cmd.register(app)
    # -- sub-apps registered below (keep one line per module) --
    from cli import consolidate_cmd; consolidate_cmd.register(app)  # noqa: E702
    from cli import skills_cmd; skills_cmd.register(app)  # noqa: E702
    from cli import run_cmd; run_cmd.register(app)  # noqa: E702


_register()


def main(argv: list[str] | None = None) -> None:
    from memory_store.errors import UserError

    try:
        app(args=argv)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
