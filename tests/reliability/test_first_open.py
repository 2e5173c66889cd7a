"""Two processes opening one fresh store at the same moment (two `agentcl run` on a new home): both must
work, for the store's, the skill registry's and the agent's migrations alike. The first migrates, the
second waits for it (a file lock beside a SQLite database, an advisory lock on PostgreSQL) and finds the
schema at head. Real processes, released together from a start file."""
from __future__ import annotations

import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import pytest

from tests.conftest import _temporary_pg_schema

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 3
OPENER = """
import sys, time
from pathlib import Path
go, url, home, me = Path(sys.argv[1]), sys.argv[2] or None, sys.argv[3], sys.argv[4]
import alembic.command, alembic.config  # imported before the start: what races is the open itself
from memory_store import MemoryStore
from skills import SkillRegistry
from agentcl.agent.event_log import EventLog
Path(f"{go}.ready.{me}").write_text("")
while not go.exists():
    time.sleep(0.001)
with MemoryStore.open(url, home=home) as store:  # what `agentcl run` opens: the store, the registry, the agent
    with SkillRegistry.open(url, home=home) as registry:
        skills = len(registry.list())
    EventLog(store.engine).log_events([dict(namespace=me, run_id=me, episode=0, step=0, stage="act", payload={})])
    print("opened", store.current_version(), skills)
"""


def _race(tmp_path: Path, url: str, round_: int) -> list[subprocess.CompletedProcess]:
    home = tmp_path / f"home{round_}"
    home.mkdir()
    go = tmp_path / f"go{round_}"
    env_cmd = [sys.executable, "-c", OPENER, str(go), url, str(home)]
    procs = [subprocess.Popen([*env_cmd, me], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for me in ("a", "b")]
    deadline = time.monotonic() + 120
    while not all(Path(f"{go}.ready.{me}").exists() for me in ("a", "b")):
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        assert time.monotonic() < deadline, "the processes did not get ready"
        time.sleep(0.02)
    go.write_text("go")
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_processes_open_a_fresh_store_at_once(tmp_path, backend):
    for round_ in range(ROUNDS):  # the race is won or lost in milliseconds: several fresh stores
        with (_temporary_pg_schema() if backend == "postgres" else nullcontext("")) as url:
            results = _race(tmp_path, url, round_)
        for r in results:
            assert r.returncode == 0 and "Traceback" not in r.stderr, (round_, r.stderr[-2000:])
            assert r.stdout.split()[:2] == ["opened", "0"], r.stdout
