"""ASGI middleware, outermost first: one log line per request, the request-body bound, the API key, and the
UTF-8 checks of the URL and the MCP namespace header.

Pure ASGI (not BaseHTTPMiddleware) so the MCP endpoint's streamed responses pass through untouched."""
from __future__ import annotations

import logging
import time

from memory_store.errors import UserError
from server.errors import error_body
from server.keys import KeyFile, KeyFileDamaged, find_key
from server.tenancy import NAMESPACE_HEADER, TRUSTED_LOCAL, header_namespace_value, raw_header, url_problem

log = logging.getLogger("agentcl.server")
access_log = logging.getLogger("agentcl.server.access")
OPEN_PATHS = ("/docs", "/redoc", "/openapi.json", "/v1/health")


async def _send_error(send, status: int, message: str, headers: list | None = None) -> None:
    body = error_body(message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                + (headers or [])})
    await send({"type": "http.response.body", "body": body})


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
    """Refuse a request body over `max_bytes` with 413, whether or not it declares its length. Counted as it
    arrives: past the bound the client gets the 413 at once, the app gets the chunk that crossed it (so the
    MCP SDK's own bound, set to ours, refuses quietly) and then "the client left", so it stops reading;
    whatever the app answers is dropped."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = raw_header(scope, b"content-length")
        too_large = f"request body over {self.max_bytes} bytes"
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await _send_error(send, 413, too_large)
        seen, started, refused = [0], [False], [False]

        async def receiving():
            if refused[0]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > self.max_bytes:
                    refused[0] = True
                    if not started[0]:
                        started[0] = True
                        await _send_error(send, 413, too_large)
            return message

        async def sending(message):
            if refused[0]:
                return  # the client has its 413 (or the response was under way): nothing more goes out
            started[0] = started[0] or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, receiving, sending)


class ApiKeyAuth:
    """With keys configured, every request outside OPEN_PATHS needs `Authorization: Bearer KEY`; the key is
    left in scope["state"]["api_key"] for the namespace check. With none configured, a server bound to
    loopback trusts every (local) caller; any other server refuses every request, so emptying the key file
    of a running public server never opens it. A damaged key file: 503 for every request until it is fixed.
    The key file is read on every request (cached on its inode, size and mtime)."""

    def __init__(self, app, keys: KeyFile, *, loopback: bool):
        self.app, self.keys, self.loopback = app, keys, loopback
        self._damage_logged: str | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        try:
            configured = self.keys.keys()
        except KeyFileDamaged as exc:
            if self._damage_logged != str(exc):  # once per damage, not once per request
                self._damage_logged = str(exc)
                log.error("%s: every request gets 503", exc)
            return await _send_error(send, 503, "the server's API key file is damaged: every request is refused "
                                                "until it is fixed (see the server log)")
        self._damage_logged = None
        if not configured:
            if not self.loopback:
                return await _send_error(send, 401, "no API keys are configured and this server is not bound to "
                                                    "loopback: every request is refused", _BEARER)
            state[TRUSTED_LOCAL] = True
        elif not scope["path"].startswith(OPEN_PATHS):
            auth = (raw_header(scope, b"authorization") or b"").decode("latin-1")
            scheme, _, secret = auth.partition(" ")
            key = find_key(configured, secret.strip()) if scheme.lower() == "bearer" and secret.strip() else None
            if key is None:
                return await _send_error(send, 401, "missing or unknown API key (send 'Authorization: Bearer KEY')",
                                         _BEARER)
            state["api_key"] = key
        await self.app(scope, receive, send)


_BEARER = [(b"www-authenticate", b"Bearer")]


class Utf8Request:
    """400 for a URL that is not UTF-8 once percent-decoded, and for an /mcp request whose namespace header is
    not UTF-8 or not a valid namespace: refused before any route or tool sees a replaced or mangled name."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        problem = url_problem(scope)
        if problem is None and scope["path"].startswith("/mcp"):
            try:
                header_namespace_value(raw_header(scope, NAMESPACE_HEADER.encode()))
            except UserError as exc:
                problem = str(exc)
        if problem is not None:
            return await _send_error(send, 400, problem)
        await self.app(scope, receive, send)
