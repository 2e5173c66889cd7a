"""`agentcl serve keys ...` and the loopback rule, through the CLI (no model, no server needed)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("AGENTCL_SERVER", "AGENTCL_DB_URL")}
    env |= {"AGENTCL_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_keys_are_stored_hashed_and_can_be_listed_and_removed(tmp_path):
    added = cli(tmp_path, "serve", "keys", "add", "agent-1", "-n", "team-a", "-n", "team-b", "--json")
    assert added.returncode == 0, added.stderr
    secret = json.loads(added.stdout)["key"]
    stored = (tmp_path / "server" / "keys.json").read_text()
    assert secret not in stored and secret[4:20] not in stored
    from server.keys import KeyFile

    key = KeyFile.of_home(tmp_path).verify(secret)
    assert key.name == "agent-1" and key.allows("team-b") and not key.allows("team-c") and not key.admin
    assert KeyFile.of_home(tmp_path).verify(secret + "x") is None
    listed = json.loads(cli(tmp_path, "serve", "keys", "list", "--json").stdout)
    assert [(k["name"], k["namespaces"]) for k in listed] == [("agent-1", ["team-a", "team-b"])]
    assert cli(tmp_path, "serve", "keys", "remove", "agent-1").returncode == 0
    assert KeyFile.of_home(tmp_path).verify(secret) is None


def test_key_mistakes_are_one_line(tmp_path):
    assert cli(tmp_path, "serve", "keys", "add", "a", "-n", "x").returncode == 0
    for args, expected in [(("add", "a", "-n", "y"), "a key named 'a' exists"),
                           (("add", "bad name", "-n", "y"), "bad key name"),
                           (("add", "b", "-n", "two words"), "must not contain whitespace"),
                           (("remove", "nobody"), "no key named 'nobody'")]:
        result = cli(tmp_path, "serve", "keys", *args)
        assert result.returncode == 2 and expected in result.stderr and result.stderr.count("\n") == 1


def test_without_keys_the_server_refuses_a_public_address(tmp_path):
    result = cli(tmp_path, "serve", "--host", "0.0.0.0", "--port", "8799")
    assert result.returncode == 2
    assert result.stderr.startswith("error: no API keys are configured, so the server binds to loopback only")
