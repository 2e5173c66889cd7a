"""The consolidation job: select -> build examples -> train with replay -> probe -> correct -> gate.

What the model has learned (slots, probe sets, accuracy matrix, replay buffer, strategy tensors) is
saved inside each promoted checkpoint (persist.py), so it always describes the active model, and
promotion or rollback moves both together. Every run starts by removing superseded facts' examples
from the buffer it loads, so stale data is never replayed, whether or not the last run was promoted."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass

import numpy as np

from memory_store.errors import InvalidInputError
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
    skill_key,
    split_usages,
    usage_examples,
)
from .gate import GateDecision, gate_decision
from .lock import consolidation_lock
from .metrics import accuracy, summarize
from .persist import learned_writer, load_learned, load_strategy_tensors, prune_learned
from .probes import classify_answers, forgotten_skills, per_key_accuracy, probe_accuracy, probe_items
from .replay import ReplayBuffer, ReplayItem
from .report import ConsolidationReport
from .select import select_stage
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
    device = resolve_device(device)
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise InvalidInputError(f"unknown device {device!r}: use auto, cpu or cuda")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise InvalidInputError("device cuda requested but no GPU is visible; use --device auto or cpu")
    home = home if home is not None else getattr(store, "home", None)
    with consolidation_lock(store, namespace=namespace, home=home):
        job = _Job(store, registry, namespace, device, cfg, list(usages or []), home)
        job.extra_retired = {str(name) for name in retire}
        return job.run()


@dataclass
class _Probe:
    stale: dict
    disagree: dict
    skills: dict
    forgotten: dict


class _Job:
    def __init__(self, store, registry, namespace, device, cfg, usages, home):
        self.store, self.registry, self.ns, self.device, self.cfg, self.home = store, registry, namespace, device, cfg, home
        self.extra_usages = [UsageRecord.coerce(u) for u in usages]
        self.embedder = store.embedder
        self.extra_retired: set[str] = set()
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

    # -- probing --------------------------------------------------------------------------------
    def probe(self, model: LocalModel | None, skill_items: list[ProbeItem], skill_vecs: np.ndarray) -> _Probe:
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
        current = {k: (f.object if f is not None else None) for k, f in self.plan.current.items()}
        found = classify_answers(answers, current, self.plan.superseded_values)
        skills = {}
        if skill_items:
            predicted = probe_items(model, skill_items, skill_vecs)
            skills = per_key_accuracy([it.label for it in skill_items], predicted, [it.label for it in skill_items])
        forgotten = forgotten_skills(skills, self.state.skill_best, threshold=self.cfg.forget_threshold)
        return _Probe(found.stale, found.disagree, skills, forgotten)

    # -- the run --------------------------------------------------------------------------------
    def run(self) -> ConsolidationReport:
        started = time.perf_counter()
        cfg, ns = self.cfg, self.ns
        rep = ConsolidationReport(namespace=ns, strategy=cfg.strategy, device=self.device)
        sdir = state_dir(self.home, ns)
        self.log = RunLog.load(sdir)
        ckpts = CheckpointStore(self.home, namespace=ns)
        state, buffer, tensors_path = load_learned(ckpts, sdir, capacity=cfg.replay_size, policy=cfg.replay_policy,
                                                   seed=cfg.seed)
        if state.store_url and state.store_url != str(self.store.url):
            rep.notes.append("state belonged to another database: starting afresh")
            state, tensors_path = ConsolidationState(), None
            buffer = ReplayBuffer(capacity=cfg.replay_size, policy=cfg.replay_policy, seed=cfg.seed)
        self.state = state
        state.store_url = str(self.store.url)
        previous = ckpts.load_active(device=self.device, embedder=self.embedder)
        rep.active_checkpoint = ckpts.active_id()

        # 1. select
        sel = select_stage(self.store, self.registry, namespace=ns, learned=state.slots, seen=state.usages_seen,
                           extra_usages=self.extra_usages, min_validations=cfg.min_validations,
                           trusted_sources=cfg.trusted_sources)
        self.plan = plan = sel.plan
        usages, prints, retired = sel.usages, sel.fingerprints, sel.retired
        if self.registry is None:  # no registry this run: keep what the active model knows is retired
            retired = set(previous.retired_skills) if previous else set()
        retired |= self.extra_retired
        changed = set(plan.changed) | {skill_key(name) for name in retired}
        rep.changed_slots, rep.retired_skills = len(plan.changed), sorted(retired)
        if changed:  # stale data is never replayed, and old answers are no longer right on probes
            rep.removed_from_buffer = buffer.remove_where(lambda it: it.key in changed)
            state.drop_probe_keys(changed)
            for name in retired:
                state.skill_best.pop(name, None)
        self.retired = retired

        # 2. build examples
        phrasings = phrasings_within(cfg.phrasings, len(plan.new), cfg.max_encode)
        if phrasings < cfg.phrasings:
            rep.notes.append(f"{len(plan.new):,} new facts: {phrasings} question phrasing(s) each "
                             f"(max_encode {cfg.max_encode:,})")
        examples = [ex for f in plan.new for ex in fact_examples(
            f.namespace, f.subject, f.predicate, f.object, fact_id=f.id, phrasings=phrasings,
            use_stored_vector=cfg.use_stored_vectors)]
        train_u, held_u = split_usages(usages, holdout_every=cfg.holdout_every)
        examples += usage_examples(train_u)
        rep.examples, rep.new_facts, rep.new_usages = len(examples), len(plan.new), len(usages)
        self.questions = {f"{f.namespace}|{f.subject}|{f.predicate}": canonical_question(f.subject, f.predicate)
                          for f in plan.new}
        for key, info in state.slots.items():
            self.questions.setdefault(key, canonical_question(info["subject"], info["predicate"]))
        learned_or_new = set(state.slots) | set(self.questions)
        self.stale_keys = sorted(k for k in plan.superseded_values if k in learned_or_new)

        old_sets = [state.items(j) for j in range(len(state.probe_sets))]
        old_items = [it for items in old_sets for it in items]
        old_skill = [it for it in old_items if it.kind == "skill"]
        stale_set = set(self.stale_keys)
        self.fact_items = [it for it in old_items if it.kind == "fact" and it.key not in stale_set]
        self.fact_vecs = state.vectors_of(self.fact_items)
        before = self.probe(previous, old_skill, state.vectors_of(old_skill))
        rep.stale_before = len(before.stale)

        if not examples:
            rep.reason = "nothing new to learn: no validated memories since the last consolidation"
            if previous is not None and sorted(retired) != sorted(previous.retired_skills):
                # Only the set of retired skills changed: same weights, the model stops proposing them.
                retiring = previous.copy()
                retiring.retired_skills = sorted(retired)
                rep.checkpoint_id = ckpts.save(
                    retiring, {"created_at": iso(utcnow()), "promoted": True, "reason": "retired skills updated",
                               "examples": 0, "device": self.device, "strategy": cfg.strategy,
                               "metrics": summarize(state.matrix)}, activate=True,
                    extra=learned_writer(state, buffer, load_strategy_tensors(tensors_path)))
                rep.active_checkpoint, rep.promoted = rep.checkpoint_id, True
                rep.reason = f"retired skills updated: {', '.join(sorted(retired)) or 'none'}"
            self.log.findings = self._findings(before, rep.active_checkpoint)
            return self._finish(rep, buffer, sdir, started)

        x = self.example_vectors(examples)
        rng = random.Random(cfg.seed + state.rounds)
        fact_new = plan.new if len(plan.new) <= cfg.max_fact_probes else rng.sample(plan.new, cfg.max_fact_probes)
        new_items = [("fact", f"{f.namespace}|{f.subject}|{f.predicate}", f.object,
                      canonical_question(f.subject, f.predicate)) for f in fact_new]
        new_items += [("skill", skill_key(u.skill), u.skill, u.task) for u in held_u]
        # Probes always ask the question (cached when it was a training phrasing): a stored fact vector
        # embeds the value itself, so answering from it would say nothing about answering questions.
        new_vecs = self.encode([t for *_, t in new_items])
        new_probe = [ProbeItem(k, key, lab, txt, i) for i, (k, key, lab, txt) in enumerate(new_items)]

        # 3. train with replay
        candidate = previous.copy() if previous else LocalModel.new(
            dim=self.embedder.dim, hidden=cfg.hidden, device=self.device,
            encoder_name=getattr(self.embedder, "name", ""), seed=cfg.seed)
        candidate.embedder = self.embedder
        candidate.retired_skills = sorted(retired)
        y = np.asarray(candidate.ensure_classes([(e.kind, e.label) for e in examples], x), dtype=np.int64)
        candidate.skill_args.update(latest_args(train_u + held_u))
        rx, ry = self._replay_arrays(buffer, candidate)
        strategy = make_strategy(cfg.strategy, **cfg.strategy_options)
        strategy.load_state_tensors(load_strategy_tensors(tensors_path))
        old_net = previous.net if previous else None
        strategy.before_round(candidate.net, previous=old_net, old_classes=old_net.n_classes if old_net else 0)
        fwt_entry = probe_accuracy(previous, new_probe, new_vecs) if new_probe else None
        t_train = time.perf_counter()
        epochs, batch = round_budget(len(x), epochs=cfg.epochs, batch_size=cfg.batch_size,
                                     replay=strategy.replay and rx is not None, max_rows=cfg.max_train_rows)
        if (epochs, batch) != (cfg.epochs, cfg.batch_size):
            rep.notes.append(f"{len(x):,} examples: {epochs} epoch(s) of batch {batch} "
                             f"(max_train_rows {cfg.max_train_rows:,})")
        with torch_threads(self.device, cfg.cpu_threads):
            stats = train_round(candidate.net, x, y, strategy=strategy, replay_x=rx, replay_y=ry, epochs=epochs,
                                batch_size=batch, lr=cfg.lr, device=self.device,
                                seed=cfg.seed + state.rounds, finish=False)
        rep.replayed = stats.replayed

        # 4. probe
        skill_items = old_skill + [it for it in new_probe if it.kind == "skill"]
        skill_vecs = np.vstack([state.vectors_of(old_skill).reshape(-1, x.shape[1]),
                                new_vecs[[it.row for it in new_probe if it.kind == "skill"]].reshape(-1, x.shape[1])])
        found = self.probe(candidate, skill_items, skill_vecs)
        rep.stale_detected, rep.forgotten_detected = len(found.stale), len(found.forgotten)

        # 5. correct
        if cfg.correct and (found.stale or found.forgotten):
            cx, cy = self._corrective(candidate, found, examples, x, y, buffer)
            with torch_threads(self.device, cfg.cpu_threads):
                stats = train_round(candidate.net, cx, cy, strategy=strategy, replay_x=rx, replay_y=ry,
                                    epochs=cfg.corrective_epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                                    device=self.device, seed=cfg.seed + state.rounds + 1, finish=False)
            rep.replayed += stats.replayed
            after = self.probe(candidate, skill_items, skill_vecs)
        else:
            after = found
        import torch

        with torch_threads(self.device, cfg.cpu_threads):
            strategy.after_round(candidate.net, torch.as_tensor(x, device=self.device),
                                 torch.as_tensor(y, device=self.device))
        rep.train_seconds = round(time.perf_counter() - t_train, 3)
        rep.stale_remaining, rep.forgotten_remaining = len(after.stale), len(after.forgotten)
        rep.stale_corrected = len(set(found.stale) - set(after.stale))
        rep.forgotten_corrected = len(set(found.forgotten) - set(after.forgotten))
        rep.stale_slots, rep.forgotten_skills = after.stale or found.stale, after.forgotten or found.forgotten
        rep.disagreements = len(after.disagree)

        # 6. gate
        old_vecs = state.vectors_of(old_items)
        old_before = probe_accuracy(previous, old_items, old_vecs) if previous and old_items else None
        old_after = probe_accuracy(candidate, old_items, old_vecs) if old_items else None
        new_acc = probe_accuracy(candidate, new_probe, new_vecs) if new_probe else \
            accuracy(probe_items(candidate, examples, x), [e.label for e in examples])
        row = [probe_accuracy(candidate, items, state.vectors_of(items)) for items in old_sets] + [new_acc]
        decision = gate_decision(new_examples=len(examples), new_accuracy=new_acc, old_accuracy_before=old_before,
                                 old_accuracy_after=old_after, stale_remaining=len(after.stale),
                                 forgotten_remaining=len(after.forgotten), learn_threshold=cfg.learn_threshold,
                                 tolerance=cfg.tolerance)
        if not cfg.gate and not decision.promote:
            decision = GateDecision(True, f"gate disabled (would have kept the previous model: {decision.reason})")
        rep.promoted, rep.reason = decision.promote, decision.reason
        rep.accuracy = {"new": new_acc, "old_before": old_before, "old_after": old_after, "skills": after.skills}
        matrix = [list(r) for r in state.matrix]
        if matrix and fwt_entry is not None:
            matrix[-1] = (matrix[-1] + [None] * len(old_sets))[: len(old_sets)] + [fwt_entry]
        matrix.append(row)
        rep.metrics = {k: (None if v is None else round(v, 4)) for k, v in summarize(matrix).items()}
        rep.metrics["matrix"] = [[None if v is None else round(v, 4) for v in r] for r in matrix]
        rep.round = len(matrix) - 1
        candidate.meta = {"round": rep.round, "namespace": ns, "strategy": cfg.strategy}
        extra = None
        if decision.promote:  # the learned state advances with the model, in the same checkpoint
            self._advance(state, buffer, examples, x, new_items, new_vecs, matrix, after, prints)
            extra = learned_writer(state, buffer, strategy.state_tensors())
        rep.checkpoint_id = ckpts.save(candidate, {"created_at": iso(utcnow()), "promoted": decision.promote,
                                                   "reason": decision.reason, "metrics": rep.metrics,
                                                   "examples": len(examples), "device": self.device,
                                                   "strategy": cfg.strategy, "accuracy": rep.accuracy},
                                       activate=decision.promote, extra=extra)
        if decision.promote:
            rep.active_checkpoint = rep.checkpoint_id
            prune_learned(ckpts, keep=cfg.keep_states)
            self.log.findings = self._findings(after, rep.checkpoint_id)
        else:
            self.log.findings = self._findings(before, rep.active_checkpoint)
        return self._finish(rep, buffer, sdir, started)

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _replay_arrays(buffer: ReplayBuffer, model: LocalModel):
        vecs, labels = buffer.arrays()
        keep, ids = [], []
        for i, label in enumerate(labels):
            kind, _, value = str(label).partition(":")
            cid = model.class_id(kind, value)
            if cid is not None:
                keep.append(i)
                ids.append(cid)
        if not keep:
            return None, None
        return vecs[keep], np.asarray(ids, dtype=np.int64)

    def _corrective(self, model, found: _Probe, examples, x, y, buffer):
        """Targeted examples: the current value of each stale slot, the examples of each forgotten skill."""
        extra = []
        for key in found.stale:
            fact = self.plan.current.get(key)
            if fact is not None:
                extra += fact_examples(fact.namespace, fact.subject, fact.predicate, fact.object,
                                       fact_id=fact.id, phrasings=max(self.cfg.phrasings, 1),
                                       use_stored_vector=self.cfg.use_stored_vectors)
        ex = self.example_vectors(extra)
        ey = np.asarray(model.ensure_classes([(e.kind, e.label) for e in extra], ex), dtype=np.int64)
        keys = {skill_key(s) for s in found.forgotten}
        mask = np.asarray([e.key in keys for e in examples], dtype=bool)
        parts_x, parts_y = [ex, x[mask]], [ey, y[mask]]
        for i, it in enumerate(buffer.items):
            if it.key in keys:
                cid = model.class_id("skill", it.label.partition(":")[2])
                if cid is not None:
                    parts_x.append(buffer.vectors[i: i + 1])
                    parts_y.append(np.asarray([cid]))
        return np.vstack([p.reshape(-1, x.shape[1]) for p in parts_x]), np.concatenate(parts_y).astype(np.int64)

    def _advance(self, state, buffer, examples, x, new_items, new_vecs, matrix, after, prints) -> None:
        for f in self.plan.new:
            state.slots[f"{f.namespace}|{f.subject}|{f.predicate}"] = {
                "value": f.object, "fact_id": f.id, "subject": f.subject, "predicate": f.predicate}
        for key, now in self.plan.changed.items():
            if now is None:
                state.slots.pop(key, None)
        state.usages_seen.extend(prints)
        state.add_probe_set(new_items, new_vecs)
        state.matrix = matrix
        for skill, acc in after.skills.items():
            if acc is not None:
                state.skill_best[skill] = max(acc, state.skill_best.get(skill, 0.0))
        buffer.add(x, [ReplayItem(f"{e.kind}:{e.label}", key=e.key, kind=e.kind) for e in examples])
        state.rounds += 1

    @staticmethod
    def _findings(probe: _Probe, checkpoint) -> dict:
        return {"checkpoint": checkpoint, "at": iso(utcnow()), "stale": probe.stale, "disagree": probe.disagree,
                "forgotten": probe.forgotten, "skill_accuracy": probe.skills}

    def _finish(self, rep, buffer, sdir, started) -> ConsolidationReport:
        rep.buffer_size = len(buffer)
        rep.seconds = round(time.perf_counter() - started, 3)
        rep.encode_seconds = round(self.encode_seconds, 3)
        self.log.record({"at": iso(utcnow()), "promoted": rep.promoted, "reason": rep.reason,
                         "checkpoint": rep.checkpoint_id, "examples": rep.examples,
                         "stale_detected": rep.stale_detected, "forgotten_detected": rep.forgotten_detected,
                         "seconds": rep.seconds})
        self.log.save(sdir)
        return rep
