"""Helpers for the reliability tests: worker processes with a start barrier and ack files.

Workers are real processes started from a multiprocessing *forkserver* that pre-imports torch and
sentence-transformers: each worker still opens its own stores and loads its own model, but does not
pay the 10-20 s import again (the forkserver never runs torch itself, so forking it is safe)."""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
for path in (str(REPO), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)
for key, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}.items():
    os.environ.setdefault(key, value)

CTX = multiprocessing.get_context("forkserver")
CTX.set_forkserver_preload(["torch", "sentence_transformers", "sqlalchemy", "faiss", "memory_store",
                            "memory_store.store", "workers"])


class Crew:
    """Worker processes started together: each loads the model, then all wait for one start file."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.go = directory / "go"
        self.procs: list[tuple[multiprocessing.Process, Path]] = []

    def start(self, mode: str, **args) -> Path:
        import workers

        wid = len(self.procs)
        ack = self.dir / f"acks-{wid}.jsonl"
        payload = {**args, "wid": wid, "ack": str(ack), "go": str(self.go)}
        proc = CTX.Process(target=workers.run, args=(mode, payload), daemon=True)
        proc.start()
        self.procs.append((proc, ack))
        return ack

    def release(self, timeout: float = 180) -> None:
        """Wait until every worker is ready (model loaded), then let them all go at once."""
        deadline = time.monotonic() + timeout
        while not all(Path(str(ack) + ".ready").exists() for _, ack in self.procs):
            for i, (proc, _) in enumerate(self.procs):
                if not proc.is_alive():
                    pytest.fail(f"worker {i} died before starting: {self.error(i)}")
            if time.monotonic() > deadline:
                pytest.fail("workers did not get ready in time")
            time.sleep(0.05)
        self.go.write_text("go")

    def wait(self, timeout: float = 180) -> None:
        for i, (proc, _) in enumerate(self.procs):
            proc.join(timeout=timeout)
            assert proc.exitcode == 0, f"worker {i} exited with {proc.exitcode}: {self.error(i)}"

    def error(self, i: int) -> str:
        err = Path(str(self.procs[i][1]) + ".err")
        return err.read_text()[-3000:] if err.exists() else "(no traceback)"

    def acks(self) -> list[dict]:
        return [a for _, ack in self.procs for a in read_acks(ack)]

    def kill_all(self) -> None:
        for proc, _ in self.procs:
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=30)


def read_acks(path: Path) -> list[dict]:
    """Complete lines only: a line cut short by a kill was never acknowledged."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines(keepends=True) if line.endswith("\n")]


@pytest.fixture
def backends(tmp_path, request) -> list[str]:
    """SQLite, plus a fresh schema on the real PostgreSQL when it is reachable: one worker process can
    then exercise both backends with a single load of the embedding model."""
    urls = [f"sqlite:///{tmp_path / 'memory.db'}"]
    try:
        urls.append(request.getfixturevalue("pg_url"))
    except pytest.skip.Exception:
        pass
    return urls


@pytest.fixture
def crew(tmp_path):
    c = Crew(tmp_path)
    yield c
    c.kill_all()
