"""Consolidation into the local language model (LoRA over SmolLM2 or a user's causal LM):
select -> build examples -> train with replay -> probe -> correct -> gate -> checkpoint.

Selection and the gate rule are the ones the prototype job uses (select.plan_facts, gate.gate_decision);
examples are text (text_examples), probes are generations (lm_stages). A rejected candidate is saved for
inspection, the previous adapter stays active and is put back into the in-memory model."""
from __future__ import annotations

import random
import time

from memory_store.timeparse import iso, utcnow

from .examples import UsageRecord, slot_key, split_usages
from .gate import gate_decision
from .lm_stages import (
    anchors,
    ask_slots,
    forgotten_tools,
    locality,
    locality_kept,
    locality_lost,
    slot_accuracy,
    stale_slots,
    tool_validity,
    train_round,
)
from .lm_state import AdapterWriter, LMCheckpoints, LMConfig, LMState, state_writer
from .lock import consolidation_lock
from .report import ConsolidationReport
from .scope import scope_of
from .select import select_stage, usage_fingerprint
from .text_examples import Slot, TextExample, Tool, fact_examples, tool_examples


def consolidate_lm(store, registry=None, *, lm, namespace: str = "default", config: LMConfig | dict | None = None,
                   usages=(), tools: dict | None = None, home=None) -> ConsolidationReport:
    """One round for `namespace` on the already loaded CausalLM `lm` (load it once, reuse it).
    `tools` ({name: [param, ...]}) gives today's signatures; otherwise the registry's, else the
    arguments of each tool's latest usage."""
    cfg = LMConfig(**config) if isinstance(config, dict) else (config or LMConfig())
    home = home if home is not None else getattr(store, "home", None)
    with consolidation_lock(store, namespace=namespace, home=home):
        return _Round(store, registry, lm, namespace, cfg, list(usages), tools, home).run()


def _signatures(registry, usages: list[UsageRecord], tools: dict | None) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for u in usages:  # later usages win
        out[u.skill] = {"params": sorted(u.args), "required": sorted(u.args)}
    if registry is not None and callable(getattr(registry, "list", None)):
        for info in registry.list():
            schema = info.current.parameters or {}
            props = sorted(schema.get("properties", {}))
            out[info.name] = {"params": props, "required": sorted(schema.get("required", props))}
    for name, params in (tools or {}).items():
        out[name] = {"params": sorted(params), "required": sorted(params)}
    return out


class _Round:
    def __init__(self, store, registry, lm, ns, cfg, usages, tools, home):
        self.store, self.registry, self.lm, self.ns, self.cfg, self.home = store, registry, lm, ns, cfg, home
        self.extra_usages = [UsageRecord.coerce(u) for u in usages]
        self.tool_arg = tools

    def run(self) -> ConsolidationReport:
        import torch

        started, cfg, lm = time.perf_counter(), self.cfg, self.lm
        rep = ConsolidationReport(namespace=self.ns, strategy="lora+replay" if cfg.replay else "lora (naive)",
                                  device=str(lm.device))
        ckpts = LMCheckpoints(self.home, namespace=self.ns)
        active = ckpts.active_id()
        state = ckpts.load_state(active)
        if state.store_url and state.store_url != str(self.store.url):
            rep.notes.append("state belonged to another database: starting afresh")
            state, active = LMState(), None
        lm.load_adapter(ckpts.path(active) if active is not None else None)
        lm.scope = scope_of(state.slots, state.tools)
        previous_adapter, previous_scope = lm.adapter_state(), lm.scope
        rep.active_checkpoint = active
        threads = torch.get_num_threads()
        if cfg.cpu_threads and str(lm.device) == "cpu":
            torch.set_num_threads(cfg.cpu_threads)
        try:
            promoted = self._round(rep, ckpts, state, active)
        finally:
            torch.set_num_threads(threads)
        if not promoted:  # the in-memory model goes back to what is active
            lm.set_adapter_state(previous_adapter)
            lm.scope = previous_scope
        rep.seconds = round(time.perf_counter() - started, 3)
        return rep

    # -- 1. select ----------------------------------------------------------------------------------
    def _select(self, state: LMState):
        cfg = self.cfg
        learned = {slot_key(s.namespace, s.subject, s.predicate): {"value": v["value"]} for s, v in state.slots.items()}
        sel = select_stage(self.store, self.registry, namespace=self.ns, learned=learned, seen=state.usages_seen,
                           extra_usages=self.extra_usages, min_validations=cfg.min_validations,
                           trusted_sources=cfg.trusted_sources)
        as_slot = {slot_key(s.namespace, s.subject, s.predicate): s for s in state.slots}
        for f in sel.plan.current.values():
            as_slot.setdefault(slot_key(f.namespace, f.subject, f.predicate), Slot(f.namespace, f.subject, f.predicate))
        return sel.plan, as_slot, sel.usages, sel.retired

    def _round(self, rep, ckpts, state: LMState, active) -> bool:
        cfg, lm = self.cfg, self.lm
        plan, as_slot, usages, retired = self._select(state)
        current = {as_slot[k]: f.object for k, f in plan.current.items()}
        superseded = {as_slot[k]: vals for k, vals in plan.superseded_values.items() if k in as_slot}
        changed = {as_slot[k] for k in plan.changed}
        new_facts = {Slot(f.namespace, f.subject, f.predicate): f for f in plan.new}
        signatures = _signatures(self.registry, [u for u in self.extra_usages], self.tool_arg)
        for name in retired:
            state.tools.pop(name, None)
        renamed = {n for n, sig in signatures.items() if n in state.tools and state.tools[n]["params"] != sig["params"]}
        for name, sig in signatures.items():
            if name in state.tools:
                state.tools[name].update(sig)
        # A superseded fact's examples and a tool's calls under an old signature leave the buffer.
        before = len(state.replay)
        state.replay = [e for e in state.replay if not (
            (isinstance(e.key, Slot) and (e.key in changed or e.key in new_facts))
            or (isinstance(e.key, Tool) and (e.key.name in retired or not _valid_example(e, signatures))))]
        rep.removed_from_buffer = before - len(state.replay)
        rep.changed_slots, rep.retired_skills = len(changed), sorted(retired)

        # 2. build examples
        examples = [ex for slot, f in new_facts.items() for ex in fact_examples(slot, f.object, phrasings=cfg.phrasings)]
        train_u, held_u = split_usages(usages, holdout_every=cfg.holdout_every)
        examples += [tool_examples(u.task, u.skill, u.args) for u in train_u]
        new_tools = {}
        for u in train_u + held_u:
            sig = signatures.get(u.skill, {"params": sorted(u.args), "required": sorted(u.args)})
            entry = new_tools.setdefault(u.skill, {**sig, "probes": [], "best": state.tools.get(u.skill, {}).get("best", 0.0)})
            if u in held_u or len(entry["probes"]) < 2:
                entry["probes"].append(u.task)
        rep.examples, rep.new_facts, rep.new_usages = len(examples), len(new_facts), len(usages)
        if not examples:
            rep.reason = "nothing new to learn: no validated memories since the last consolidation"
            return False
        # The adapter answers the slots it has learned and is learning, and tool calls once it has any.
        lm.scope = scope_of(list(state.slots) + list(new_facts), list(state.tools) + list(new_tools))
        if cfg.replay and not state.anchors:
            state.anchors = anchors(lm, limit=cfg.anchors_limit, max_new_tokens=cfg.max_new_tokens)
        if not state.locality_base or state.source != lm.source:
            state.locality_base = locality(lm, limit=cfg.locality_limit, base=True, max_new_tokens=cfg.max_new_tokens)
            state.source = lm.source
        replay = state.replay if cfg.replay else []
        general = state.anchors if cfg.replay else []
        new_slots = list(new_facts)
        values = {s: current[s] for s in new_slots}
        rng = random.Random(cfg.seed)
        kept_now = [s for s, v in state.slots.items() if s not in changed and v.get("ok")]
        sample = rng.sample(new_slots, min(len(new_slots), 16))
        kept_sample = rng.sample(kept_now, min(len(kept_now), 8)) if cfg.replay else []
        kept_values = {s: state.slots[s]["value"] for s in kept_sample}

        def learned() -> bool:  # early stopping: samples of the new and of the kept slots answered right
            answers = ask_slots(lm, sample + kept_sample, unseen=False, max_new_tokens=cfg.max_new_tokens)
            new_ok = slot_accuracy({s: answers[s] for s in sample}, values)
            kept_ok = slot_accuracy({s: answers[s] for s in kept_sample}, kept_values)
            return (new_ok or 0.0) >= cfg.stop_at and (kept_ok if kept_ok is not None else 1.0) >= cfg.stop_at

        # 3. train with replay
        schedule = dict(batch_size=cfg.batch_size, lr=cfg.lr, anchors=general, anchor_batch=cfg.anchor_batch,
                        kl_weight=cfg.kl_weight, warmup_steps=cfg.warmup_steps)
        stats = train_round(lm, examples, replay, epochs=cfg.epochs, min_epochs=cfg.min_epochs,
                            min_steps=cfg.min_steps, seed=cfg.seed + state.rounds,
                            learned=learned if sample or kept_sample else None, **schedule)
        rep.replayed = stats.replayed
        all_tools = {**{n: t for n, t in state.tools.items() if n not in retired}, **new_tools}
        for name in renamed:  # probes of a renamed tool are asked under today's signature
            all_tools[name] = {**all_tools[name], **signatures[name]}
        kept_slots = [s for s, v in state.slots.items() if s not in changed and v.get("ok")]
        stale_probe = sorted((s for s in superseded if s in state.slots or s in new_facts), key=repr)

        # 4. probe
        probe = self._probe(new_slots, values, kept_slots, state, stale_probe, current, superseded, all_tools)
        rep.stale_detected, rep.forgotten_detected = len(probe["stale"]), len(probe["forgotten"])
        fix_stats = None
        # 5. correct
        if cfg.correct and (probe["stale"] or probe["forgotten"]):
            fix = [ex for s in probe["stale"] for ex in fact_examples(s, current[s], phrasings=cfg.phrasings)]
            fix += [e for e in examples + state.replay if isinstance(e.key, Tool) and e.key.name in probe["forgotten"]]
            stale_now = list(probe["stale"])

            def corrected() -> bool:  # stop as soon as the stale slots say their current value
                answers = ask_slots(lm, stale_now, unseen=False, max_new_tokens=cfg.max_new_tokens)
                return not stale_now or (slot_accuracy(answers, current) or 0.0) >= 1.0

            fix_stats = train_round(lm, fix, replay + examples if cfg.replay else [], epochs=cfg.corrective_epochs,
                                    min_epochs=1, seed=cfg.seed + 7 + state.rounds, learned=corrected, **schedule)
            rep.replayed += fix_stats.replayed
            after = self._probe(new_slots, values, kept_slots, state, stale_probe, current, superseded, all_tools)
            rep.stale_corrected = len(set(probe["stale"]) - set(after["stale"]))
            rep.forgotten_corrected = len(set(probe["forgotten"]) - set(after["forgotten"]))
            probe = after
        rep.stale_remaining, rep.forgotten_remaining = len(probe["stale"]), len(probe["forgotten"])
        rep.stale_slots = {f"{s.subject} / {s.predicate}": a for s, a in probe["stale"].items()}
        rep.forgotten_skills = probe["forgotten"]
        general_answers: list[str] = []
        now_right = locality(lm, limit=cfg.locality_limit, base=False, max_new_tokens=cfg.max_new_tokens,
                             answers_out=general_answers)
        kept_general = locality_kept(state.locality_base, now_right)
        unscoped = None
        if cfg.locality_unscoped:  # what the weights alone keep, every prompt through the adapter
            unscoped = locality_kept(state.locality_base, locality(
                lm, limit=cfg.locality_limit, base=False, scoped=False, max_new_tokens=cfg.max_new_tokens))

        # 6. gate
        new_tool_rates = [v["rate"] for n, v in probe["tools"].items() if n in new_tools]
        new_acc = _mean([probe["new"]] * len(new_slots) + new_tool_rates) if new_slots or new_tool_rates else None
        kept_before = 1.0 if kept_slots else None
        decision = gate_decision(new_examples=len(examples), new_accuracy=new_acc, old_accuracy_before=kept_before,
                                 old_accuracy_after=probe["kept"], stale_remaining=len(probe["stale"]),
                                 forgotten_remaining=len(probe["forgotten"]), learn_threshold=cfg.learn_threshold,
                                 tolerance=cfg.tolerance)
        if decision.promote and kept_general is not None and kept_general < 1 - cfg.locality_tolerance:
            decision = type(decision)(False, f"general answers kept {kept_general:.3f} < "
                                             f"{1 - cfg.locality_tolerance:.2f} (locality)")
        if not cfg.gate and not decision.promote:
            decision = type(decision)(True, f"gate disabled ({decision.reason})")
        rep.promoted, rep.reason = decision.promote, decision.reason
        rep.accuracy = {"new_trained": probe["new"], "new_unseen": probe["unseen"], "kept": probe["kept"],
                        "locality_kept": kept_general, "locality_kept_unscoped": unscoped,
                        "locality_base_right": sum(state.locality_base),
                        "locality_asked": len(state.locality_base),
                        "tools": {n: round(v["rate"], 4) for n, v in probe["tools"].items()},
                        "new_material": new_acc,
                        "locality_lost": locality_lost(state.locality_base, now_right, general_answers)}
        rep.train_seconds = round(stats.seconds + (fix_stats.seconds if fix_stats else 0.0), 3)
        rep.metrics = {"epochs": stats.epochs, "steps": stats.steps, "sequences": stats.sequences,
                       "losses": stats.losses, "corrective_epochs": fix_stats.epochs if fix_stats else 0,
                       "seconds_per_example": round(stats.seconds / max(1, stats.sequences), 4)}
        rep.round = state.rounds + 1

        # 7. checkpoint
        if decision.promote:
            self._advance(state, new_facts, probe, examples, usages, all_tools, changed)
        meta = {"created_at": iso(utcnow()), "promoted": decision.promote, "reason": decision.reason,
                "examples": len(examples), "device": str(lm.device), "backend": "llm", "base": lm.source,
                "metrics": rep.accuracy}
        rep.checkpoint_id = ckpts.save(AdapterWriter(lm), meta, activate=decision.promote,
                                       extra=state_writer(state) if decision.promote else None)
        rep.active_checkpoint = rep.checkpoint_id if decision.promote else active
        return decision.promote

    def _probe(self, new_slots, values, kept_slots, state, stale_probe, current, superseded, tools) -> dict:
        cfg, lm = self.cfg, self.lm
        asked = list(dict.fromkeys(new_slots + kept_slots + stale_probe))
        answers = ask_slots(lm, asked, unseen=False, max_new_tokens=cfg.max_new_tokens)
        unseen = ask_slots(lm, new_slots, unseen=True, max_new_tokens=cfg.max_new_tokens)
        kept_values = {s: state.slots[s]["value"] for s in kept_slots}
        validity = tool_validity(lm, tools, max_new_tokens=cfg.tool_tokens) if tools else {}
        return {"new": slot_accuracy({s: answers[s] for s in new_slots}, values),
                "unseen": slot_accuracy(unseen, values),
                "kept": slot_accuracy({s: answers[s] for s in kept_slots}, kept_values),
                "kept_ok": {s: slot_accuracy({s: answers[s]}, kept_values) == 1.0 for s in kept_slots},
                "new_ok": {s: slot_accuracy({s: answers[s]}, values) == 1.0 for s in new_slots},
                "stale": stale_slots({s: answers[s] for s in stale_probe}, current, superseded),
                "tools": validity, "forgotten": forgotten_tools(validity, tools, threshold=cfg.forget_threshold)}

    def _advance(self, state, new_facts, probe, examples, usages, tools, changed) -> None:
        for slot in changed - set(new_facts):  # lapsed: no active value any more
            state.slots.pop(slot, None)
        for slot, f in new_facts.items():
            state.slots[slot] = {"value": f.object, "fact_id": f.id, "ok": probe["new_ok"].get(slot, False)}
        for slot, ok in probe["kept_ok"].items():
            state.slots[slot]["ok"] = ok
        for name, info in tools.items():
            rate = probe["tools"].get(name, {}).get("rate")
            state.tools[name] = {**info, "best": max(info.get("best", 0.0), rate or 0.0)}
        state.replay += examples
        state.usages_seen += [usage_fingerprint(u) for u in usages]
        state.store_url = str(self.store.url)
        state.rounds += 1


def _valid_example(example: TextExample, signatures: dict) -> bool:
    import json

    sig = signatures.get(example.key.name)
    if sig is None:
        return True
    args = json.loads(example.answer).get("arguments", {})
    return set(args) <= set(sig["params"]) and set(sig.get("required", [])) <= set(args)


def _mean(xs):
    xs = [x for x in xs if x is not None]
    return None if not xs else sum(xs) / len(xs)
