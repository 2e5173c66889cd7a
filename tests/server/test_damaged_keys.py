"""A damaged AGENTCL_HOME/server/keys.json is a DamagedFileError, never "no keys" (which would trust every
local caller): the CLI says so in one line and writes nothing, the running server answers 503 until fixed."""
from __future__ import annotations

import os
import time

import httpx

from tests.server.test_keys import cli

DAMAGE = ['{"keys": [{"name": "a"', '{"keys": [{"name": "a", "sha256": "x"}]}', '["keys"]', '{"keys": ["a"]}']


def test_cli_names_a_damaged_key_file(tmp_path):
    assert cli(tmp_path, "serve", "keys", "add", "a", "-n", "x").returncode == 0
    path = tmp_path / "server" / "keys.json"
    for content in DAMAGE:
        path.write_text(content)
        for args in (("serve", "keys", "list", "--json"), ("serve", "keys", "add", "b", "-n", "y"),
                     ("serve", "keys", "remove", "a"), ("serve", "--host", "0.0.0.0", "--port", "8798")):
            result = cli(tmp_path, *args)
            assert result.returncode == 2 and result.stderr.count("\n") == 1, (args, result.stderr)
            assert f"{path} is damaged" in result.stderr, (args, result.stderr)
            assert path.read_text() == content  # never replaced


def test_running_server_fails_closed_on_a_damaged_key_file(served):
    path = served.home / "server" / "keys.json"
    good = path.read_bytes()
    url = served.url + "/v1/ns/tenant-a/facts"
    try:
        path.write_text(DAMAGE[0])
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))  # a new mtime: the server re-reads
        for headers in ({}, served.headers(served.admin)):
            response = httpx.get(url, headers=headers, timeout=60)
            assert response.status_code == 503 and "is damaged" in response.json()["error"], response.text
    finally:
        path.write_bytes(good)
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 2_000_000))
    assert httpx.get(url, headers=served.headers(served.admin), timeout=60).status_code == 200
