"""Entry point of the `agentcl` command. Sub-apps live in their own modules; this file only wires them."""
from __future__ import annotations

import sys

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
    db: str | None = typer.Option(None, "--db", help="Database URL (default: SQLite in AGENTCL_HOME; "
                                      "also $AGENTCL_DB_URL)."),
    home: str | None = typer.Option(None, "--home", help="State directory (default: $AGENTCL_HOME or ~/.agentcl)."),
) -> None:
    apply_globals(db, home)


def _register() -> None:
    """Each sub-app is a module of its own, imported here so `agentcl --help` builds the whole tree."""
    from cli import (
        bench_cmd,
        consolidate_cmd,
        memory_cmd,
        run_cmd,
        runs_cmd,
        scenario_cmd,
        serve_cmd,
        skills_cmd,
    )

    for module in (memory_cmd, consolidate_cmd, skills_cmd, run_cmd, runs_cmd, scenario_cmd, bench_cmd, serve_cmd):
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI. Every error a user can cause ends in one line on stderr and exit code 2."""
    from memory_store.errors import UserError

    click = _click_exceptions()
    try:
        code = app(args=argv, standalone_mode=False)
    except UserError as exc:
        _fail(str(exc))
    except click.NoArgsIsHelpError as exc:  # a bare group: show its help, as click would
        typer.echo(exc.format_message())
        sys.exit(0)
    except click.UsageError as exc:  # bad option or argument: one line instead of click's box
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        _fail(f"{exc.format_message()}{where}")
    except click.ClickException as exc:
        _fail(exc.format_message())
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a database or file-system fault in any command: one line naming it
        line = _fault_line(exc)
        if line is None:
            raise
        _fail(line)
    sys.exit(code if isinstance(code, int) else 0)


def _click_exceptions():
    """Typer >= 0.20 vendors click as typer._click; older releases raise click's own classes."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - depends on the installed typer
        from click import exceptions
    return exceptions


def _fault_line(exc: BaseException) -> str | None:
    from cli.state import STATE
    from memory_store.config import database_url
    from memory_store.faults import fault_line

    try:
        url = database_url(STATE.db, STATE.home)
    except Exception:  # noqa: BLE001 - e.g. a home that is not a directory: the line names no URL
        url = None
    return fault_line(exc, url=url)


def _fail(message: str) -> None:
    first = " ".join(message.split())  # one line, whatever the message held
    typer.echo(f"error: {first}", err=True)
    sys.exit(2)


if __name__ == "__main__":
    main()
