"""One real `agentcl serve` (uvicorn, SQLite) for the server tests, with three API keys: an admin key for
every namespace, and one key each for tenant-a and tenant-b. Started once per session (the embedder load
dominates), on a free loopback port."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Served:
    url: str
    home: Path
    db: str
    admin: str
    key_a: str
    key_b: str
    process: object

    def headers(self, key: str) -> dict:
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    from agentcl_bench.server_process import ServerProcess
    from server.keys import KeyFile

    home = tmp_path_factory.mktemp("served")
    keys = KeyFile.of_home(home)
    admin = keys.add("admin", ["*"])[1]
    key_a = keys.add("alice", ["tenant-a"])[1]
    key_b = keys.add("bob", ["tenant-b"])[1]
    db = f"sqlite:///{home / 'memory.db'}"
    with ServerProcess(home, db=db) as proc:
        yield Served(proc.url, home, db, admin, key_a, key_b, proc)


@pytest.fixture
def http(served):
    import httpx

    with httpx.Client(base_url=served.url, headers=served.headers(served.admin), timeout=120) as client:
        yield client
