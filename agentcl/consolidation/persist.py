"""Where the learned state lives: inside each promoted checkpoint, in `<checkpoint>/state/`.

Promotion is then a single commit: the whole checkpoint directory (weights, metrics, learned state,
replay buffer, strategy tensors) is written under a temporary name, renamed into place, and only then
does the `active.json` pointer switch. A job killed at any point leaves the previous checkpoint active
together with the state that belongs to it, and `rollback` re-activates a model with its own state
(so what the rolled-back model never learned is learned again by the next run)."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from .replay import ReplayBuffer
from .state import ConsolidationState

LEARNED = "state"
STRATEGY_FILE = "strategy.safetensors"


def learned_dir(ckpts, ckpt_id: int) -> Path:
    return ckpts.path(ckpt_id) / LEARNED


def load_learned(ckpts, legacy_dir: Path, *, capacity: int | None, policy: str, seed: int
                 ) -> tuple[ConsolidationState, ReplayBuffer, Path | None]:
    """(state, replay buffer, strategy tensors file or None) of the active checkpoint. No active model,
    or an active checkpoint whose state was pruned: an empty state, so every validated memory is
    learned again on top of the active weights (slower, never wrong). `capacity` None keeps the saved
    buffer's own capacity (for reading it)."""
    active = ckpts.active_id()
    directory = None
    if active is not None:
        own = learned_dir(ckpts, active)
        if (own / "state.json").exists():
            directory = own
        elif (legacy_dir / "state.json").exists() and not any(
                (learned_dir(ckpts, i) / "state.json").exists() for i in ckpts.ids()):
            directory = legacy_dir  # written by an earlier version, which kept one state per namespace
    if directory is None:
        empty = ReplayBuffer(capacity=0 if capacity is None else capacity, policy=policy, seed=seed)
        return ConsolidationState(), empty, None
    state = ConsolidationState.load(directory)
    buffer = ReplayBuffer.load(directory, capacity=capacity, policy=policy, seed=seed)
    tensors = directory / STRATEGY_FILE
    return state, buffer, tensors if tensors.exists() else None


def learned_writer(state: ConsolidationState, buffer: ReplayBuffer, tensors: dict | None
                   ) -> Callable[[Path], None]:
    """A function that writes the learned state into a (still temporary) checkpoint directory."""
    def write(checkpoint_dir: Path) -> None:
        directory = Path(checkpoint_dir) / LEARNED
        directory.mkdir(parents=True, exist_ok=True)
        state.save(directory)
        buffer.save(directory)
        if tensors:
            from safetensors.torch import save_file

            save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(directory / STRATEGY_FILE))
    return write


def load_strategy_tensors(path: Path | None) -> dict:
    if path is None:
        return {}
    from safetensors.torch import load_file

    return load_file(str(path))


def prune_learned(ckpts, *, keep: int) -> int:
    """Drop the learned state of all but the newest `keep` checkpoints that have one (never the active
    one's): weights stay, so rollback still works and re-learns what it needs. Returns how many."""
    if keep <= 0:
        return 0
    active = ckpts.active_id()
    with_state = [i for i in ckpts.ids() if (learned_dir(ckpts, i) / "state.json").exists()]
    removed = 0
    for ckpt_id in with_state[:-keep]:
        if ckpt_id != active:
            shutil.rmtree(learned_dir(ckpts, ckpt_id), ignore_errors=True)
            removed += 1
    return removed

