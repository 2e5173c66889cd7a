"""HTTP tools: a real local server; secrets only as ${ENV_VAR}; service errors carry status and body."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from memory_store.errors import InvalidInputError
from skills import HttpExecutor, SkillRegistry

SPEC = {"name": "lookup", "description": "Look a word up.",
        "parameters": {"type": "object", "properties": {"word": {"type": "string"}, "n": {"type": "integer"}},
                       "required": ["word"]}}


class _Dictionary(BaseHTTPRequestHandler):
    def _answer(self, status: int, body) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        if self.headers.get("Authorization") != "Bearer s3cret":
            return self._answer(401, {"error": "bad token"})
        query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        if query.get("word") == "missing":
            return self._answer(404, {"error": "no such word"})
        return self._answer(200, {"query": query})

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = HTTPServer(("127.0.0.1", 0), _Dictionary)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}/define"
    srv.shutdown()


def test_http_get_with_secret_from_the_environment(server, monkeypatch, embedder):
    reg = SkillRegistry.in_memory(embedder=embedder)
    http = {"url": server, "method": "GET", "headers": {"Authorization": "Bearer ${DICT_TOKEN}"}}
    reg.register_spec(SPEC, http=http)
    # Not set yet: a structured error naming the variable, no crash.
    unset = reg.call("lookup", {"word": "agent"})
    assert unset.error.kind == "exception" and "DICT_TOKEN is not set" in unset.error.message
    monkeypatch.setenv("DICT_TOKEN", "s3cret")
    ok = reg.call("lookup", {"word": "agent", "n": 2})
    assert ok.ok and ok.result == {"query": {"word": "agent", "n": "2"}}
    missing = reg.call("lookup", {"word": "missing"})
    assert missing.error.kind == "exception"
    assert missing.error.message == 'HttpToolError: HTTP 404 Not Found: {"error": "no such word"}'
    monkeypatch.setenv("DICT_TOKEN", "wrong")
    assert "HTTP 401" in reg.call("lookup", {"word": "agent"}).error.message
    stored = json.dumps(reg.get("lookup").to_dict())
    assert "${DICT_TOKEN}" in stored and "s3cret" not in stored and "wrong" not in stored
    assert reg.stats("lookup")[0]["failures"] == {"exception": 3}


@pytest.mark.parametrize("definition,message", [
    ({"url": "http://x/", "headers": {"Authorization": "Bearer abc"}}, "looks secret"),
    ({"url": "http://x/", "headers": {"X-Api-Key": "abc"}}, "looks secret"),
    ({"url": "http://user:pw@x/"}, "password"),
    ({"url": "ftp://x/"}, "need http"),
    ({"url": "http://x/", "method": "BREW"}, "bad HTTP method"),
    ({"url": "http://x/", "timeout_s": "soon"}, "timeout_s"),
    ({"url": "http://x/", "headers": ["a"]}, "headers"),
    ({"method": "GET"}, "url"),
])
def test_bad_http_definitions_are_refused(definition, message):
    with pytest.raises(InvalidInputError, match=message):
        HttpExecutor.from_definition(definition)


def test_bad_http_definition_leaves_registry_unchanged(embedder):
    reg = SkillRegistry.in_memory(embedder=embedder)
    with pytest.raises(InvalidInputError):
        reg.register_spec(SPEC, http={"url": "http://x/", "headers": {"Authorization": "Bearer abc"}})
    assert reg.list() == []
