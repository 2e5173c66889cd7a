"""Issue 15 item 3: a namespace becomes a file name through one collision-free, path-safe encoding."""
from __future__ import annotations

import pytest

from memory_store import InvalidInputError
from memory_store.normalize import clean_namespace

COLLIDING = ["tenant/1", "tenant_1", "tenant%1", "tenant 1".replace(" ", "\\"), "café", "cafè", "cafe\u0301",
             "Acme", "acme", "x.llm", "tenant:1", "a" * 200, "a" * 199 + "b"]


def test_encoding_is_injective_and_path_safe():
    from memory_store.paths import namespace_dirname

    names = [namespace_dirname(ns) for ns in COLLIDING]
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


# Hostile-files defect 1: files are keyed by the namespace SQL uses (clean_namespace), never by a name variant.
SQL_TWINS = ["acme", " acme", "acme ", "\tacme\n", "acme\x00", "\x00ac\x00me"]


def _folders(home, ns):
    """Every per-namespace file or folder of `ns` under `home` (and beside a SQLite database there)."""
    from agentcl.consolidation.lm_state import LMCheckpoints
    from agentcl.consolidation.lock import sqlite_lock_path
    from agentcl.consolidation.state import state_dir
    from agentcl.model.checkpoints import CheckpointStore

    return (CheckpointStore(home, namespace=ns).root, LMCheckpoints(home, namespace=ns).root, state_dir(home, ns),
            sqlite_lock_path(f"sqlite:///{home}/m.db", ns))


def test_sql_twins_share_one_folder(tmp_path, embedder):
    from memory_store import MemoryStore

    assert len({_folders(tmp_path, ns) for ns in SQL_TWINS}) == 1
    with MemoryStore.open(f"sqlite:///{tmp_path / 'm.db'}", home=tmp_path, embedder=embedder) as store:
        store.add_fact("x", "y", "z", namespace=" acme\x00")
        assert [f.namespace for f in store.facts(namespace="acme")] == ["acme"]  # SQL: the same namespace


def test_old_variant_name_is_a_namespace_of_its_own(tmp_path):
    from agentcl.consolidation.lm_state import LMCheckpoints
    from agentcl.model.checkpoints import CheckpointStore

    lm_root = LMCheckpoints(tmp_path, namespace="x").root
    taken = {p for ns in ("x.llm", "x%2ellm", "llm", "x_llm") for p in _folders(tmp_path, ns)}
    assert lm_root not in taken and not any(lm_root.is_relative_to(p) for p in taken if p.is_dir())
    assert lm_root.parent == CheckpointStore(tmp_path, namespace="x").root  # a subfolder, not a sibling
    with pytest.raises(InvalidInputError, match="whitespace"):  # "x llm" was the variant key: SQL refuses it
        _folders(tmp_path, "x llm")


@pytest.mark.parametrize("bad", ["..", " .. ", "\x00..\x00", ".\x00", "", "\x00", "a" * 201])
def test_hostile_names_get_no_folder(bad, tmp_path):
    with pytest.raises(InvalidInputError):
        _folders(tmp_path / "home", bad)
    assert not list((tmp_path / "home").rglob("*/*"))  # no namespace folder was made


@pytest.mark.parametrize("ns", ["a/../b", "../x", "..\\x", "a/b", "/etc", "~root", ".hidden", "é" * 200, "b" * 200,
                                "...", "con", "a:b"])
def test_traversal_names_stay_inside_home(ns, tmp_path):
    home = tmp_path / "home"
    folders = _folders(home, ns)
    for path in folders:
        path = path.resolve()
        assert path.is_relative_to(home.resolve()) and len(path.name.encode()) < 255
        assert path.parent.name in ("checkpoints", "consolidation", "home") or path.name == "llm"
    assert _folders(home, ns + "\x00") == folders  # SQL's spelling, the same folders
