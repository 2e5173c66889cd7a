"""A consolidation killed with SIGKILL (a real subprocess) at the worst moments: mid-training, halfway
through writing the checkpoint, and between writing it and activating it. Afterwards the previously
promoted model is still active and loads, no half-written checkpoint is ever listed or loaded, the lock
is free again, and the next run finishes the job."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agentcl.consolidation import ConsolidationBusy, consolidate, consolidation_lock
from agentcl.model import CheckpointStore, load_promoted

ROOT = Path(__file__).resolve().parents[2]

# The child runs the real job; the only change is a hook that announces the moment and then holds
# the process there (training forever, or sleeping inside the checkpoint write) until it is killed.
CHILD = textwrap.dedent("""
    import os, pathlib, sys, time
    os.environ.setdefault("HF_HUB_OFFLINE", "1"); os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    db, home, mode, marker = sys.argv[1:5]
    import agentcl.consolidation.job as job
    from agentcl.model.checkpoints import CheckpointStore

    def announce():
        pathlib.Path(marker).write_text(str(os.getpid()))

    if mode == "train":
        real_train = job.train_round
        def train_until_killed(*args, **kwargs):
            announce()
            kwargs["epochs"] = 10 ** 6
            return real_train(*args, **kwargs)
        job.train_round = train_until_killed
    elif mode == "write":
        real_writer = job.learned_writer
        def writer(*args, **kwargs):
            write = real_writer(*args, **kwargs)
            def write_then_hang(directory):
                write(directory)  # weights and learned state are on disk, metrics.json not yet
                announce()
                time.sleep(600)
            return write_then_hang
        job.learned_writer = writer
    elif mode == "activate":
        def hang(self, ckpt_id):
            announce()
            time.sleep(600)
        CheckpointStore.activate = hang
    elif mode == "lock":
        from agentcl.consolidation import consolidation_lock
        from memory_store import MemoryStore
        with MemoryStore.open(db, home=home) as store, consolidation_lock(store, home=home):
            announce()
            time.sleep(600)

    from agentcl.consolidation import consolidate
    from memory_store import MemoryStore
    with MemoryStore.open(db, home=home) as store:
        consolidate(store, device="cpu")
    print("finished without being killed", file=sys.stderr)
""")


def _spawn(tmp_path, db, home, mode):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    marker = tmp_path / f"{mode}.started"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AGENTCL_HOME": str(home)}
    with open(tmp_path / f"{mode}.log", "w") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, str(script), db, str(home), mode, str(marker)], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    return proc, marker, tmp_path / f"{mode}.log"


def _kill_when_started(proc, marker, log, timeout=300.0):  # a loaded 2-core machine starts slowly
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"child exited before the kill point ({proc.returncode}):\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"child never reached the kill point:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    time.sleep(0.3)  # let it get well into the step
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


def _prepare(tmp_path, mode, embedder):
    from memory_store import MemoryStore

    home, db = tmp_path / mode / "home", f"sqlite:///{tmp_path / mode / 'memory.db'}"
    home.mkdir(parents=True)
    with MemoryStore.open(db, home=home, embedder=embedder) as store:
        for company, person in (("acme", "alice"), ("globex", "bob"), ("initech", "carol")):
            store.add_fact(company, "ceo", person)
        assert consolidate(store, device="cpu", home=home).checkpoint_id == 1
        store.add_fact("acme", "ceo", "zed")  # supersedes alice: what the killed run was learning
        store.add_fact("hooli", "ceo", "gavin")
    return home, db


def test_sigkill_keeps_the_promoted_model_and_the_next_run_recovers(tmp_path, embedder):
    modes = ("train", "write", "activate")
    prepared = {m: _prepare(tmp_path, m, embedder) for m in modes}
    children = {m: _spawn(tmp_path / m, prepared[m][1], prepared[m][0], m) for m in modes}  # in parallel
    for m in modes:
        _kill_when_started(*children[m])

    from memory_store import MemoryStore

    for mode, (home, db) in prepared.items():
        ckpts = CheckpointStore(home)
        assert ckpts.active_id() == 1, mode
        # killed before the rename: nothing listed; killed after it: complete but never activated
        assert ckpts.ids() == ([1, 2] if mode == "activate" else [1]), mode
        leftovers = [p.name for p in ckpts.root.iterdir() if p.name.startswith(".")]
        assert bool(leftovers) == (mode == "write"), (mode, leftovers)
        model = load_promoted(home, embedder=embedder)
        assert model.predict_fact("What is the ceo of acme?")[0] == "alice", mode
        with MemoryStore.open(db, home=home, embedder=embedder) as store:
            with consolidation_lock(store, home=home):  # the dead job's lock is free
                pass
            report = consolidate(store, device="cpu", home=home)
        assert report.promoted and report.new_facts == 2 and report.stale_before == 1, (mode, report.to_dict())
        assert ckpts.active_id() == report.checkpoint_id == (3 if mode == "activate" else 2)
        assert not [p for p in ckpts.root.iterdir() if p.name.startswith(".")]  # leftovers cleaned up
        model = load_promoted(home, embedder=embedder)
        assert model.predict_fact("What is the ceo of acme?")[0] == "zed", mode
        assert model.predict_fact("What is the ceo of hooli?")[0] == "gavin", mode


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_lock_of_a_killed_job_is_released(backend, tmp_path, home, request):
    from memory_store import MemoryStore

    db = request.getfixturevalue("pg_url") if backend == "postgres" else f"sqlite:///{tmp_path / 'lock.db'}"
    with MemoryStore.open(db, home=home) as store:  # creates the schema before the child opens it
        proc, marker, log = _spawn(tmp_path, db, home, "lock")
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        with pytest.raises(ConsolidationBusy), consolidation_lock(store, home=home):
            pass
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # The OS drops a dead process's flock at once; PostgreSQL ends its session (and the advisory
        # lock) when it sees the connection close.
        deadline = time.monotonic() + 20
        while True:
            try:
                with consolidation_lock(store, home=home):
                    break
            except ConsolidationBusy:
                assert time.monotonic() < deadline, "the lock of the killed job was never released"
                time.sleep(0.2)
