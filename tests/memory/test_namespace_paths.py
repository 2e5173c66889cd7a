"""Issue 15 item 3: a namespace becomes a file name through one collision-free, path-safe encoding."""
from __future__ import annotations

import pytest

from memory_store import InvalidInputError
from memory_store.normalize import clean_namespace

COLLIDING = ["tenant/1", "tenant_1", "tenant%1", "tenant 1".replace(" ", "\\"), "café", "cafè", "cafe\u0301",
             "Acme", "acme", "x.llm", "tenant:1", "a" * 200, "a" * 199 + "b"]


def test_encoding_is_injective_and_path_safe():
    from memory_store.paths import namespace_dirname

    names = [namespace_dirname(ns) for ns in COLLIDING] + [namespace_dirname("x llm")]
    assert len(set(names)) == len(names)
    assert len({n.casefold() for n in names}) == len(names)  # also apart on case-insensitive file systems
    for name in names:
        assert "/" not in name and "\\" not in name and not name.startswith(".") and len(name.encode()) < 200
    assert namespace_dirname("default") == "default" and namespace_dirname("tenant-b") == "tenant-b"


def test_checkpoint_and_state_folders_never_shared(tmp_path):
    from agentcl.consolidation.lock import sqlite_lock_path
    from agentcl.consolidation.state import state_dir
    from agentcl.model.checkpoints import CheckpointStore

    roots = {CheckpointStore(tmp_path, namespace=ns).root for ns in COLLIDING}
    states = {state_dir(tmp_path, ns) for ns in COLLIDING}
    locks = {sqlite_lock_path(f"sqlite:///{tmp_path}/m.db", ns) for ns in COLLIDING}
    assert len(roots) == len(states) == len(locks) == len(COLLIDING)
    for path in roots | states:
        assert path.parent.parent == tmp_path  # inside its own folder of AGENTCL_HOME, never above it
    assert CheckpointStore(tmp_path, namespace="x llm").root.name == "x.llm"  # the LLM backend's folder


@pytest.mark.parametrize("bad", [".", "..", " .. "])
def test_dot_namespaces_are_refused(bad, tmp_path):
    from agentcl.consolidation.state import state_dir

    with pytest.raises(InvalidInputError, match="not allowed"):
        clean_namespace(bad)
    with pytest.raises(InvalidInputError, match="not allowed"):
        state_dir(tmp_path, bad)
    assert list(tmp_path.iterdir()) == [tmp_path / "consolidation"] or not list(tmp_path.iterdir())


def test_cli_refuses_dot_namespace_in_one_line(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("AGENTCL_HOME", str(tmp_path))
    for args in (["memory", "facts", "-n", ".."], ["consolidate", "status", "-n", ".."]):
        proc = subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "not allowed" in proc.stderr
    assert not (tmp_path / "runs.json").exists() and not (tmp_path / "active.json").exists()


def test_old_folders_move_when_unambiguous(tmp_path):
    from memory_store.paths import namespace_path

    checkpoints = tmp_path / "checkpoints"
    (checkpoints / "Acme" / "000001").mkdir(parents=True)  # written by an earlier version for "Acme"
    (checkpoints / "tenant_1").mkdir()  # could be "tenant/1", "tenant%1" or "tenant_1": left where it is
    moved = namespace_path(checkpoints, "Acme")
    assert moved.name == "%41cme" and (moved / "000001").is_dir() and not (checkpoints / "Acme").exists()
    fresh = namespace_path(checkpoints, "tenant/1")
    assert fresh.name == "tenant%2f1" and not any(fresh.iterdir()) and (checkpoints / "tenant_1").is_dir()
