"""Running the server: uvicorn over HTTP (`agentcl serve`) or MCP over stdio (`agentcl mcp`)."""
from __future__ import annotations

import contextlib
import logging
import signal
import sys

from memory_store.errors import InvalidInputError
from server.backend import Backend, ServerConfig

log = logging.getLogger("agentcl.server")
GRACEFUL_SHUTDOWN_S = 30  # SIGTERM: in-flight requests get this long to finish before connections close


def setup_logging() -> None:
    """One line per event on stderr (stdout stays clean: for MCP over stdio it is the protocol)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()  # set before the MCP SDK's basicConfig, which then leaves it alone
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)  # libraries (alembic, sentence-transformers) only when something is wrong
    for name in ("agentcl", "uvicorn.error", "memory_store", "skills"):
        logging.getLogger(name).setLevel(logging.INFO)


def serve_http(config: ServerConfig, *, host: str, port: int) -> None:
    import uvicorn

    from memory_store.config import agentcl_home
    from server.app import create_app
    from server.keys import KeyFile, is_loopback

    keys = KeyFile.of_home(agentcl_home(config.home))
    if not 0 < port < 65536:
        raise InvalidInputError(f"--port must be from 1 to 65535, got {port}")
    configured = keys.keys()  # a damaged key file stops the start here, in one line (KeyFileDamaged)
    if not configured and not is_loopback(host):
        raise InvalidInputError(f"no API keys are configured, so the server binds to loopback only (asked for "
                                f"{host}); add one with 'agentcl serve keys add NAME --namespace NS'")
    setup_logging()
    if configured:
        log.info("%d API key(s) configured: every request needs 'Authorization: Bearer KEY'", len(configured))
    else:
        log.info("no API keys configured: listening on loopback only (%s), every local caller is trusted", host)
    app = create_app(config, host=host)
    # uvicorn handles SIGTERM itself (stop accepting, finish in-flight requests, run the shutdown), then
    # re-raises it to the handler that was there before: ours makes that a normal exit with status 0.
    signal.signal(signal.SIGTERM, _exit_after_graceful_shutdown)
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=None, log_level="info",
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, lifespan="on")


def _exit_after_graceful_shutdown(signum, frame) -> None:
    raise SystemExit(0)


def serve_stdio(config: ServerConfig, *, namespace: str) -> None:
    """MCP over stdin/stdout for one namespace (a desktop assistant starts this as a subprocess)."""
    from memory_store.normalize import clean_namespace
    from server.mcp_tools import build_mcp, fixed_namespace

    namespace = clean_namespace(namespace)
    backend = Backend(config)

    @contextlib.asynccontextmanager
    async def lifespan(_server):
        with contextlib.redirect_stdout(sys.stderr):  # nothing but the protocol may reach stdout
            backend.open()
        try:
            yield {}
        finally:
            await backend.drain_and_close()  # in-flight calls finish first; then the caches are saved

    setup_logging()
    build_mcp(backend, fixed_namespace(namespace), lifespan=lifespan).run("stdio")
