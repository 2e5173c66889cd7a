"""The prototype model's consolidation (the default backend): frozen sentence encoder + adapter +
prototype heads, trained on encoded questions and task texts. The round itself (select -> build
examples -> train with replay -> probe -> correct -> gate -> checkpoint) is pipeline.run_round; this
module is its `PrototypeBackend` and the `consolidate` entry point.

What the model has learned (slots, probe sets, accuracy matrix, replay buffer, strategy tensors) is
saved inside each promoted checkpoint (persist.py), so it always describes the active model, and
promotion or rollback moves both together. Every run starts by removing superseded facts' examples
from the buffer it loads, so stale data is never replayed, whether or not the last run was promoted.

Over 300 lines on purpose: one class implementing the pipeline's Backend stages for one model, which
share that model's state; split across files, a reader would chase one backend through several."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass

import numpy as np

from memory_store.timeparse import iso, utcnow

from ..model import CheckpointStore, LocalModel
from .config import ConsolidationConfig
from .examples import (
    Example,
    UsageRecord,
    canonical_question,
    fact_examples,
    latest_args,
    phrasings_within,
    split_usages,
    usage_examples,
)
from .keys import Slot, skill_key, slot_from_saved, slot_key
from .lock import consolidation_lock
from .metrics import accuracy, summarize
from .persist import learned_writer, load_learned, load_strategy_tensors, prune_learned
from .pipeline import Backend, GateInputs, TrainStats, run_round
from .probes import classify_answers, forgotten_skills, per_key_accuracy, probe_accuracy, probe_items
from .replay import ReplayBuffer, ReplayItem, class_label, replay_class
from .report import ConsolidationReport
from .select import Selection
from .state import ConsolidationState, ProbeItem, RunLog, state_dir
from .strategies import make_strategy
from .trainer import round_budget, torch_threads, train_round


def consolidate(store, registry=None, *, namespace: str = "default", device: str = "auto",
                config: ConsolidationConfig | dict | None = None, usages=None, retire=(), home=None
                ) -> ConsolidationReport:
    """Distil validated memories (and successful skill usages) of `namespace` into the local model.

    `usages` adds skill usages (UsageRecord or dicts with task/skill/args) to those of `registry`;
    `retire` names skills to stop proposing (deprecated or replaced), beside those the registry marks.
    Raises ConsolidationBusy (a UserError) when another job holds this store's lock."""
    from memory_store.embedding import resolve_device

    cfg = ConsolidationConfig(**config) if isinstance(config, dict) else (config or ConsolidationConfig())
    make_strategy(cfg.strategy)  # validate before anything is written
    device = resolve_device(device)  # the one device check: unknown names and cuda without a GPU
    home = home if home is not None else getattr(store, "home", None)
    with consolidation_lock(store, namespace=namespace, home=home):
        backend = PrototypeBackend(store, registry, namespace, device, cfg, home,
                                   retire={str(name) for name in retire})
        extra = [UsageRecord.coerce(u) for u in (usages or [])]
        return run_round(backend, store, registry, namespace=namespace, extra_usages=extra)


@dataclass
class _Probe:
    stale: dict
    disagree: dict
    skills: dict
    forgotten: dict


class PrototypeBackend(Backend):
    """pipeline.Backend for the prototype model. Classes are (kind, value) pairs of the model's head;
    inputs are encoded texts (or the store's fact vectors). Its saved state names slots and skills by
    their text forms (keys.slot_key, keys.skill_key): select's typed plan is read through them."""

    def __init__(self, store, registry, namespace, device, cfg: ConsolidationConfig, home, *, retire=()):
        self.store, self.registry, self.ns, self.device, self.cfg, self.home = store, registry, namespace, device, cfg, home
        self.embedder = store.embedder
        self.extra_retired: set[str] = set(retire)
        self.encode_seconds = 0.0
        self.fact_items: list[ProbeItem] = []  # earlier rounds' fact probes: the disagreement check
        self.fact_vecs = np.zeros((0, 0), dtype=np.float32)
        self._vec_cache: dict[str, np.ndarray] = {}

    # -- encoding -------------------------------------------------------------------------------
    def encode(self, texts: list[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self._vec_cache})
        if missing:
            started = time.perf_counter()
            for t, v in zip(missing, self.embedder.encode(missing)):
                self._vec_cache[t] = v
            self.encode_seconds += time.perf_counter() - started
        dim = self.embedder.dim
        return np.stack([self._vec_cache[t] for t in texts]) if texts else np.zeros((0, dim), np.float32)

    def example_vectors(self, examples: list[Example]) -> np.ndarray:
        out = np.zeros((len(examples), self.embedder.dim), dtype=np.float32)
        text_idx = [i for i, e in enumerate(examples) if e.fact_id is None]
        if text_idx:
            out[text_idx] = self.encode([examples[i].text for i in text_idx])
        id_idx = [i for i, e in enumerate(examples) if e.fact_id is not None]
        for start in range(0, len(id_idx), 5000):
            chunk = id_idx[start: start + 5000]
            out[chunk] = self.store.vectors("fact", [examples[i].fact_id for i in chunk])
        return out

    # -- load and keep --------------------------------------------------------------------------
    def new_report(self) -> ConsolidationReport:
        return ConsolidationReport(namespace=self.ns, strategy=self.cfg.strategy, device=self.device)

    def load(self, rep) -> ConsolidationState:
        cfg = self.cfg
        self.sdir = state_dir(self.home, self.ns)
        self.log = RunLog.load(self.sdir)
        self.checkpoints = CheckpointStore(self.home, namespace=self.ns)
        self.state, self.buffer, self.tensors_path = load_learned(
            self.checkpoints, self.sdir, capacity=cfg.replay_size, policy=cfg.replay_policy, seed=cfg.seed)
        return self.state

    def forget(self) -> ConsolidationState:
        cfg = self.cfg
        self.state, self.tensors_path = ConsolidationState(), None
        self.buffer = ReplayBuffer(capacity=cfg.replay_size, policy=cfg.replay_policy, seed=cfg.seed)
        return self.state

    def open(self, rep) -> None:
        self.state.store_url = str(self.store.url)
        self.previous = self.checkpoints.load_active(device=self.device, embedder=self.embedder)
        rep.active_checkpoint = self.checkpoints.active_id()

    def finish(self, rep) -> None:
        rep.buffer_size = len(self.buffer)
        rep.encode_seconds = round(self.encode_seconds, 3)
        self.log.record({"at": iso(utcnow()), "promoted": rep.promoted, "reason": rep.reason,
                         "checkpoint": rep.checkpoint_id, "examples": rep.examples,
                         "stale_detected": rep.stale_detected, "forgotten_detected": rep.forgotten_detected,
                         "seconds": rep.seconds})
        self.log.save(self.sdir)

    # -- 1. select ------------------------------------------------------------------------------
    def learned(self) -> dict:
        return {slot_from_saved(key, info): info for key, info in self.state.slots.items()}

    def forget_stale(self, sel: Selection, rep) -> set[str]:
        state, plan = self.state, sel.plan
        self.plan, self.usages, self.prints = plan, sel.usages, sel.fingerprints
        # the plan by the saved state's slot keys
        self.current = {slot_key(s): f for s, f in plan.current.items()}
        self.changed = {slot_key(s): f for s, f in plan.changed.items()}
        self.superseded = {slot_key(s): values for s, values in plan.superseded_values.items()}
        retired = sel.retired
        if self.registry is None:  # no registry this run: keep what the active model knows is retired
            retired = set(self.previous.retired_skills) if self.previous else set()
        retired |= self.extra_retired
        changed = set(self.changed) | {skill_key(name) for name in retired}
        if changed:  # stale data is never replayed, and old answers are no longer right on probes
            rep.removed_from_buffer = self.buffer.remove_where(lambda it: it.key in changed)
            state.drop_probe_keys(changed)
            for name in retired:
                state.skill_best.pop(name, None)
        self.retired = retired
        return retired

    # -- 2. build examples ----------------------------------------------------------------------
    def build(self, sel: Selection, rep) -> list[Example]:
        cfg, plan, state = self.cfg, self.plan, self.state
        phrasings = phrasings_within(cfg.phrasings, len(plan.new), cfg.max_encode)
        if phrasings < cfg.phrasings:
            rep.notes.append(f"{len(plan.new):,} new facts: {phrasings} question phrasing(s) each "
                             f"(max_encode {cfg.max_encode:,})")
        examples = [ex for f in plan.new for ex in fact_examples(
            f.namespace, f.subject, f.predicate, f.object, fact_id=f.id, phrasings=phrasings,
            use_stored_vector=cfg.use_stored_vectors)]
        self.train_u, self.held_u = split_usages(self.usages, holdout_every=cfg.holdout_every)
        examples += usage_examples(self.train_u)
        self.questions = {slot_key(Slot.of(f)): canonical_question(f.subject, f.predicate) for f in plan.new}
        for key, info in state.slots.items():
            self.questions.setdefault(key, canonical_question(info["subject"], info["predicate"]))
        learned_or_new = set(state.slots) | set(self.questions)
        self.stale_keys = sorted(k for k in self.superseded if k in learned_or_new)

        self.old_sets = [state.items(j) for j in range(len(state.probe_sets))]
        self.old_items = [it for items in self.old_sets for it in items]
        self.old_skill = [it for it in self.old_items if it.kind == "skill"]
        stale_set = set(self.stale_keys)
        self.fact_items = [it for it in self.old_items if it.kind == "fact" and it.key not in stale_set]
        self.fact_vecs = state.vectors_of(self.fact_items)
        return examples

    def probe_active(self) -> _Probe:
        self.before = self._probe(self.previous, self.old_skill, self.state.vectors_of(self.old_skill))
        return self.before

    def nothing_new(self, rep, before) -> bool:
        previous, state, cfg = self.previous, self.state, self.cfg
        if previous is not None and sorted(self.retired) != sorted(previous.retired_skills):
            # Only the set of retired skills changed: same weights, the model stops proposing them.
            retiring = previous.copy()
            retiring.retired_skills = sorted(self.retired)
            rep.checkpoint_id = self.checkpoints.save(
                retiring, {"created_at": iso(utcnow()), "promoted": True, "reason": "retired skills updated",
                           "examples": 0, "device": self.device, "strategy": cfg.strategy,
                           "metrics": summarize(state.matrix)}, activate=True,
                extra=learned_writer(state, self.buffer, load_strategy_tensors(self.tensors_path)))
            rep.active_checkpoint, rep.promoted = rep.checkpoint_id, True
            rep.reason = f"retired skills updated: {', '.join(sorted(self.retired)) or 'none'}"
        self.log.findings = self._findings(before, rep.active_checkpoint)
        return rep.promoted

    # -- 3. train with replay -------------------------------------------------------------------
    def train(self, examples: list[Example], rep) -> TrainStats:
        cfg, state, previous, plan = self.cfg, self.state, self.previous, self.plan
        self.examples, self.x = examples, self.example_vectors(examples)
        x = self.x
        rng = random.Random(cfg.seed + state.rounds)
        fact_new = plan.new if len(plan.new) <= cfg.max_fact_probes else rng.sample(plan.new, cfg.max_fact_probes)
        new_items = [("fact", slot_key(Slot.of(f)), f.object, canonical_question(f.subject, f.predicate))
                     for f in fact_new]
        new_items += [("skill", skill_key(u.skill), u.skill, u.task) for u in self.held_u]
        # Probes always ask the question (cached when it was a training phrasing): a stored fact vector
        # embeds the value itself, so answering from it would say nothing about answering questions.
        self.new_items, self.new_vecs = new_items, self.encode([t for *_, t in new_items])
        self.new_probe = [ProbeItem(k, key, lab, txt, i) for i, (k, key, lab, txt) in enumerate(new_items)]

        candidate = previous.copy() if previous else LocalModel.new(
            dim=self.embedder.dim, hidden=cfg.hidden, device=self.device,
            encoder_name=getattr(self.embedder, "name", ""), seed=cfg.seed)
        candidate.embedder = self.embedder
        candidate.retired_skills = sorted(self.retired)
        self.model = candidate
        self.y = y = np.asarray(candidate.ensure_classes([e.cls for e in examples], x), dtype=np.int64)
        candidate.skill_args.update(latest_args(self.train_u + self.held_u))
        self.rx, self.ry = self._replay_arrays(self.buffer, candidate)
        self.strategy = strategy = make_strategy(cfg.strategy, **cfg.strategy_options)
        strategy.load_state_tensors(load_strategy_tensors(self.tensors_path))
        old_net = previous.net if previous else None
        strategy.before_round(candidate.net, previous=old_net, old_classes=old_net.n_classes if old_net else 0)
        self.fwt_entry = probe_accuracy(previous, self.new_probe, self.new_vecs) if self.new_probe else None
        self.t_train = time.perf_counter()
        epochs, batch = round_budget(len(x), epochs=cfg.epochs, batch_size=cfg.batch_size,
                                     replay=strategy.replay and self.rx is not None, max_rows=cfg.max_train_rows)
        if (epochs, batch) != (cfg.epochs, cfg.batch_size):
            rep.notes.append(f"{len(x):,} examples: {epochs} epoch(s) of batch {batch} "
                             f"(max_train_rows {cfg.max_train_rows:,})")
        with torch_threads(self.device, cfg.cpu_threads):
            stats = train_round(candidate.net, x, y, strategy=strategy, replay_x=self.rx, replay_y=self.ry,
                                epochs=epochs, batch_size=batch, lr=cfg.lr, device=self.device,
                                seed=cfg.seed + state.rounds, finish=False)
        dim = x.shape[1]
        self.skill_items = self.old_skill + [it for it in self.new_probe if it.kind == "skill"]
        self.skill_vecs = np.vstack([
            self.state.vectors_of(self.old_skill).reshape(-1, dim),
            self.new_vecs[[it.row for it in self.new_probe if it.kind == "skill"]].reshape(-1, dim)])
        return stats

    # -- 4. probe -------------------------------------------------------------------------------
    def probe(self) -> _Probe:
        return self._probe(self.model, self.skill_items, self.skill_vecs)

    def _probe(self, model: LocalModel | None, skill_items: list[ProbeItem], skill_vecs: np.ndarray) -> _Probe:
        if model is None:
            return _Probe({}, {}, {}, {})
        answers = {}
        if self.stale_keys:
            labels, _ = model.predict_vectors(self.encode([self.questions[k] for k in self.stale_keys]), "fact")
            answers = dict(zip(self.stale_keys, labels))
        if self.fact_items:  # learned slots, unchanged in the store: any other answer is a disagreement
            labels, _ = model.predict_vectors(self.fact_vecs, "fact")
            for item, label in zip(self.fact_items, labels):
                answers.setdefault(item.key, label)
        current = {k: (f.object if f is not None else None) for k, f in self.current.items()}
        found = classify_answers(answers, current, self.superseded)
        skills = {}
        if skill_items:
            predicted = probe_items(model, skill_items, skill_vecs)
            skills = per_key_accuracy([it.label for it in skill_items], predicted, [it.label for it in skill_items])
        forgotten = forgotten_skills(skills, self.state.skill_best, threshold=self.cfg.forget_threshold)
        return _Probe(found.stale, found.disagree, skills, forgotten)

    # -- 5. correct -----------------------------------------------------------------------------
    def correct(self, found: _Probe, examples: list[Example]) -> TrainStats:
        cfg = self.cfg
        cx, cy = self._corrective(self.model, found, examples, self.x, self.y, self.buffer)
        with torch_threads(self.device, cfg.cpu_threads):
            return train_round(self.model.net, cx, cy, strategy=self.strategy, replay_x=self.rx,
                               replay_y=self.ry, epochs=cfg.corrective_epochs, batch_size=cfg.batch_size,
                               lr=cfg.lr, device=self.device, seed=cfg.seed + self.state.rounds + 1, finish=False)

    def _corrective(self, model, found: _Probe, examples, x, y, buffer):
        """Targeted examples: the current value of each stale slot, the examples of each forgotten skill."""
        extra = []
        for key in found.stale:
            fact = self.current.get(key)
            if fact is not None:
                extra += fact_examples(fact.namespace, fact.subject, fact.predicate, fact.object,
                                       fact_id=fact.id, phrasings=max(self.cfg.phrasings, 1),
                                       use_stored_vector=self.cfg.use_stored_vectors)
        ex = self.example_vectors(extra)
        ey = np.asarray(model.ensure_classes([e.cls for e in extra], ex), dtype=np.int64)
        keys = {skill_key(s) for s in found.forgotten}
        mask = np.asarray([e.key in keys for e in examples], dtype=bool)
        parts_x, parts_y = [ex, x[mask]], [ey, y[mask]]
        for i, it in enumerate(buffer.items):
            if it.key in keys:
                cid = model.class_id(*replay_class(it))
                if cid is not None:
                    parts_x.append(buffer.vectors[i: i + 1])
                    parts_y.append(np.asarray([cid]))
        return np.vstack([p.reshape(-1, x.shape[1]) for p in parts_x]), np.concatenate(parts_y).astype(np.int64)

    # -- 6. gate --------------------------------------------------------------------------------
    def evaluate(self, found: _Probe, after: _Probe, rep) -> GateInputs:
        import torch

        cfg, state, candidate, previous = self.cfg, self.state, self.model, self.previous
        with torch_threads(self.device, cfg.cpu_threads):
            self.strategy.after_round(candidate.net, torch.as_tensor(self.x, device=self.device),
                                      torch.as_tensor(self.y, device=self.device))
        rep.train_seconds = round(time.perf_counter() - self.t_train, 3)
        rep.stale_slots, rep.forgotten_skills = after.stale or found.stale, after.forgotten or found.forgotten
        rep.disagreements = len(after.disagree)
        old_items, old_sets, new_probe, new_vecs = self.old_items, self.old_sets, self.new_probe, self.new_vecs
        old_vecs = state.vectors_of(old_items)
        old_before = probe_accuracy(previous, old_items, old_vecs) if previous and old_items else None
        old_after = probe_accuracy(candidate, old_items, old_vecs) if old_items else None
        new_acc = probe_accuracy(candidate, new_probe, new_vecs) if new_probe else \
            accuracy(probe_items(candidate, self.examples, self.x), [e.label for e in self.examples])
        row = [probe_accuracy(candidate, items, state.vectors_of(items)) for items in old_sets] + [new_acc]
        rep.accuracy = {"new": new_acc, "old_before": old_before, "old_after": old_after, "skills": after.skills}
        matrix = [list(r) for r in state.matrix]
        if matrix and self.fwt_entry is not None:
            matrix[-1] = (matrix[-1] + [None] * len(old_sets))[: len(old_sets)] + [self.fwt_entry]
        matrix.append(row)
        self.matrix = matrix
        rep.metrics = {k: (None if v is None else round(v, 4)) for k, v in summarize(matrix).items()}
        rep.metrics["matrix"] = [[None if v is None else round(v, 4) for v in r] for r in matrix]
        rep.round = len(matrix) - 1
        candidate.meta = {"round": rep.round, "namespace": self.ns, "strategy": cfg.strategy}
        return GateInputs(new_acc, old_before, old_after)

    # -- 7. checkpoint --------------------------------------------------------------------------
    def advance(self, after: _Probe, examples: list[Example]):
        """The learned state advances with the model, in the same checkpoint."""
        state, buffer = self.state, self.buffer
        for f in self.plan.new:
            state.slots[slot_key(Slot.of(f))] = {"value": f.object, "fact_id": f.id, "subject": f.subject,
                                                 "predicate": f.predicate, "namespace": f.namespace}
        for key, now in self.changed.items():
            if now is None:
                state.slots.pop(key, None)
        state.usages_seen.extend(self.prints)
        state.add_probe_set(self.new_items, self.new_vecs)
        state.matrix = self.matrix
        for skill, acc in after.skills.items():
            if acc is not None:
                state.skill_best[skill] = max(acc, state.skill_best.get(skill, 0.0))
        buffer.add(self.x, [ReplayItem(class_label(*e.cls), key=e.key, kind=e.kind) for e in examples])
        state.rounds += 1
        return learned_writer(state, buffer, self.strategy.state_tensors())

    def candidate(self) -> LocalModel:
        return self.model  # a copy of the active model, trained: the active one is never touched

    def checkpoint_meta(self, rep) -> dict:
        return {"metrics": rep.metrics, "device": self.device, "strategy": self.cfg.strategy, "accuracy": rep.accuracy}

    def saved(self, rep, promoted: bool, after: _Probe) -> None:
        if promoted:
            prune_learned(self.checkpoints, keep=self.cfg.keep_states)
            self.log.findings = self._findings(after, rep.checkpoint_id)
        else:
            self.log.findings = self._findings(self.before, rep.active_checkpoint)

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _replay_arrays(buffer: ReplayBuffer, model: LocalModel):
        vecs, _ = buffer.arrays()
        keep, ids = [], []
        for i, item in enumerate(buffer.items):
            cid = model.class_id(*replay_class(item))
            if cid is not None:
                keep.append(i)
                ids.append(cid)
        if not keep:
            return None, None
        return vecs[keep], np.asarray(ids, dtype=np.int64)

    @staticmethod
    def _findings(probe: _Probe, checkpoint) -> dict:
        return {"checkpoint": checkpoint, "at": iso(utcnow()), "stale": probe.stale, "disagree": probe.disagree,
                "forgotten": probe.forgotten, "skill_accuracy": probe.skills}
