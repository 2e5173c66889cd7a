"""The consolidation round, written once for every model:

    select -> build examples -> train with replay -> probe -> correct -> gate -> checkpoint

`run_round` drives the stages in this order, under the namespace's lock (the entry points take it), and
owns what is the same whatever the model: the learned state that belonged to another database is
dropped, stale examples leave the replay buffer before anything trains, a run with nothing new stops
before training, stale slots and forgotten tools found by the probes get one corrective round and are
probed again, the gate rule (gate.gate_decision, then the backend's own extra check), and a candidate
that is not promoted leaves the previous model in place.

What depends on the model is a `Backend` (a typing.Protocol): load the active model and what it
learned, build classes and inputs, train a round, answer the probes, measure for the gate, save. Two
implement it: the prototype model (job.PrototypeBackend: frozen encoder + adapter + prototype heads, the
default) and a causal language model trained through LoRA (lm_job.LMBackend). A backend is made for one
run and keeps that run's intermediate data (examples, probe sets, the candidate) on itself; the driver
passes what the stages share."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from memory_store.timeparse import iso, utcnow

from .gate import NOTHING_NEW, GateDecision, gate_decision
from .report import ConsolidationReport
from .select import Selection, select_stage


@dataclass
class TrainStats:
    """What one training round did, for either backend (fields a trainer does not measure stay 0)."""
    epochs: int = 0
    steps: int = 0
    examples: int = 0          # new examples trained on
    sequences: int = 0         # rows processed: new, replayed and anchor rows
    replayed: int = 0          # replayed rows (and anchors) mixed into the batches
    seconds: float = 0.0
    losses: list = field(default_factory=list)  # mean loss per epoch
    final_loss: float = 0.0    # loss of the last step


class Findings(Protocol):
    """What a probe found: stale slots (slot -> the stale answer) and forgotten tools (name -> detail).
    A backend may also report `lost`: earlier slots the candidate no longer answers right (slot -> answer),
    which the corrective round then relearns from replay like a forgotten tool."""
    stale: dict
    forgotten: dict


def lost_of(found: Findings) -> dict:
    return getattr(found, "lost", None) or {}


def drifted_of(found: Findings) -> dict:
    """A backend may also report `drifted`: prompts of the agent's own policy the candidate answers in
    another shape (a call turned sentence, or the reverse), which the corrective round restores."""
    return getattr(found, "drifted", None) or {}


@dataclass
class GateInputs:
    """The measurements the gate rule needs, on the backend's own probes."""
    new_accuracy: float | None   # the candidate on the new material
    old_before: float | None     # the active model on earlier material (None: no earlier model/probe)
    old_after: float | None      # the candidate on the same earlier material


class LearnedState(Protocol):
    store_url: str
    usages_seen: list


class Saveable(Protocol):
    def save(self, directory) -> None: ...


class Backend(Protocol):
    """The model-specific parts of a consolidation round; a class implements it by subclassing it (the
    optional hooks at the end have defaults). `cfg` has at least correct, gate, learn_threshold,
    tolerance, min_validations and trusted_sources; `checkpoints` is the CheckpointStore candidates
    are saved to (set by `load`)."""
    cfg: Any
    checkpoints: Any

    def new_report(self) -> ConsolidationReport: ...

    def load(self, rep: ConsolidationReport) -> LearnedState:
        """The learned state of the active checkpoint (what the active model has learned)."""
        ...

    def forget(self) -> LearnedState:
        """Start afresh (the state belonged to another database): an empty learned state."""
        ...

    def open(self, rep: ConsolidationReport) -> None:
        """Load the active model; set rep.active_checkpoint."""
        ...

    # 1. select
    def learned(self) -> dict:
        """Slot -> {"value": learned value, ...}: what select compares the store with."""
        ...

    def forget_stale(self, sel: Selection, rep: ConsolidationReport) -> set[str]:
        """Changed slots' and retired tools' examples leave the replay buffer (rep.removed_from_buffer);
        returns the retired tools."""
        ...

    # 2. build examples (classes and inputs)
    def build(self, sel: Selection, rep: ConsolidationReport) -> list: ...

    # 3-5. train, probe, correct
    def train(self, examples: list, rep: ConsolidationReport) -> TrainStats:
        """A round on the new examples, with replay; the candidate is the trained model."""
        ...

    def probe(self) -> Findings:
        """What the candidate answers: stale slots, forgotten tools and the backend's own measurements."""
        ...

    def correct(self, found: Findings, examples: list) -> TrainStats:
        """A targeted round (with replay) on the stale slots' current values, the forgotten tools and the
        lost earlier slots (if the backend reports them)."""
        ...

    # 6. gate
    def evaluate(self, found: Findings, after: Findings, rep: ConsolidationReport) -> GateInputs:
        """Measure the candidate for the gate; fill the report's accuracy, metrics, round, findings."""
        ...

    # 7. checkpoint
    def advance(self, after: Findings, examples: list) -> Callable[[Path], None]:
        """The candidate is promoted: the learned state takes in this round. Returns what writes that
        state into the checkpoint directory."""
        ...

    def candidate(self) -> Saveable:
        """What CheckpointStore.save calls save(directory) on: the trained model (or its adapter)."""
        ...

    def checkpoint_meta(self, rep: ConsolidationReport) -> dict:
        """The backend's part of the checkpoint's metrics.json."""
        ...

    # optional hooks
    def session(self) -> AbstractContextManager:
        """Held around the stages (e.g. torch's CPU threads)."""
        return nullcontext()

    def probe_active(self) -> Findings | None:
        """What the active model answers before training (None: this backend does not look)."""
        return None

    def nothing_new(self, rep: ConsolidationReport, before: Findings | None) -> bool:
        """No examples: whatever is still worth recording; True when that promoted a checkpoint."""
        return False

    def gate_check(self) -> str | None:
        """An extra reason to refuse a candidate the common rule would promote (e.g. locality), or None."""
        return None

    def saved(self, rep: ConsolidationReport, promoted: bool, after: Findings) -> None:
        """After the checkpoint is written (prune old states, record findings)."""

    def keep_previous(self) -> None:
        """The candidate was not promoted: the model in memory goes back to the active one."""

    def finish(self, rep: ConsolidationReport) -> None:
        """Last words of a run (rep.seconds is set): run log, buffer size."""


def run_round(backend: Backend, store, registry, *, namespace: str, extra_usages: Iterable = ()
              ) -> ConsolidationReport:
    """One consolidation round of `namespace` through `backend` (the caller holds the lock)."""
    started = time.perf_counter()
    rep = backend.new_report()
    state = backend.load(rep)
    if state.store_url and state.store_url != str(store.url):
        rep.notes.append("state belonged to another database: starting afresh")
        state = backend.forget()
    backend.open(rep)
    with backend.session():
        promoted = _stages(backend, rep, state, store, registry, namespace, list(extra_usages))
    if not promoted:
        backend.keep_previous()
    rep.seconds = round(time.perf_counter() - started, 3)
    backend.finish(rep)
    return rep


def _stages(backend: Backend, rep: ConsolidationReport, state: LearnedState, store, registry, namespace: str,
            extra_usages: list) -> bool:
    cfg = backend.cfg
    # 1. select; stale data leaves the replay buffer before anything trains
    sel = select_stage(store, registry, namespace=namespace, learned=backend.learned(), seen=state.usages_seen,
                       extra_usages=extra_usages, min_validations=cfg.min_validations,
                       trusted_sources=cfg.trusted_sources)
    retired = backend.forget_stale(sel, rep)
    rep.changed_slots, rep.retired_skills = len(sel.plan.changed), sorted(retired)

    # 2. build examples
    examples = backend.build(sel, rep)
    rep.examples, rep.new_facts, rep.new_usages = len(examples), len(sel.plan.new), len(sel.usages)
    before = backend.probe_active()
    if before is not None:
        rep.stale_before = len(before.stale)
    if not examples:
        rep.reason = NOTHING_NEW
        return backend.nothing_new(rep, before)

    # 3. train with replay
    stats = backend.train(examples, rep)
    rep.replayed = stats.replayed

    # 4. probe
    found = backend.probe()
    rep.stale_detected, rep.forgotten_detected = len(found.stale), len(found.forgotten)
    rep.lost_detected = len(lost_of(found))

    # 5. correct
    after = found
    if cfg.correct and (found.stale or found.forgotten or lost_of(found) or drifted_of(found)):
        rep.replayed += backend.correct(found, examples).replayed
        after = backend.probe()
        rep.stale_corrected = len(set(found.stale) - set(after.stale))
        rep.forgotten_corrected = len(set(found.forgotten) - set(after.forgotten))
        rep.lost_corrected = len(set(lost_of(found)) - set(lost_of(after)))
    rep.stale_remaining, rep.forgotten_remaining = len(after.stale), len(after.forgotten)
    rep.lost_remaining = len(lost_of(after))

    # 6. gate
    measured = backend.evaluate(found, after, rep)
    decision = gate_decision(new_examples=len(examples), new_accuracy=measured.new_accuracy,
                             old_accuracy_before=measured.old_before, old_accuracy_after=measured.old_after,
                             stale_remaining=len(after.stale), forgotten_remaining=len(after.forgotten),
                             learn_threshold=cfg.learn_threshold, tolerance=cfg.tolerance)
    if decision.promote and (refusal := backend.gate_check()) is not None:
        decision = GateDecision(False, refusal)
    if not cfg.gate and not decision.promote:
        decision = GateDecision(True, f"gate disabled (would have kept the previous model: {decision.reason})")
    rep.promoted, rep.reason = decision.promote, decision.reason

    # 7. checkpoint: a rejected candidate is kept for inspection, not activated
    learned = backend.advance(after, examples) if decision.promote else None
    meta = {"created_at": iso(utcnow()), "promoted": decision.promote, "reason": decision.reason,
            "examples": len(examples), **backend.checkpoint_meta(rep)}
    rep.checkpoint_id = backend.checkpoints.save(backend.candidate(), meta, activate=decision.promote, extra=learned)
    if decision.promote:
        rep.active_checkpoint = rep.checkpoint_id
    backend.saved(rep, decision.promote, after)
    return decision.promote
