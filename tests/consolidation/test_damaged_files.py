"""Hostile-files defect 2: a damaged consolidation or checkpoint file (truncated or non-JSON state, a
checkpoint whose weights are missing or corrupt, a pointer or pin naming a missing checkpoint, a pin of
garbage) is one line naming the file and exit 2 in `agentcl consolidate status/run/rollback/ask`, never a
traceback, and nothing is written over it (or over any other state file) by the command that found it."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cli.main import main

CKPTS = ("checkpoints", "default")
CONSOLIDATION = ("consolidation", "default")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, embedder):
    """A home and SQLite database with two promoted prototype checkpoints (2 active), made once."""
    base = tmp_path_factory.mktemp("damaged")
    live, home = base / "live", base / "live" / "home"
    home.mkdir(parents=True)
    with pytest.MonkeyPatch.context() as mp:
        _patch(mp, embedder, home)
        base_args = ["--db", f"sqlite:///{live / 'm.db'}", "--home", str(home)]
        for fact in (["acme", "ceo", "alice"], ["globex", "ceo", "bob"]):
            assert _cli(base_args + ["memory", "add-fact", *fact])[0] == 0
            code, _, err = _cli(base_args + ["consolidate", "run", "--device", "cpu", "--json"])
            assert code == 0, err
    assert (home / Path(*CKPTS) / "000002" / "state" / "state.json").is_file()
    shutil.copytree(live, base / "pristine")
    return base


@pytest.fixture
def env(pristine, embedder, monkeypatch):
    """The pristine home restored at the same path (its learned state names that database URL)."""
    live = pristine / "live"
    shutil.rmtree(live)
    shutil.copytree(pristine / "pristine", live)
    _patch(monkeypatch, embedder, live / "home")
    return live / "home", ["--db", f"sqlite:///{live / 'm.db'}", "--home", str(live / "home")]


def _patch(mp, embedder, home):
    import memory_store.embedding as emb

    mp.setattr(emb, "get_default_embedder", lambda device="auto": embedder)  # reuse the loaded model
    mp.setenv("AGENTCL_HOME", str(home))


def _cli(args):
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def _snapshot(home: Path) -> dict:
    """Every state file's bytes (lock files aside: taking a lock is not writing state)."""
    return {str(p.relative_to(home)): p.read_bytes() for top in ("checkpoints", "consolidation")
            for p in sorted((home / top).rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _each_checkpoint(home: Path, *parts: str) -> list[Path]:
    return [home / Path(*CKPTS) / f"{i:06d}" / Path(*parts) for i in (1, 2)]


def _damage(kind: str, home: Path) -> list[Path]:
    """Damage `kind` applied to the files of both checkpoints (so rollback's target is damaged too);
    returns the damaged paths."""
    ckpt, cons = home / Path(*CKPTS), home / Path(*CONSOLIDATION)
    paths = {
        "state_truncated": _each_checkpoint(home, "state", "state.json"),
        "state_not_json": _each_checkpoint(home, "state", "state.json"),
        "state_wrong_shape": _each_checkpoint(home, "state", "state.json"),
        "replay_not_object": _each_checkpoint(home, "state", "replay.json"),
        "probes_missing": _each_checkpoint(home, "state", "probes.safetensors"),
        "runs_not_json": [cons / "runs.json"],
        "weights_missing": _each_checkpoint(home, "model.safetensors"),
        "weights_truncated": _each_checkpoint(home, "model.safetensors"),
        "weights_not_safetensors": _each_checkpoint(home, "model.safetensors"),
        "model_json_garbage": _each_checkpoint(home, "model.json"),
        "metrics_garbage": _each_checkpoint(home, "metrics.json"),
        "active_garbage": [ckpt / "active.json"],
        "active_names_missing": [ckpt / "active.json"],
        "pin_garbage": [cons / "pin.json"],
        "pin_not_a_pin": [cons / "pin.json"],
        "pin_names_missing": [cons / "pin.json"],
    }[kind]
    for path in paths:
        if kind in ("state_truncated", "weights_truncated"):
            _truncate(path)
        elif kind in ("probes_missing", "weights_missing"):
            path.unlink()
        elif kind == "weights_not_safetensors":
            path.write_bytes(b"\x00\x01not safetensors" * 50)
        elif kind == "state_wrong_shape":
            path.write_text(json.dumps({**json.loads(path.read_text()), "probe_sets": {"x": 1}}))
        elif kind == "replay_not_object":
            path.write_text("[1, 2, 3]")
        elif kind == "active_names_missing":
            path.write_text('{"id": 7}')
        elif kind == "pin_names_missing":
            path.write_text('{"checkpoint": 9, "since": "2026-01-01T00:00:00+00:00", "digest": "x"}')
        elif kind == "pin_not_a_pin":
            path.write_text('{"checkpoint": "one"}')
        else:
            path.write_text('{"id": 1, "trunc' if kind != "pin_garbage" else "\x00\xff garbage")
    return paths


STATE = ("status", "run", "rollback")
EVERYWHERE = ("status", "run", "rollback", "ask")
MUST_FAIL = {
    "state_truncated": STATE, "state_not_json": STATE, "state_wrong_shape": STATE, "replay_not_object": STATE,
    "probes_missing": STATE, "runs_not_json": ("status", "run"),
    "weights_missing": EVERYWHERE, "weights_truncated": EVERYWHERE, "weights_not_safetensors": EVERYWHERE,
    "model_json_garbage": EVERYWHERE, "metrics_garbage": ("status", "rollback"),
    "active_garbage": EVERYWHERE, "active_names_missing": EVERYWHERE,
    "pin_garbage": STATE, "pin_not_a_pin": STATE, "pin_names_missing": STATE,
}
COMMANDS = {"status": ["consolidate", "status", "--json"],
            "run": ["consolidate", "run", "--device", "cpu", "--json"],
            "rollback": ["consolidate", "rollback", "1", "--json"],
            "ask": ["consolidate", "ask", "--backend", "prototype", "--device", "cpu", "what is the ceo of acme?"]}


@pytest.mark.parametrize("kind", sorted(MUST_FAIL))
def test_damaged_file_is_one_line_and_never_written_over(kind, env):
    home, base = env
    if kind.startswith("pin"):  # a pin exists only after a rollback (to 1: the older checkpoint)
        assert _cli(base + COMMANDS["rollback"])[0] == 0
    damaged = _damage(kind, home)
    for name, args in COMMANDS.items():
        before = _snapshot(home)
        code, out, err = _cli(base + args)
        if name in MUST_FAIL[kind]:
            assert code == 2, (name, out, err)
            assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), (name, err)
            assert "is damaged" in err and any(str(p) in err for p in damaged), (name, err)
            assert _snapshot(home) == before, name  # nothing written, the damaged file least of all
        else:
            assert code in (0, 2) and "Traceback" not in err, (name, err)
            assert {k: v for k, v in _snapshot(home).items() if home / k in damaged} == \
                   {k: v for k, v in before.items() if home / k in damaged}, name


def test_unpin_removes_a_damaged_pin(env):
    home, base = env
    assert _cli(base + COMMANDS["rollback"])[0] == 0
    _damage("pin_garbage", home)
    code, out, err = _cli(base + ["consolidate", "unpin", "--json"])
    assert code == 0 and json.loads(out)["unpinned"] is True, err
    code, out, err = _cli(base + COMMANDS["status"])
    assert code == 0 and json.loads(out)["pinned"] is None and json.loads(out)["active_checkpoint"] == 1, err


# -- the llm backend: a damaged adapter checkpoint is found before any language model is loaded ----------

def _lm_checkpoint(home: Path) -> Path:
    """A hand-made llm checkpoint 1 (tiny adapter weights, learned state), active."""
    from safetensors.numpy import save_file

    root = home / Path(*CKPTS) / "llm"
    ckpt = root / "000001"
    ckpt.mkdir(parents=True)
    save_file({"base_model.model.lora_A.weight": np.zeros((4, 8), np.float32)}, str(ckpt / "adapter_model.safetensors"))
    (ckpt / "adapter_config.json").write_text('{"r": 4}')
    (ckpt / "learned.json").write_text(json.dumps({"rounds": 1, "slots": [], "tools": {}}))
    (ckpt / "metrics.json").write_text('{"id": 1, "promoted": true}')
    (root / "active.json").write_text('{"id": 1}')
    return ckpt


LM_DAMAGE = {
    "adapter_missing": lambda c: (c / "adapter_model.safetensors").unlink(),
    "adapter_truncated": lambda c: _truncate(c / "adapter_model.safetensors"),
    "adapter_config_garbage": lambda c: (c / "adapter_config.json").write_text("{{"),
    "learned_not_json": lambda c: (c / "learned.json").write_text("nope"),
    "learned_wrong_shape": lambda c: (c / "learned.json").write_text('{"slots": [{"slot": 5}]}'),
    "active_names_missing": lambda c: (c.parent / "active.json").write_text('{"id": 3}'),
}


@pytest.mark.parametrize("kind", sorted(LM_DAMAGE))
def test_llm_checkpoint_damage_before_the_model_loads(kind, home):
    ckpt = _lm_checkpoint(home)
    LM_DAMAGE[kind](ckpt)
    before = _snapshot(home)
    # --model-dir names no directory: had the damage gone unnoticed, that would be the error instead
    for args in (["consolidate", "ask", "--model-dir", str(home / "no-model"), "q?"],
                 ["consolidate", "run", "--backend", "llm", "--model-dir", str(home / "no-model")],
                 ["consolidate", "rollback", "1", "--backend", "llm"]):
        code, out, err = _cli(["--home", str(home)] + args)
        assert code == 2 and len(err.strip().splitlines()) == 1, (args, err)
        assert "is damaged" in err and str(ckpt.parent) in err, (args, err)
        assert _snapshot(home) == before, args
