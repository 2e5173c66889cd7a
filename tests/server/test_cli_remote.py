"""The CLI through a running server (AGENTCL_SERVER) prints exactly what the CLI prints on the database
itself: reads compared byte for byte (JSON and tables), writes compared with the local read of what they wrote,
errors compared line for line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NS = "cli-ns"


def _env(served, remote: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("AGENTCL_SERVER", "AGENTCL_API_KEY", "AGENTCL_DB_URL")}
    env |= {"AGENTCL_HOME": str(served.home), "PYTHONPATH": str(REPO), "COLUMNS": "200", "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1"}
    if remote:
        env |= {"AGENTCL_SERVER": served.url, "AGENTCL_API_KEY": served.admin}
    else:
        env["AGENTCL_DB_URL"] = served.db
    return env


def remote(served, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=_env(served, True), cwd=REPO,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def local_runner(served):
    """The local CLI's main() (its error handling included), in this process: the embedder loads once for
    the module instead of once per command."""
    import contextlib
    import io

    from cli.main import main

    def run(*args: str) -> subprocess.CompletedProcess:
        saved, out, err = dict(os.environ), io.StringIO(), io.StringIO()
        os.environ.clear()
        os.environ.update(_env(served, False))
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main(list(args))
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 0
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())
    return run


def local(local_runner, *args: str) -> subprocess.CompletedProcess:
    return local_runner(*args)


def test_writes_print_what_the_store_holds(served, local_runner):
    added = remote(served, "memory", "add-fact", "acme", "ceo", "Alice", "-n", NS, "--json")
    assert added.returncode == 0, added.stderr
    fact = json.loads(added.stdout)["fact"]
    replaced = json.loads(remote(served, "memory", "add-fact", "acme", "ceo", "Bob", "-n", NS, "--json").stdout)
    assert replaced["action"] == "superseded" and replaced["superseded"] == [fact["id"]]
    note = json.loads(remote(served, "memory", "add-note", "Bob moved the board meeting to Friday", "--meta",
                             "room=2", "-n", NS, "--json").stdout)
    facts_local = json.loads(local(local_runner, "memory", "facts", "-n", NS, "--status", "all", "--json").stdout)
    assert [f["id"] for f in facts_local] == [fact["id"], replaced["fact"]["id"]]
    assert facts_local[1] == replaced["fact"]
    assert note["metadata"] == {"room": "2"} and note["namespace"] == NS
    retracted = remote(served, "memory", "retract", str(replaced["fact"]["id"]), "--json")
    # retract has no -n yet: through the server it acts on 'default', where this fact is not
    assert retracted.returncode == 2 and retracted.stderr.startswith("error: no fact with id")


READS = [
    ("memory", "facts", "-n", NS, "--status", "all"),
    ("memory", "facts", "-n", NS, "--subject", "acme"),
    ("memory", "history", "acme", "ceo", "-n", NS),
    ("memory", "search", "who chairs the board meeting", "-k", "3", "-n", NS),
    ("memory", "search", "acme", "--kind", "fact", "--include-superseded", "-n", NS),
    ("memory", "prune", "--superseded", "--dry-run", "--older-than", "1s", "-n", NS),
]


@pytest.mark.parametrize("json_out", [True, False], ids=["json", "table"])
@pytest.mark.parametrize("args", READS, ids=[" ".join(a[1:3]) for a in READS])
def test_reads_print_exactly_what_the_local_cli_prints(served, local_runner, args, json_out):
    if not json.loads(local(local_runner, "memory", "facts", "-n", NS, "--json").stdout):
        remote(served, "memory", "add-fact", "acme", "ceo", "Bob", "-n", NS)
        remote(served, "memory", "add-note", "Bob moved the board meeting to Friday", "-n", NS)
    argv = [*args, "--json"] if json_out else list(args)
    through_server, on_database = remote(served, *argv), local(local_runner, *argv)
    assert through_server.returncode == on_database.returncode == 0, through_server.stderr
    assert through_server.stdout == on_database.stdout


ERRORS = [
    ("memory", "add-fact", "acme", "ceo", "Zed", "--confidence", "3", "-n", NS),
    ("memory", "add-fact", "acme", "ceo", "Zed", "--ttl", "soon", "-n", NS),
    ("memory", "add-note", "x", "--meta", "novalue", "-n", NS),
    ("memory", "facts", "--status", "sideways", "-n", NS),
    ("memory", "facts", "--as-of", "v999999", "-n", NS),
    ("memory", "search", "x", "-n", "two words"),
]


@pytest.mark.parametrize("args", ERRORS, ids=[" ".join(a[1:]) for a in ERRORS])
def test_errors_print_the_same_line(served, local_runner, args):
    through_server, on_database = remote(served, *args), local(local_runner, *args)
    assert through_server.returncode == on_database.returncode == 2
    assert through_server.stderr == on_database.stderr and through_server.stderr.count("\n") == 1


def test_a_command_not_served_says_so(served):
    result = remote(served, "memory", "log", "--json")
    assert result.returncode == 2 and "unset AGENTCL_SERVER" in result.stderr and not result.stdout


def test_an_unreachable_server_is_one_line(served, tmp_path):
    from agentcl_bench.server_process import free_port

    env = _env(served, True) | {"AGENTCL_SERVER": f"http://127.0.0.1:{free_port()}"}
    result = subprocess.run([sys.executable, "-m", "cli.main", "memory", "facts"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.startswith("error: cannot reach the agentcl server")
    assert result.stderr.count("\n") == 1
