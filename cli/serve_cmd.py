"""`agentcl serve` (REST + MCP over HTTP), `agentcl serve keys ...` (API keys) and `agentcl mcp` (MCP over stdio)."""
from __future__ import annotations

import typer

from cli.render import print_json, table
from cli.state import STATE

serve_app = typer.Typer(help="Run the HTTP server (REST under /v1, MCP at /mcp, OpenAPI at /docs).",
                        invoke_without_command=True)
keys_app = typer.Typer(help="API keys: which namespaces each key may touch (stored hashed).", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


def _config(db: str | None, device: str):
    from memory_store.embedding import check_device
    from server.backend import ServerConfig

    check_device(device)
    return ServerConfig(db=db or STATE.db, home=STATE.home, device=device)


@serve_app.callback()
def serve(ctx: typer.Context,
          host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (non-loopback needs API keys)."),
          port: int = typer.Option(8765, "--port"),
          db: str | None = typer.Option(None, "--db", help="Database URL (default: the global --db or SQLite in "
                                                           "AGENTCL_HOME)."),
          device: str = typer.Option("auto", "--device", help="auto | cpu | cuda (for the embedder).")) -> None:
    """Serve until SIGTERM or Ctrl-C (in-flight requests finish, search caches are saved)."""
    if ctx.invoked_subcommand is not None:
        return
    from server.run import serve_http

    serve_http(_config(db, device), host=host, port=port)


def _keys():
    from memory_store.config import agentcl_home
    from server.keys import KeyFile

    return KeyFile.of_home(agentcl_home(STATE.home))


@keys_app.command("add")
def keys_add(name: str, namespace: list[str] = typer.Option(..., "--namespace", "-n",
                                                            help="A namespace the key may use (repeatable; '*' = all)."),
             json_out: bool = JSON) -> None:
    """Create a key; its secret is printed once and only its SHA-256 is stored."""
    key, secret = _keys().add(name, namespace)
    data = key.public() | {"key": secret}
    if json_out:
        print_json(data)
    else:
        typer.echo(f"key {key.name} for {', '.join(key.namespaces)} (shown once; keep it secret):\n{secret}")


@keys_app.command("list")
def keys_list(json_out: bool = JSON) -> None:
    """Key names and their namespaces (secrets are not stored)."""
    keys = [k.public() for k in _keys().keys()]
    if json_out:
        print_json(keys)
    else:
        table(f"{len(keys)} API keys", ["name", "namespaces", "created"],
              [(k["name"], ", ".join(k["namespaces"]), k["created_at"]) for k in keys])


@keys_app.command("remove")
def keys_remove(name: str, json_out: bool = JSON) -> None:
    """Revoke a key (a running server stops accepting it at once)."""
    _keys().remove(name)
    print_json({"removed": name}) if json_out else typer.echo(f"removed key {name}")


def mcp_cmd(namespace: str = typer.Option("default", "--namespace", "-n", help="The namespace the tools act on."),
            db: str | None = typer.Option(None, "--db", help="Database URL (default: the global --db)."),
            device: str = typer.Option("auto", "--device")) -> None:
    """MCP server over stdio for one namespace (for desktop assistants and IDEs)."""
    from server.run import serve_stdio

    serve_stdio(_config(db, device), namespace=namespace)


def register(app: typer.Typer) -> None:
    serve_app.add_typer(keys_app, name="keys")
    app.add_typer(serve_app, name="serve")
    app.command("mcp")(mcp_cmd)
