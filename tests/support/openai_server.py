"""A tiny OpenAI-compatible HTTP server for tests (stdlib only), speaking the real wire protocol of
POST /v1/chat/completions (text answers and `tool_calls`) and GET /v1/models.

    def responder(body: dict) -> dict:      # body = the JSON request the client sent
        return {"content": "Paris"}          # or {"tool_calls": [{"name": "lookup", "arguments": {...}}]}

    with OpenAICompatServer(responder, api_key="sk-test") as server:
        client = OpenAI(base_url=server.base_url, api_key="sk-test")

Options: `api_key` (requests without `Authorization: Bearer <key>` get a 401 whose message, like some
real servers, echoes the key it received), `fail_with` (HTTP statuses to answer with before succeeding,
to exercise retries), `delay` (seconds to wait before answering, to exercise timeouts).
Every request body is kept in `server.requests`.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

Responder = Callable[[dict[str, Any]], dict[str, Any]]


def _default_responder(body: dict[str, Any]) -> dict[str, Any]:
    return {"content": "ok"}


class OpenAICompatServer:
    def __init__(self, responder: Responder | None = None, *, api_key: str | None = None,
                 fail_with: Iterable[int] = (), delay: float = 0.0, model: str = "test-model",
                 serve_models: bool = True) -> None:
        self.responder = responder or _default_responder
        self.api_key = api_key
        self.fail_with = list(fail_with)
        self.delay = delay
        self.model = model
        self.serve_models = serve_models  # False: GET /v1/models is a 404, as on some compatible servers
        self.gets: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> OpenAICompatServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                server.gets.append(self.path)
                if self.path.rstrip("/") == "/v1/models" and server.serve_models:
                    self._send(200, {"object": "list", "data": [
                        {"id": server.model, "object": "model", "created": 0, "owned_by": "test"}]})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                status, payload = server.handle(raw, self.headers.get("Authorization", ""))
                self._send(status, payload)

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # --- protocol ---------------------------------------------------------------------------------
    def handle(self, raw: bytes, authorization: str) -> tuple[int, dict[str, Any]]:
        if self.delay:
            time.sleep(self.delay)
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            given = authorization.removeprefix("Bearer ")
            return 401, {"error": {"message": f"Incorrect API key provided: {given}", "type": "invalid_request_error",
                                   "param": None, "code": "invalid_api_key"}}
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return 400, {"error": {"message": "request body is not JSON", "type": "invalid_request_error"}}
        with self._lock:
            self.requests.append(body)
            if self.fail_with:
                status = self.fail_with.pop(0)
                return status, {"error": {"message": f"injected failure {status}", "type": "server_error"}}
        problem = validate_request(body)
        if problem:
            return 400, {"error": {"message": problem, "type": "invalid_request_error"}}
        reply = self.responder(body)
        return 200, self.completion(body, reply)

    def completion(self, body: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        n = next(self._ids)
        message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
        calls = reply.get("tool_calls") or []
        if calls:
            message["tool_calls"] = [{
                "id": c.get("id") or f"call_{n}_{i}", "type": "function",
                "function": {"name": c["name"],
                             "arguments": c["arguments"] if isinstance(c["arguments"], str)
                             else json.dumps(c["arguments"])}} for i, c in enumerate(calls)]
        return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", self.model),
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": "tool_calls" if calls else "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


def validate_request(body: dict[str, Any]) -> str | None:
    """The checks a real server makes that matter for our client: shape of messages and tools, and every
    `tool` message answering a tool_call id announced by an earlier assistant message."""
    if not body.get("model"):
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty array"
    announced: set[str] = set()
    for i, m in enumerate(messages):
        role = m.get("role")
        if role not in ("system", "user", "assistant", "tool", "developer"):
            return f"messages[{i}].role is invalid: {role!r}"
        for call in m.get("tool_calls") or []:
            announced.add(call.get("id"))
            try:
                json.loads(call["function"]["arguments"])
            except (KeyError, TypeError, json.JSONDecodeError):
                return f"messages[{i}].tool_calls: arguments must be a JSON string"
        if role == "tool" and m.get("tool_call_id") not in announced:
            return f"messages[{i}]: tool message answers unknown tool_call_id {m.get('tool_call_id')!r}"
    for j, tool in enumerate(body.get("tools") or []):
        fn = tool.get("function") or {}
        if tool.get("type") != "function" or not fn.get("name"):
            return f"tools[{j}] must be a function with a name"
    return None
