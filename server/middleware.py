"""ASGI middleware, outermost first: one log line per request, the request-body bound, and the API key.

Pure ASGI (not BaseHTTPMiddleware) so the MCP endpoint's streamed responses pass through untouched."""
from __future__ import annotations

import logging
import time

from memory_store.errors import DamagedFileError
from server.errors import error_body
from server.keys import KeyFile

access_log = logging.getLogger("agentcl.server.access")
OPEN_PATHS = ("/docs", "/redoc", "/openapi.json", "/v1/health")


async def _send_error(send, status: int, message: str, headers: list | None = None) -> None:
    body = error_body(message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                + (headers or [])})
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    pass


class AccessLog:
    """`METHOD PATH STATUS MS key=NAME`, one line per HTTP request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), [500]

        async def sending(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            key = scope.get("state", {}).get("api_key")
            access_log.info("%s %s %d %.1fms key=%s", scope["method"], scope["path"], status[0],
                            (time.perf_counter() - start) * 1000, key.name if key else "-")


class BodyLimit:
    """Refuse a request body over `max_bytes` with 413, whether or not it declares its length."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = f"request body over {self.max_bytes} bytes"
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await _send_error(send, 413, too_large)
        seen, started = [0], [False]

        async def receiving():
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def sending(message):
            started[0] = started[0] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        except BodyTooLarge:
            if not started[0]:
                await _send_error(send, 413, too_large)


class ApiKeyAuth:
    """With keys configured, every request outside OPEN_PATHS needs `Authorization: Bearer KEY`; the key is
    left in scope["state"]["api_key"] for the namespace check. With none configured, the server is bound to
    loopback only (checked at start) and every local caller is trusted."""

    def __init__(self, app, keys: KeyFile):
        self.app, self.keys = app, keys

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        scope.setdefault("state", {})
        try:
            configured = self.keys.keys()
        except DamagedFileError as exc:  # fail closed: a damaged key file never means "no keys, trust all"
            return await _send_error(send, 503, str(exc))
        if configured and not scope["path"].startswith(OPEN_PATHS):
            auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            scheme, _, secret = auth.partition(" ")
            key = self.keys.verify(secret.strip()) if scheme.lower() == "bearer" and secret.strip() else None
            if key is None:
                return await _send_error(send, 401, "missing or unknown API key (send 'Authorization: Bearer KEY')",
                                         [(b"www-authenticate", b"Bearer")])
            scope["state"]["api_key"] = key
        await self.app(scope, receive, send)
