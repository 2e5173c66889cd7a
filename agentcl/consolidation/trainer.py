"""One training round: new data in mini-batches, replay mixed into every batch, strategy penalties."""
from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .pipeline import TrainStats
from .strategies import Strategy


@contextmanager
def torch_threads(device: str, threads: int | None):
    """Train the small adapter with few CPU threads (extra ones only add contention); encoding keeps
    the process's setting, where more threads do help."""
    import torch

    before = torch.get_num_threads()
    if device == "cpu" and threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def round_budget(examples: int, *, epochs: int, batch_size: int, replay: bool, max_rows: int,
                 max_batch: int = 1024, steps_per_epoch: int = 1000) -> tuple[int, int]:
    """(epochs, batch size) for a round of `examples`: small rounds train as configured; a large one
    uses bigger batches (at most ~`steps_per_epoch` steps per epoch, batches up to `max_batch`) and
    fewer epochs, so that rows processed (replayed ones included) stay within `max_rows`; at least
    one epoch always runs."""
    if examples <= 0 or epochs <= 0:
        return epochs, batch_size
    batch = min(max_batch, max(batch_size, -(-examples // steps_per_epoch)))
    rows_per_epoch = examples * (2 if replay else 1)
    if max_rows > 0:
        epochs = max(1, min(epochs, max_rows // rows_per_epoch))
    return epochs, batch


def train_round(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    strategy: Strategy,
    replay_x: np.ndarray | None = None,
    replay_y: np.ndarray | None = None,
    epochs: int = 5,
    batch_size: int = 32,
    replay_batch_size: int | None = None,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    device: str = "cpu",
    seed: int = 0,
    params: list[nn.Parameter] | None = None,
    finish: bool = True,
) -> TrainStats:
    """Train `model` on (x, y); when the strategy replays, each batch gets as many buffer samples.

    Labels are class indices of the model's (possibly grown) head. The strategy's `after_round`
    sees only the new data, and only when `finish` (a corrective round that follows passes False and
    calls it later)."""
    gen = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64), device=device)
    use_replay = strategy.replay and replay_x is not None and len(replay_x) > 0
    if use_replay:
        rx = torch.as_tensor(np.asarray(replay_x, dtype=np.float32), device=device)
        ry = torch.as_tensor(np.asarray(replay_y, dtype=np.int64), device=device)
    rbs = replay_batch_size or batch_size
    trainable = params if params is not None else [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(trainable, lr=lr, weight_decay=weight_decay)
    stats, started = TrainStats(examples=len(xt)), time.perf_counter()
    model.train()
    n = len(xt)
    for _ in range(epochs if n else 0):
        stats.epochs += 1
        order = torch.randperm(n, generator=gen).to(device)
        for start in range(0, n, batch_size):
            idx = order[start: start + batch_size]
            bx, by = xt[idx], yt[idx]
            if use_replay:
                ridx = torch.randint(len(rx), (min(rbs, len(rx)),), generator=gen).to(device)
                bx, by = torch.cat([bx, rx[ridx]]), torch.cat([by, ry[ridx]])
                stats.replayed += len(ridx)
            logits = model(bx)
            loss = F.cross_entropy(logits, by)
            extra = strategy.penalty(model, bx, logits)
            if extra is not None:
                loss = loss + extra
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            stats.steps += 1
            stats.sequences += len(bx)
            stats.final_loss = float(loss.detach())
    model.eval()
    stats.seconds = round(time.perf_counter() - started, 3)
    if finish:
        strategy.after_round(model, xt, yt)
    return stats


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray, *, device: str = "cpu", batch_size: int = 4096) -> np.ndarray:
    """Argmax class indices."""
    model.eval()
    out = []
    for start in range(0, len(x), batch_size):
        xb = torch.as_tensor(np.asarray(x[start: start + batch_size], dtype=np.float32), device=device)
        out.append(model(xb).argmax(1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
