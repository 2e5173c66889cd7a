"""Hostile callers and a damaged server: a public server whose keys are removed or whose key file is damaged,
names that are not UTF-8, and bodies over the bound sent without a length. All against real uvicorn servers
(the shared loopback one and one bound to every interface) and the MCP SDK's real client."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from server.keys import KeyFile, KeyFileDamaged, parse_keys

REPO = Path(__file__).resolve().parents[2]
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "test", "version": "0"}}}
GOOD_KEY = {"name": "k", "sha256": "0" * 64, "namespaces": ["a"]}
DAMAGED = {
    "empty": b"",
    "not json": b"{keys: [",
    "not utf-8": b'{"keys": [{"name": "\xff"}]}',
    "a list": b"[]",
    "keys not a list": b'{"keys": {}}',
    "no keys field": b"{}",
    "key not an object": b'{"keys": [1]}',
    "no name": json.dumps({"keys": [GOOD_KEY | {"name": None}]}).encode(),
    "no sha256": json.dumps({"keys": [{k: v for k, v in GOOD_KEY.items() if k != "sha256"}]}).encode(),
    "short sha256": json.dumps({"keys": [GOOD_KEY | {"sha256": "abc"}]}).encode(),
    "no namespaces": json.dumps({"keys": [GOOD_KEY | {"namespaces": []}]}).encode(),
    "namespaces not text": json.dumps({"keys": [GOOD_KEY | {"namespaces": [1]}]}).encode(),
    "duplicate names": json.dumps({"keys": [GOOD_KEY, GOOD_KEY]}).encode(),
    "nested too deeply": b"[" * 100_000,
    "too large": b'{"keys": []}' + b" " * (1024 * 1024),
}


def one_line_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    assert "\n" not in response.text and set(response.json()) == {"error"}
    return response.json()["error"]


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("AGENTCL_SERVER", "AGENTCL_DB_URL")}
    env |= {"AGENTCL_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=120)


# -- the key file: damage is never "no keys" ----------------------------------------------------
@pytest.mark.parametrize("damage", DAMAGED, ids=list(DAMAGED))
def test_a_damaged_key_file_is_refused_not_read_as_no_keys(damage):
    with pytest.raises(KeyFileDamaged):
        parse_keys(DAMAGED[damage])


def test_key_commands_and_serve_on_a_damaged_key_file_are_one_line_and_write_nothing(tmp_path):
    path = tmp_path / "server" / "keys.json"
    path.parent.mkdir()
    for damage in ("empty", "not json", "not utf-8", "no sha256"):
        path.write_bytes(DAMAGED[damage])
        for args in (("serve", "keys", "list"), ("serve", "keys", "add", "x", "-n", "a"),
                     ("serve", "keys", "remove", "k"), ("serve", "--port", "8799"),
                     ("serve", "--host", "0.0.0.0", "--port", "8799")):
            result = cli(tmp_path, *args)
            assert result.returncode == 2, (damage, args, result.stderr)
            assert result.stderr.startswith(f"error: the API key file {path} is damaged (")
            assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
            assert path.read_bytes() == DAMAGED[damage]  # `add` did not replace the others with one key
    path.rmdir() if path.is_dir() else path.unlink()
    path.mkdir()  # a directory where the file goes
    result = cli(tmp_path, "serve", "keys", "list")
    assert result.returncode == 2 and "is damaged (Is a directory)" in result.stderr


# -- a server bound to every interface -----------------------------------------------------------
@pytest.fixture(scope="module")
def public(tmp_path_factory):
    """`agentcl serve --host 0.0.0.0` with one admin key (reached here over loopback)."""
    from agentcl_bench.server_process import ServerProcess

    home = tmp_path_factory.mktemp("public")
    keys = KeyFile.of_home(home)
    secret = keys.add("admin", ["*"])[1]
    with ServerProcess(home, db=f"sqlite:///{home / 'memory.db'}", host="0.0.0.0") as proc:
        yield proc, keys, secret


def _requests(url: str, secret: str) -> list[httpx.Response]:
    """One of each kind: REST with the key, REST without, the open health path, and MCP with the key."""
    auth = {"Authorization": f"Bearer {secret}"}
    return [httpx.post(url + "/v1/ns/pub/facts", json={"subject": "s", "predicate": "p", "object": "o"},
                       headers=auth, timeout=60),
            httpx.get(url + "/v1/ns/pub/facts", timeout=60),
            httpx.get(url + "/v1/health", timeout=60),
            httpx.post(url + "/mcp", json=INITIALIZE, headers=MCP_HEADERS | auth, timeout=60)]


def test_a_public_server_whose_keys_are_all_removed_refuses_everyone(public):
    proc, keys, secret = public
    original = keys.path.read_bytes()
    assert httpx.get(proc.url + "/v1/ns/pub/facts", headers={"Authorization": f"Bearer {secret}"}).json() == []
    try:
        keys.remove("admin")  # the file now says {"keys": []}: no keys, on a server bound to 0.0.0.0
        for response in _requests(proc.url, secret):
            assert "not bound to loopback" in one_line_error(response, 401)
        keys.path.unlink()  # no file at all: the same
        for response in _requests(proc.url, secret):
            assert "not bound to loopback" in one_line_error(response, 401)
    finally:
        keys.path.write_bytes(original)
    # nothing was written while it refused, and the restored key works again
    facts = httpx.get(proc.url + "/v1/ns/pub/facts", headers={"Authorization": f"Bearer {secret}"})
    assert facts.status_code == 200 and facts.json() == []


def test_a_damaged_key_file_makes_every_request_503_until_it_is_fixed(public):
    proc, keys, secret = public
    original = keys.path.read_bytes()
    try:
        for damage in ("empty", "not json", "not utf-8", "a list", "no namespaces"):
            keys.path.write_bytes(DAMAGED[damage])
            for response in _requests(proc.url, secret):
                assert "API key file is damaged" in one_line_error(response, 503), damage
    finally:
        keys.path.write_bytes(original)
    auth = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(proc.url + "/v1/ns/pub/facts", headers=auth).json() == []  # recovered, nothing written
    assert "is damaged (empty)" in proc.log() and "Traceback" not in proc.log()


# -- names that are not UTF-8, or are UTF-8 sent as header bytes ------------------------------------
def _mcp_client(served, key: str, namespace: bytes):
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    try:
        import httpx2 as transport_httpx  # the SDK's own HTTP client package
    except ImportError:  # pragma: no cover - older SDKs use httpx
        transport_httpx = httpx
    http = transport_httpx.AsyncClient(headers={"Authorization": f"Bearer {key}", "X-Agentcl-Namespace": namespace},
                                       timeout=120)
    return Client(streamable_http_client(served.url + "/mcp", http_client=http))


def test_mcp_namespace_header_is_utf8_like_the_rest_path(served):
    """A key for "équipe" reaches "équipe" over MCP (header bytes are UTF-8) and REST sees the same fact."""
    secret = KeyFile.of_home(served.home).add("equipe-only", ["équipe"])[1]

    async def session():
        async with _mcp_client(served, secret, "équipe".encode()) as client:
            return await client.call_tool("remember_fact", {"subject": "cafe", "predicate": "owner",
                                                            "value": "Zoé"})
    try:
        wrote = asyncio.run(session())
    finally:
        KeyFile.of_home(served.home).remove("equipe-only")
    assert not wrote.is_error, wrote.content[0].text
    facts = httpx.get(served.url + "/v1/ns/%C3%A9quipe/facts", headers=served.headers(served.admin)).json()
    assert [(f["namespace"], f["object"]) for f in facts] == [("équipe", "Zoé")]


@pytest.mark.parametrize("namespace,expected", [(b"\xff\xfe", "not UTF-8"), (b"two words", "whitespace"),
                                                (b"..", "reserved")])
def test_a_bad_mcp_namespace_header_is_a_one_line_400(served, namespace, expected):
    headers = MCP_HEADERS | served.headers(served.admin) | {"X-Agentcl-Namespace": namespace}
    response = httpx.post(served.url + "/mcp", json=INITIALIZE, headers=headers, timeout=60)
    assert expected in one_line_error(response, 400)


@pytest.mark.parametrize("url", ["/v1/ns/%FF/facts", "/v1/ns/%FE/facts", "/v1/ns/a%C3/facts",
                                 "/v1/ns/a/facts?subject=%FF", "/v1/ns/a/skills/%ED%A0%80"])
def test_a_url_that_is_not_utf8_is_a_one_line_400_not_a_replaced_name(http, url):
    """Starlette would turn each bad byte into U+FFFD, so '%FF' and '%FE' would be one namespace."""
    before = http.get("/v1/health").json()["version"]
    assert "not UTF-8" in one_line_error(http.get(url), 400)
    fact = {"subject": "s", "predicate": "p", "object": "o"}
    assert "not UTF-8" in one_line_error(http.post(url, json=fact), 400)
    assert http.get("/v1/health").json()["version"] == before


# -- bodies over the bound, sent without a length ------------------------------------------------
def _chunks(total: int):
    for _ in range(total // (1024 * 1024)):
        yield b" " * (1024 * 1024)


@pytest.mark.parametrize("path", ["/v1/ns/big/facts", "/v1/ns/big/import", "/mcp"])
def test_a_streamed_body_over_the_bound_is_a_one_line_413(served, path):
    """No Content-Length (chunked): the bound is counted as the body arrives, on REST and on MCP alike."""
    headers = MCP_HEADERS | served.headers(served.admin)
    before = httpx.get(served.url + "/v1/health").json()["version"]
    response = httpx.post(served.url + path, content=_chunks(12 * 1024 * 1024), headers=headers, timeout=120)
    assert "request body over 8388608 bytes" in one_line_error(response, 413)
    assert httpx.get(served.url + "/v1/health").json()["version"] == before
    assert "Traceback" not in served.process.log()


def test_an_mcp_body_between_the_sdk_bound_and_ours_reaches_the_tools(served):
    """The SDK's own 4 MiB bound (a plain-text 413) is raised to ours: a 5 MiB note is stored over MCP."""
    async def session():
        async with _mcp_client(served, served.admin, b"big-mcp") as client:
            return await client.call_tool("add_note", {"text": "x" * 99_000,
                                                       "metadata": {"pad": "y" * (5 * 1024 * 1024)}})
    wrote = asyncio.run(session())
    assert not wrote.is_error, wrote.content[0].text
    notes = httpx.get(served.url + "/v1/ns/big-mcp/notes", headers=served.headers(served.admin)).json()
    assert [len(n["metadata"]["pad"]) for n in notes] == [5 * 1024 * 1024]
