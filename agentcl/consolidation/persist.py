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


def _has_learned(directory: Path) -> bool:
    """Whether `directory` holds a learned state (prune_learned removes it whole). Its files are saved
    together: a replay buffer without state.json is damage, not a pruned state."""
    if not (directory / "state.json").exists() and not (directory / "replay.json").exists():
        return False
    from memory_store.file_reads import require_file

    require_file(directory / "state.json")
    return True


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
        if _has_learned(own):
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

    from memory_store.file_reads import reading

    with reading(path):
        return load_file(str(path))


def check_checkpoint(ckpts, ckpt_id: int) -> None:
    """Raise DamagedFileError unless checkpoint `ckpt_id` loads whole: metrics, model, and the learned
    state saved with it (absent is fine: pruned, learned again). Before rollback activates it, and for
    the active one in `consolidate status`."""
    ckpts.verify(ckpt_id)
    own = learned_dir(ckpts, ckpt_id)
    if _has_learned(own):
        ConsolidationState.load(own)
        ReplayBuffer.load(own)
        if (own / STRATEGY_FILE).exists():
            from memory_store.file_reads import check_safetensors

            check_safetensors(own / STRATEGY_FILE)


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

