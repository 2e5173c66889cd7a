"""A damaged key file is never read as "no keys": the key commands and `agentcl serve` say so in one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from server.keys import KeyFileDamaged, parse_keys

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
