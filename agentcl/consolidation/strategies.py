"""Continual-learning strategies as plug-ins around one training loop.

A strategy may mix replay into every batch (`replay`), add a penalty to the loss (`penalty`), and
update its own state after a round (`after_round`). Heads may grow between rounds (new answers and
new tools are new classes), so penalties compare only the rows that existed before.
"""
from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


class Strategy:
    name = "naive"
    replay = False

    def before_round(self, model: nn.Module, *, previous: nn.Module | None = None,
                     old_classes: int | None = None) -> None:
        """Called once before training; `previous` is the model as it was before this round and
        `old_classes` how many leading output columns it had learned (None: all of its outputs)."""

    def penalty(self, model: nn.Module, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor | None:
        return None

    def after_round(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
        """Called once after training with the round's new data (EWC estimates its Fisher here)."""

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        pass


class Naive(Strategy):
    """Plain fine-tuning on the new data: the lower bound that shows forgetting."""


class Replay(Strategy):
    """Experience replay: the trainer mixes buffer samples into every batch; no penalty."""
    name = "replay"
    replay = True


def _overlap(current: torch.Tensor, old: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The part of a parameter that existed before the head grew (leading rows)."""
    if current.shape == old.shape:
        return current, old
    if current.dim() == old.dim() and current.shape[1:] == old.shape[1:] and current.shape[0] >= old.shape[0]:
        return current[: old.shape[0]], old
    return None


class EWC(Strategy):
    """Elastic weight consolidation (Kirkpatrick et al. 2017), online variant with a diagonal Fisher."""
    name = "ewc"

    def __init__(self, *, lam: float = 100.0, gamma: float = 1.0, fisher_samples: int = 512):
        self.lam, self.gamma, self.fisher_samples = lam, gamma, fisher_samples
        self.fisher: dict[str, torch.Tensor] = {}
        self.anchor: dict[str, torch.Tensor] = {}

    def penalty(self, model, x, logits):
        if not self.fisher:
            return None
        total = logits.new_zeros(())
        for name, param in model.named_parameters():
            if name not in self.fisher or not param.requires_grad:
                continue
            pair = _overlap(param, self.anchor[name])
            if pair is None:
                continue
            cur, old = pair
            total = total + (self.fisher[name].to(cur.device) * (cur - old.to(cur.device)) ** 2).sum()
        return 0.5 * self.lam * total

    def after_round(self, model, x, y):
        # Empirical Fisher: squared gradients of the log-likelihood of the true labels, per sample.
        if len(x) == 0:
            return
        idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[: self.fisher_samples]
        params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        fisher = {n: torch.zeros_like(p) for n, p in params.items()}
        was_training = model.training
        model.eval()
        for i in idx.tolist():
            model.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[i: i + 1]), y[i: i + 1])
            loss.backward()
            for n, p in params.items():
                if p.grad is not None:
                    fisher[n] += p.grad.detach() ** 2
        model.zero_grad(set_to_none=True)
        model.train(was_training)
        for n in fisher:
            fisher[n] /= max(len(idx), 1)
            if n in self.fisher:
                pair = _overlap(fisher[n], self.fisher[n])
                if pair is not None:
                    fisher[n][: self.fisher[n].shape[0]] += self.gamma * self.fisher[n].to(fisher[n].device)
        self.fisher = {n: f.detach().cpu() for n, f in fisher.items()}
        self.anchor = {n: p.detach().cpu().clone() for n, p in params.items()}

    def state_tensors(self):
        out = {f"fisher.{n}": t for n, t in self.fisher.items()}
        out.update({f"anchor.{n}": t for n, t in self.anchor.items()})
        return out

    def load_state_tensors(self, tensors):
        self.fisher = {k[len("fisher."):]: v for k, v in tensors.items() if k.startswith("fisher.")}
        self.anchor = {k[len("anchor."):]: v for k, v in tensors.items() if k.startswith("anchor.")}


class LwF(Strategy):
    """Learning without forgetting (Li & Hoiem 2016): distil the previous model's outputs on the old
    classes into the new one, on every batch (new and replayed inputs alike)."""
    name = "lwf"

    def __init__(self, *, alpha: float = 1.0, temperature: float = 2.0):
        self.alpha, self.temperature = alpha, temperature
        self.teacher: nn.Module | None = None
        self.old_classes: int | None = None

    def before_round(self, model, *, previous=None, old_classes=None):
        self.teacher, self.old_classes = None, old_classes
        if previous is not None:
            self.teacher = copy.deepcopy(previous).eval()
            for p in self.teacher.parameters():
                p.requires_grad_(False)

    def penalty(self, model, x, logits):
        if self.teacher is None:
            return None
        with torch.no_grad():
            old = self.teacher(x)
        n_old = old.shape[1] if self.old_classes is None else min(self.old_classes, old.shape[1])
        old = old[:, :n_old]
        if n_old == 0:
            return None
        t = self.temperature
        return self.alpha * t * t * F.kl_div(
            F.log_softmax(logits[:, :n_old] / t, dim=1), F.softmax(old / t, dim=1), reduction="batchmean"
        )


class Composite(Strategy):
    """Several strategies at once, e.g. replay+lwf: replay if any part replays, penalties summed."""

    def __init__(self, parts: list[Strategy]):
        self.parts = parts
        self.name = "+".join(p.name for p in parts)
        self.replay = any(p.replay for p in parts)

    def before_round(self, model, *, previous=None, old_classes=None):
        for p in self.parts:
            p.before_round(model, previous=previous, old_classes=old_classes)

    def penalty(self, model, x, logits):
        terms = [t for p in self.parts if (t := p.penalty(model, x, logits)) is not None]
        return sum(terms) if terms else None

    def after_round(self, model, x, y):
        for p in self.parts:
            p.after_round(model, x, y)

    def state_tensors(self):
        return {f"{i}.{k}": v for i, p in enumerate(self.parts) for k, v in p.state_tensors().items()}

    def load_state_tensors(self, tensors):
        for i, p in enumerate(self.parts):
            prefix = f"{i}."
            p.load_state_tensors({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})


STRATEGIES: dict[str, Callable[..., Strategy]] = {"naive": Naive, "replay": Replay, "ewc": EWC, "lwf": LwF}


def make_strategy(name: str, **options) -> Strategy:
    """'naive', 'replay', 'ewc', 'lwf' or a '+'-joined combination such as 'replay+lwf'."""
    parts = [p.strip().lower() for p in name.split("+") if p.strip()]
    unknown = [p for p in parts if p not in STRATEGIES]
    if not parts or unknown:
        from memory_store.errors import InvalidInputError

        raise InvalidInputError(
            f"unknown strategy {name!r}: use naive, replay, ewc, lwf or a combination like replay+lwf"
        )
    built = []
    for p in parts:
        opts = options.get(p, {})
        built.append(STRATEGIES[p](**opts))
    return built[0] if len(built) == 1 else Composite(built)
