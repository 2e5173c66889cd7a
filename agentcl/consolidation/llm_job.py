"""Consolidation into a local causal LM through LoRA: the same selection, examples, text replay
buffer, stale and forgetting probes, corrective round and gate as the default job, with checkpoints
(LoRA adapters in safetensors + model.json + metrics.json) under checkpoints/<namespace>.llm/."""
from __future__ import annotations

import random
import time

import numpy as np

from memory_store.timeparse import iso, utcnow

from .config import ConsolidationConfig
from .examples import (
    UsageRecord,
    canonical_question,
    fact_questions,
    latest_args,
    skill_key,
    slot_key,
    split_usages,
)
from .gate import GateDecision, gate_decision
from .lock import consolidation_lock
from .metrics import accuracy, summarize
from .persist import learned_writer, load_learned, prune_learned
from .probes import classify_answers, forgotten_skills, per_key_accuracy
from .replay import ReplayItem
from .report import ConsolidationReport
from .select import plan_facts, registry_usages, usage_fingerprint
from .state import RunLog, state_dir


def consolidate_llm(store, registry=None, *, model_dir: str, namespace: str = "default", device: str = "cpu",
                    config: ConsolidationConfig | None = None, usages=None, home=None, epochs: int = 10,
                    lr: float = 5e-3) -> ConsolidationReport:
    """Distil validated memories into LoRA adapters over the causal LM in `model_dir`."""
    from ..model.causal_lm import CausalLMModel
    from ..model.checkpoints import CheckpointStore

    cfg = config or ConsolidationConfig()
    home = home if home is not None else getattr(store, "home", None)
    key_ns = f"{namespace} llm"  # a variant key (no namespace has a space): folders <encoded>.llm
    with consolidation_lock(store, namespace=key_ns, home=home):
        started = time.perf_counter()
        rep = ConsolidationReport(namespace=namespace, strategy="lora+replay", device=device)
        sdir = state_dir(home, key_ns)
        ckpts = CheckpointStore(home, namespace=key_ns)
        state, buffer, _ = load_learned(ckpts, sdir, capacity=cfg.replay_size, policy=cfg.replay_policy,
                                        seed=cfg.seed)
        active = ckpts.active_id()
        previous = CausalLMModel.load(ckpts.path(active), device=device, base_dir=model_dir) if active else None
        plan = plan_facts(store, namespace=namespace, learned=state.slots, min_validations=cfg.min_validations,
                          trusted_sources=cfg.trusted_sources)
        seen = set(state.usages_seen)
        from_registry, _ = registry_usages(registry, namespace=namespace)
        new_usages = [u for u in map(UsageRecord.coerce, list(usages or []) + from_registry)
                      if u.success and u.task and u.skill and usage_fingerprint(u) not in seen]
        changed = set(plan.changed)
        rep.changed_slots = len(changed)
        if changed:
            rep.removed_from_buffer = buffer.remove_where(lambda it: it.key in changed)
            state.drop_probe_keys(changed)
        train_u, held_u = split_usages(new_usages, holdout_every=cfg.holdout_every)
        new = [("fact", q, f.object, slot_key(f.namespace, f.subject, f.predicate)) for f in plan.new
               for q in fact_questions(f.subject, f.predicate, count=max(cfg.phrasings, 1))]
        new += [("skill", u.task, u.skill, skill_key(u.skill)) for u in train_u]
        rep.examples, rep.new_facts, rep.new_usages = len(new), len(plan.new), len(new_usages)
        if not new:
            rep.reason = "nothing new to learn: no validated memories since the last consolidation"
            return _finish(rep, buffer, sdir, started)

        candidate = CausalLMModel.load(ckpts.path(active), device=device, base_dir=model_dir) if active \
            else CausalLMModel(model_dir, device=device)
        candidate.ensure_classes([(k, y) for k, _, y, _ in new] + [("skill", u.skill) for u in held_u])
        candidate.skill_args.update(latest_args(train_u + held_u))
        replay = [(it.kind, it.text, it.label.partition(":")[2]) for it in buffer.items]
        triples = [(k, t, y) for k, t, y, _ in new]
        stats = candidate.train_pairs(triples, replay, epochs=epochs, lr=lr, batch_size=8, seed=cfg.seed + state.rounds)

        questions = {slot_key(f.namespace, f.subject, f.predicate): canonical_question(f.subject, f.predicate)
                     for f in plan.new}
        for key, info in state.slots.items():
            questions.setdefault(key, canonical_question(info["subject"], info["predicate"]))
        stale_keys = sorted(k for k in plan.superseded_values if k in questions)
        current = {k: f.object for k, f in plan.current.items()}
        rng = random.Random(cfg.seed + state.rounds)
        facts_new = plan.new if len(plan.new) <= cfg.max_fact_probes else rng.sample(plan.new, cfg.max_fact_probes)
        new_items = [("fact", slot_key(f.namespace, f.subject, f.predicate), f.object,
                      canonical_question(f.subject, f.predicate)) for f in facts_new]
        new_items += [("skill", skill_key(u.skill), u.skill, u.task) for u in held_u]
        old_items = [it for j in range(len(state.probe_sets)) for it in state.items(j)]

        def ask(model, items):
            out = [None] * len(items)
            for kind in ("fact", "skill"):
                idx = [i for i, it in enumerate(items) if it[0] == kind]
                if idx and model is not None:
                    labels, _ = model.predict_texts([items[i][3] for i in idx], kind)
                    for i, lab in zip(idx, labels):
                        out[i] = lab
            return out

        def probe(model):
            answers = dict(zip(stale_keys, model.predict_texts([questions[k] for k in stale_keys], "fact")[0])) \
                if stale_keys else {}
            found = classify_answers(answers, current, plan.superseded_values)
            skill_items = [(it.kind, it.key, it.label, it.text) for it in old_items if it.kind == "skill"] + \
                [it for it in new_items if it[0] == "skill"]
            skills = per_key_accuracy([it[2] for it in skill_items], ask(model, skill_items),
                                      [it[2] for it in skill_items]) if skill_items else {}
            return found.stale, skills, forgotten_skills(skills, state.skill_best, threshold=cfg.forget_threshold)

        stale, skills, forgotten = probe(candidate)
        rep.stale_before = len(probe(previous)[0]) if previous else 0
        rep.stale_detected, rep.forgotten_detected = len(stale), len(forgotten)
        if cfg.correct and (stale or forgotten):
            fix = [("fact", q, current[k]) for k in stale for q in fact_questions(*_subject_pred(state, plan, k))]
            fix += [(k, t, y) for k, t, y, key in new if key in {skill_key(s) for s in forgotten}]
            more = candidate.train_pairs(fix, replay, epochs=epochs, lr=lr, batch_size=8, seed=cfg.seed + 7)
            stats["replayed"] += more["replayed"]
            stale_after, skills, forgotten_after = probe(candidate)
        else:
            stale_after, forgotten_after = stale, forgotten
        rep.replayed = stats["replayed"]
        rep.stale_remaining, rep.forgotten_remaining = len(stale_after), len(forgotten_after)
        rep.stale_corrected = len(set(stale) - set(stale_after))
        rep.forgotten_corrected = len(set(forgotten) - set(forgotten_after))
        as_tuples = [(it.kind, it.key, it.label, it.text) for it in old_items]
        new_acc = accuracy(ask(candidate, new_items), [it[2] for it in new_items]) if new_items else None
        old_before = accuracy(ask(previous, as_tuples), [it[2] for it in as_tuples]) if previous and as_tuples else None
        old_after = accuracy(ask(candidate, as_tuples), [it[2] for it in as_tuples]) if as_tuples else None
        decision = gate_decision(new_examples=len(new), new_accuracy=new_acc, old_accuracy_before=old_before,
                                 old_accuracy_after=old_after, stale_remaining=len(stale_after),
                                 forgotten_remaining=len(forgotten_after), learn_threshold=cfg.learn_threshold,
                                 tolerance=cfg.tolerance)
        if not cfg.gate and not decision.promote:
            decision = GateDecision(True, f"gate disabled ({decision.reason})")
        rep.promoted, rep.reason = decision.promote, decision.reason
        rep.accuracy = {"new": new_acc, "old_before": old_before, "old_after": old_after, "skills": skills}
        row = [accuracy(ask(candidate, [(i.kind, i.key, i.label, i.text) for i in state.items(j)]),
                        [i.label for i in state.items(j)]) for j in range(len(state.probe_sets))] + [new_acc]
        matrix = [list(r) for r in state.matrix] + [row]
        rep.metrics = {k: (None if v is None else round(v, 4)) for k, v in summarize(matrix).items()}
        if decision.promote:
            for f in plan.new:
                state.slots[slot_key(f.namespace, f.subject, f.predicate)] = {
                    "value": f.object, "fact_id": f.id, "subject": f.subject, "predicate": f.predicate}
            state.usages_seen.extend(usage_fingerprint(u) for u in new_usages)
            state.add_probe_set(new_items, np.zeros((len(new_items), 1), dtype=np.float32))
            state.matrix = matrix
            for s, acc in skills.items():
                if acc is not None:
                    state.skill_best[s] = max(acc, state.skill_best.get(s, 0.0))
            buffer.add(np.zeros((len(new), 1), dtype=np.float32),
                       [ReplayItem(f"{k}:{y}", key=key, kind=k, text=t) for k, t, y, key in new])
            state.rounds += 1
        rep.checkpoint_id = ckpts.save(candidate, {"created_at": iso(utcnow()), "promoted": decision.promote,
                                                   "reason": decision.reason, "metrics": rep.metrics,
                                                   "examples": len(new), "device": device, "backend": "causal_lm"},
                                       activate=decision.promote,
                                       extra=learned_writer(state, buffer, None) if decision.promote else None)
        rep.active_checkpoint = rep.checkpoint_id if decision.promote else active
        if decision.promote:
            prune_learned(ckpts, keep=cfg.keep_states)
        return _finish(rep, buffer, sdir, started)


def _subject_pred(state, plan, key):
    fact = plan.current.get(key)
    return (fact.subject, fact.predicate) if fact is not None else (state.slots[key]["subject"], state.slots[key]["predicate"])


def _finish(rep, buffer, sdir, started):
    rep.buffer_size = len(buffer)
    rep.seconds = round(time.perf_counter() - started, 3)
    log = RunLog.load(sdir)
    log.record({"at": iso(utcnow()), "promoted": rep.promoted, "reason": rep.reason, "checkpoint": rep.checkpoint_id,
                "examples": rep.examples, "seconds": rep.seconds})
    log.save(sdir)
    return rep
