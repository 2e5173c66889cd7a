"""The app factory: FastAPI (OpenAPI at /docs) with the REST routers, the MCP endpoint at /mcp, error
handlers, and the access-log / body-limit / API-key middleware."""
from __future__ import annotations

import contextlib
import logging

from fastapi import FastAPI

from server import errors, routes_consolidation, routes_memory, routes_skills
from server.backend import Backend, ServerConfig
from server.keys import KeyFile, is_loopback
from server.mcp_tools import build_mcp, header_namespace
from server.middleware import AccessLog, ApiKeyAuth, BodyLimit, Utf8Request

log = logging.getLogger("agentcl.server")


def create_app(config: ServerConfig, *, host: str = "127.0.0.1", backend: Backend | None = None) -> FastAPI:
    backend = backend or Backend(config)
    from memory_store.config import agentcl_home

    keys = KeyFile.of_home(agentcl_home(config.home))
    mcp = build_mcp(backend, header_namespace())
    # The SDK's own body bound (4 MiB, a plain-text 413) set to ours, so a client meets only ours.
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", host=host,
                                      max_request_body_size=config.max_body_bytes)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        backend.open()
        log.info("ready: database %s", _redacted(backend.store.url))
        try:
            async with mcp.session_manager.run():
                yield
        finally:
            await backend.drain_and_close()  # in-flight calls finish first; then the caches are saved

    app = FastAPI(title="agentcl", version="0.1.0", lifespan=lifespan,
                  description="Versioned memory and skills for agents in other processes. Every resource is "
                              "under /v1/ns/{namespace}; with API keys configured, send 'Authorization: Bearer "
                              "KEY'. MCP (streamable HTTP) is at /mcp.")
    app.state.backend = backend
    errors.install(app)
    app.include_router(routes_memory.router)
    app.include_router(routes_skills.router)
    app.include_router(routes_consolidation.router)

    @app.get("/v1/health", tags=["server"], summary="Liveness, and the database version")
    async def health() -> dict:
        return {"ok": True, "version": await backend.run(backend.store.current_version)}

    app.router.routes.extend(mcp_app.routes)  # /mcp, served by the SDK's session manager (run in lifespan)
    # Outermost last: the access log sees every response, including 401 and 413.
    app.add_middleware(Utf8Request)
    app.add_middleware(ApiKeyAuth, keys=keys, loopback=is_loopback(host))
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(AccessLog)
    return app


def _redacted(url: str) -> str:
    from memory_store.db import redact_url

    return redact_url(url)
