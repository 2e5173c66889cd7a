"""Consolidation into the local language model (LoRA over SmolLM2 or a user's causal LM): the
`LMBackend` of pipeline.run_round (select -> build examples -> train with replay -> probe -> correct ->
gate -> checkpoint) and the `consolidate_lm` entry point.

Selection, the round's order and the gate rule are the pipeline's; here examples are text
(text_examples), probes are generations (lm_stages), and the gate also asks that general answers are
kept (locality). A rejected candidate is saved for inspection, the previous adapter stays active and is
put back into the in-memory model, with its scope.

Over 300 lines on purpose: one class implementing the pipeline's Backend stages for the language
model, which share its state (slots, replay, scope); the model-touching stages are in lm_stages."""
from __future__ import annotations

import json
import random
from contextlib import contextmanager
from dataclasses import dataclass, field

from .examples import UsageRecord, split_usages
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
from .pipeline import Backend, GateInputs, TrainStats, run_round
from .report import ConsolidationReport
from .scope import scope_of
from .select import Selection, usage_fingerprint
from .shape_probe import PolicyShapes
from .text_examples import (
    Anchor,
    Slot,
    TextExample,
    Tool,
    fact_answer,
    fact_examples,
    fact_questions,
    neighbours,
    normalise,
    tool_examples,
)

POLICY_ANCHORS = 16  # policy-prompt anchors per round, at most (one batched generation builds them)


def consolidate_lm(store, registry=None, *, lm, namespace: str = "default", config: LMConfig | dict | None = None,
                   usages=(), tools: dict | None = None, home=None, tool_asker=None) -> ConsolidationReport:
    """One round for `namespace` on the already loaded CausalLM `lm` (load it once, reuse it).
    `tools` ({name: [param, ...]}) gives today's signatures; otherwise the registry's, else the
    arguments of each tool's latest usage. `tool_asker` (the agent's policy asks its own way, e.g.
    agent.lm_consolidation.PolicyAsker) gives the text tool calls are trained on and the replies the gate's
    tool probe grades, and, when it has `fact_users`, the policy's fact prompts validated facts are also
    trained on; None: the plain request tool_prompt(task) and the plain question phrasings."""
    cfg = LMConfig(**config) if isinstance(config, dict) else (config or LMConfig())
    home = home if home is not None else getattr(store, "home", None)
    with consolidation_lock(store, namespace=namespace, home=home):
        extra = [UsageRecord.coerce(u) for u in usages]
        backend = LMBackend(store, registry, lm, namespace, cfg, extra, tools, home, tool_asker)
        return run_round(backend, store, registry, namespace=namespace, extra_usages=extra)


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


@dataclass
class LMProbe:
    """What the generation probes found on the candidate."""
    new: float | None       # new slots, trained phrasing
    unseen: float | None    # new slots, phrasings never trained (generalisation)
    kept: float | None      # earlier slots the model answered right
    kept_ok: dict           # Slot -> still answered right
    new_ok: dict            # Slot -> answered right
    stale: dict             # Slot -> the stale answer
    tools: dict             # name -> valid-call rate and problems
    forgotten: dict         # name -> {"best", "now", "problems"}
    lost: dict = field(default_factory=dict)  # earlier slot no longer answered right -> its answer
    drifted: dict = field(default_factory=dict)  # policy prompt answered in another shape -> detail


class LMBackend(Backend):
    """pipeline.Backend for a causal LM with a LoRA adapter. Classes are slots and tools (typed keys
    Slot/Tool/Anchor); inputs are chat prompts; answers are generations."""

    def __init__(self, store, registry, lm, ns, cfg: LMConfig, usages: list[UsageRecord], tools, home,
                 tool_asker=None):
        self.store, self.registry, self.lm, self.ns, self.cfg, self.home = store, registry, lm, ns, cfg, home
        self.tool_asker = tool_asker
        self.extra_usages = usages
        self.tool_arg = tools
        self.fix_stats: TrainStats | None = None
        self.shapes = PolicyShapes(tool_asker)  # the reply shapes of the agent's own policy a round must keep
        self.drifted: dict = {}  # what the gate found still drifted after correction
        self.kl_previous = 0.0  # the weight this round applies (session: 0 without a previous adapter)

    # -- load and keep ------------------------------------------------------------------------------
    def new_report(self) -> ConsolidationReport:
        return ConsolidationReport(namespace=self.ns, strategy="lora+replay" if self.cfg.replay else "lora (naive)",
                                   device=str(self.lm.device))

    def load(self, rep) -> LMState:
        self.checkpoints = LMCheckpoints(self.home, namespace=self.ns)
        self.active = self.checkpoints.active_id()
        self.state = self.checkpoints.load_state(self.active)
        return self.state

    def forget(self) -> LMState:
        self.state, self.active = LMState(), None
        return self.state

    def open(self, rep) -> None:
        lm = self.lm
        lm.load_adapter(self.checkpoints.path(self.active) if self.active is not None else None)
        lm.scope = scope_of(self.state.slots, self.state.tools, self.state.slots)
        self.previous_adapter, self.previous_scope = lm.adapter_state(), lm.scope
        rep.active_checkpoint = self.active

    @contextmanager
    def session(self):
        import torch

        threads = torch.get_num_threads()
        if self.cfg.cpu_threads and str(self.lm.device) == "cpu":
            torch.set_num_threads(self.cfg.cpu_threads)
        # kl_previous: the adapter the round starts from is held, frozen, as the replayed rows' teacher.
        # Not in the first round (no active adapter: the identity, which the base-model anchors cover).
        self.kl_previous = self.cfg.kl_previous if self.cfg.replay and self.active is not None else 0.0
        if self.kl_previous > 0:
            self.lm.hold_previous(self.previous_adapter)
        try:
            yield
        finally:
            torch.set_num_threads(threads)
            if self.kl_previous > 0:
                self.lm.hold_previous(None)

    def keep_previous(self) -> None:
        self.lm.set_adapter_state(self.previous_adapter)
        self.lm.scope = self.previous_scope

    # -- 1. select ----------------------------------------------------------------------------------
    def learned(self) -> dict:
        return self.state.slots

    def forget_stale(self, sel: Selection, rep) -> set[str]:
        state, plan, retired = self.state, sel.plan, sel.retired
        self.usages = sel.usages
        self.current = {s: f.object for s, f in plan.current.items()}
        self.superseded = {s: vals for s, vals in plan.superseded_values.items()
                           if s in state.slots or s in plan.current}
        self.changed = changed = set(plan.changed)
        self.new_facts = new_facts = {Slot.of(f): f for f in plan.new}
        self.signatures = signatures = _signatures(self.registry, self.extra_usages, self.tool_arg)
        for name in retired:
            state.tools.pop(name, None)
        self.renamed = {n for n, sig in signatures.items()
                        if n in state.tools and state.tools[n]["params"] != sig["params"]}
        for name, sig in signatures.items():
            if name in state.tools:
                state.tools[name].update(sig)
        # A superseded fact's examples and a tool's calls under an old signature leave the buffer.
        before = len(state.replay)
        state.replay = [e for e in state.replay if not (
            (isinstance(e.key, Slot) and (e.key in changed or e.key in new_facts))
            or (isinstance(e.key, Tool) and (e.key.name in retired or not _valid_example(e, signatures))))]
        rep.removed_from_buffer = before - len(state.replay)
        self.retired = retired
        return retired

    # -- 2. build examples --------------------------------------------------------------------------
    def build(self, sel: Selection, rep) -> list[TextExample]:
        cfg, state = self.cfg, self.state
        examples = [ex for slot, f in self.new_facts.items() for ex in self.fact_examples(slot, f.object)]
        asker = self.tool_asker
        train_u, held_u = split_usages(self.usages, holdout_every=cfg.holdout_every)
        examples += [tool_examples(u.task, u.skill, u.args, user=asker.user_text(u.skill, u.task) if asker else None)
                     for u in train_u]
        self.new_tools = new_tools = {}
        for u in train_u + held_u:
            sig = self.signatures.get(u.skill, {"params": sorted(u.args), "required": sorted(u.args)})
            entry = new_tools.setdefault(u.skill, {**sig, "probes": [],
                                                   "best": state.tools.get(u.skill, {}).get("best", 0.0)})
            if u in held_u or len(entry["probes"]) < 2:
                entry["probes"].append(u.task)
        return examples

    def policy_anchors(self) -> list[TextExample]:
        """The asker's policy prompts for what the agent was asked and this round does not train
        (untaught_asks), with the base model's answers: distilled towards it like the general anchors,
        they keep what the policy says where nothing was taught (a round with one fact otherwise answered
        every fact question in the policy's prompt with that fact, and later tool tasks with sentences).
        Built afresh each round, never saved."""
        asker = self.tool_asker
        if asker is None or not hasattr(asker, "untaught_asks"):
            return []
        slots = list(self.state.slots) + list(self.new_facts)
        taught = {normalise(q) for s in slots for q in fact_questions(s, trained=self.cfg.phrasings)
                  + list(getattr(asker, "questions", {}).get((s.subject, s.predicate), []))}
        taught |= {normalise(u.task) for u in self.usages}  # this round's tool calls
        asks = asker.untaught_asks(taught, self.current)[-POLICY_ANCHORS:]  # the newest
        if not asks:
            return []
        prompts, offered = [p for p, _ in asks], dict(asks)
        answers = self.lm.generate(prompts, max_new_tokens=self.cfg.max_new_tokens, adapter=False)
        out = [TextExample(Anchor(i, "policy"), p, a) for i, (p, a) in enumerate(zip(prompts, answers)) if a]
        self.shapes.expect_anchors(self.lm, out, max_new_tokens=self.cfg.tool_tokens,
                                   offered=[offered[a.user] for a in out])
        return out

    def fact_examples(self, slot: Slot, value: str) -> list[TextExample]:
        """A fact's examples: the plain question phrasings and, when the asker knows how the agent's policy
        asks (fact_users), its fact prompts among confusable facts (neighbours)."""
        out = fact_examples(slot, value, phrasings=self.cfg.phrasings)
        asker = self.tool_asker
        if asker is not None and hasattr(asker, "fact_users"):
            answer, others = fact_answer(slot, value), neighbours(slot, self.current)
            asked = [TextExample(slot, user, answer) for user in asker.fact_users(slot, value, others)]
            self.shapes.expect_answers(asked)
            out += asked
        return out

    # -- 3. train with replay -----------------------------------------------------------------------
    def train(self, examples: list[TextExample], rep) -> TrainStats:
        cfg, lm, state, new_facts = self.cfg, self.lm, self.state, self.new_facts
        # The adapter answers the slots it has learned and is learning, and tool calls once it has any.
        learned = {**{s: v for s, v in state.slots.items() if s not in self.changed},
                   **{s: f.object for s, f in new_facts.items()}}
        lm.scope = scope_of(list(state.slots) + list(new_facts), list(state.tools) + list(self.new_tools), learned)
        if cfg.replay and not state.anchors:
            state.anchors = anchors(lm, limit=cfg.anchors_limit, max_new_tokens=cfg.max_new_tokens)
        if not state.locality_base or state.source != lm.source:
            state.locality_base = locality(lm, limit=cfg.locality_limit, base=True, max_new_tokens=cfg.max_new_tokens)
            state.source = lm.source
        self.replay = state.replay if cfg.replay else []
        general = state.anchors + self.policy_anchors() if cfg.replay else []
        self.new_slots = new_slots = list(new_facts)
        self.values = values = {s: self.current[s] for s in new_slots}
        rng = random.Random(cfg.seed)
        kept_now = [s for s, v in state.slots.items() if s not in self.changed and v.get("ok")]
        sample = rng.sample(new_slots, min(len(new_slots), 16))
        kept_sample = rng.sample(kept_now, min(len(kept_now), 8)) if cfg.replay else []
        kept_values = {s: state.slots[s]["value"] for s in kept_sample}

        def learned() -> bool:  # early stopping: samples of the new and of the kept slots answered right
            answers = ask_slots(lm, sample + kept_sample, unseen=False, max_new_tokens=cfg.max_new_tokens)
            new_ok = slot_accuracy({s: answers[s] for s in sample}, values)
            kept_ok = slot_accuracy({s: answers[s] for s in kept_sample}, kept_values)
            return (new_ok or 0.0) >= cfg.stop_at and (kept_ok if kept_ok is not None else 1.0) >= cfg.stop_at

        self.schedule = dict(batch_size=cfg.batch_size, lr=cfg.lr, anchors=general, anchor_batch=cfg.anchor_batch,
                             kl_weight=cfg.kl_weight, warmup_steps=cfg.warmup_steps)
        if self.kl_previous > 0:  # the previous adapter knows the buffer, not this round's examples
            self.schedule.update(kl_previous=self.kl_previous, previous_knows=frozenset(self.replay))
        self.stats = train_round(lm, examples, self.replay, epochs=cfg.epochs, min_epochs=cfg.min_epochs,
                                 min_steps=cfg.min_steps, seed=cfg.seed + state.rounds,
                                 learned=learned if sample or kept_sample else None, **self.schedule)
        self.all_tools = {**{n: t for n, t in state.tools.items() if n not in self.retired}, **self.new_tools}
        for name in self.renamed:  # probes of a renamed tool are asked under today's signature
            self.all_tools[name] = {**self.all_tools[name], **self.signatures[name]}
        self.kept_slots = [s for s, v in state.slots.items() if s not in self.changed and v.get("ok")]
        self.stale_probe = sorted((s for s in self.superseded if s in state.slots or s in new_facts), key=repr)
        return self.stats

    # -- 4. probe -----------------------------------------------------------------------------------
    def probe(self) -> LMProbe:
        cfg, lm, state = self.cfg, self.lm, self.state
        new_slots, kept_slots, values, tools = self.new_slots, self.kept_slots, self.values, self.all_tools
        asked = list(dict.fromkeys(new_slots + kept_slots + self.stale_probe))
        answers = ask_slots(lm, asked, unseen=False, max_new_tokens=cfg.max_new_tokens)
        unseen = ask_slots(lm, new_slots, unseen=True, max_new_tokens=cfg.max_new_tokens)
        kept_values = {s: state.slots[s]["value"] for s in kept_slots}
        validity = tool_validity(lm, tools, max_new_tokens=cfg.tool_tokens, asker=self.tool_asker) if tools else {}
        kept_ok = {s: slot_accuracy({s: answers[s]}, kept_values) == 1.0 for s in kept_slots}
        drifted = self.shapes.drift(lm, max_new_tokens=cfg.tool_tokens)
        return LMProbe(new=slot_accuracy({s: answers[s] for s in new_slots}, values),
                       unseen=slot_accuracy(unseen, values),
                       kept=slot_accuracy({s: answers[s] for s in kept_slots}, kept_values),
                       kept_ok=kept_ok,
                       # what the replay buffer can restore (the naive run has none)
                       lost={s: answers[s][0] for s, ok in kept_ok.items() if cfg.replay and not ok},
                       new_ok={s: slot_accuracy({s: answers[s]}, values) == 1.0 for s in new_slots},
                       stale=stale_slots({s: answers[s] for s in self.stale_probe}, self.current, self.superseded),
                       tools=validity, forgotten=forgotten_tools(validity, tools, threshold=cfg.forget_threshold),
                       drifted=drifted)

    # -- 5. correct ---------------------------------------------------------------------------------
    def correct(self, found: LMProbe, examples: list[TextExample]) -> TrainStats:
        cfg, lm, current, state = self.cfg, self.lm, self.current, self.state
        fix = [ex for s in found.stale for ex in self.fact_examples(s, current[s])]
        fix += [e for e in examples + state.replay if isinstance(e.key, Tool) and e.key.name in found.forgotten]
        # Earlier facts the round made the model lose are relearnt from the replay buffer, with their value.
        fix += [e for e in state.replay if isinstance(e.key, Slot) and e.key in found.lost]
        # policy prompts answered in another shape: the taught example, the base model's call, or the anchor
        fix += self.shapes.fixes(found.drifted)
        wanted = {**{s: current[s] for s in found.stale}, **{s: state.slots[s]["value"] for s in found.lost}}

        def corrected() -> bool:  # stop as soon as the stale and lost slots say their value, shapes kept
            answers = ask_slots(lm, list(wanted), unseen=False, max_new_tokens=cfg.max_new_tokens)
            said = not wanted or (slot_accuracy(answers, wanted) or 0.0) >= 1.0
            return said and (not found.drifted or not self.shapes.drift(lm, max_new_tokens=cfg.tool_tokens))

        self.fix_stats = train_round(lm, fix, self.replay + examples if cfg.replay else [],
                                     epochs=cfg.corrective_epochs, min_epochs=1, seed=cfg.seed + 7 + state.rounds,
                                     min_steps=4 if found.drifted else 0,
                                     learned=corrected, **self.schedule)
        return self.fix_stats

    # -- 6. gate ------------------------------------------------------------------------------------
    def evaluate(self, found: LMProbe, after: LMProbe, rep) -> GateInputs:
        cfg, lm, state, stats, fix_stats = self.cfg, self.lm, self.state, self.stats, self.fix_stats
        rep.stale_slots = {f"{s.subject} / {s.predicate}": a for s, a in after.stale.items()}
        rep.forgotten_skills = after.forgotten
        general_answers: list[str] = []
        now_right = locality(lm, limit=cfg.locality_limit, base=False, max_new_tokens=cfg.max_new_tokens,
                             answers_out=general_answers, base_right=state.locality_base)
        self.kept_general = kept_general = locality_kept(state.locality_base, now_right)
        unscoped = None
        if cfg.locality_unscoped:  # what the weights alone keep, every prompt through the adapter
            unscoped = locality_kept(state.locality_base, locality(
                lm, limit=cfg.locality_limit, base=False, scoped=False, max_new_tokens=cfg.max_new_tokens))
        new_tool_rates = [v["rate"] for n, v in after.tools.items() if n in self.new_tools]
        new_acc = (_mean([after.new] * len(self.new_slots) + new_tool_rates)
                   if self.new_slots or new_tool_rates else None)
        kept_before = 1.0 if self.kept_slots else None
        rep.accuracy = {"new_trained": after.new, "new_unseen": after.unseen, "kept": after.kept,
                        "locality_kept": kept_general, "locality_kept_unscoped": unscoped,
                        "locality_base_right": sum(state.locality_base),
                        "locality_asked": len(state.locality_base),
                        "tools": {n: round(v["rate"], 4) for n, v in after.tools.items()},
                        "new_material": new_acc,
                        "locality_lost": locality_lost(state.locality_base, now_right, general_answers)}
        rep.train_seconds = round(stats.seconds + (fix_stats.seconds if fix_stats else 0.0), 3)
        rep.metrics = {"epochs": stats.epochs, "steps": stats.steps, "sequences": stats.sequences,
                       "losses": stats.losses, "corrective_epochs": fix_stats.epochs if fix_stats else 0,
                       "seconds_per_example": round(stats.seconds / max(1, stats.sequences), 4),
                       "kl_previous": self.kl_previous}
        rep.round = state.rounds + 1
        self.drifted = after.drifted
        rep.accuracy["policy_shapes"] = {"asked": self.shapes.asked, "drifted": len(after.drifted),
                                         "examples": list(after.drifted.values())[:3]}
        return GateInputs(new_accuracy=new_acc, old_before=kept_before, old_after=after.kept)

    def gate_check(self) -> str | None:
        """Locality: of the general questions the base model answered right, few may turn wrong."""
        floor = 1 - self.cfg.locality_tolerance
        if self.kept_general is not None and self.kept_general < floor:
            return f"general answers kept {self.kept_general:.3f} < {floor:.2f} (locality)"
        # the agent would get sentences for calls, or calls for answers, it did not get before
        return self.shapes.refusal(self.drifted)

    # -- 7. checkpoint ------------------------------------------------------------------------------
    def advance(self, after: LMProbe, examples: list[TextExample]):
        state = self.state
        for slot in self.changed - set(self.new_facts):  # lapsed: no active value any more
            state.slots.pop(slot, None)
        for slot, f in self.new_facts.items():
            state.slots[slot] = {"value": f.object, "fact_id": f.id, "ok": after.new_ok.get(slot, False)}
        for slot, ok in after.kept_ok.items():
            state.slots[slot]["ok"] = ok
        for name, info in self.all_tools.items():
            rate = after.tools.get(name, {}).get("rate")
            state.tools[name] = {**info, "best": max(info.get("best", 0.0), rate or 0.0)}
        state.replay += examples
        state.usages_seen += [usage_fingerprint(u) for u in self.usages]
        state.store_url = str(self.store.url)
        state.rounds += 1
        return state_writer(state)

    def candidate(self) -> AdapterWriter:
        return AdapterWriter(self.lm)  # the adapter trained in place; keep_previous puts the old one back

    def checkpoint_meta(self, rep) -> dict:
        return {"device": str(self.lm.device), "backend": "llm", "base": self.lm.source, "metrics": rep.accuracy}


def _valid_example(example: TextExample, signatures: dict) -> bool:
    sig = signatures.get(example.key.name)
    if sig is None:
        return True
    args = json.loads(example.answer).get("arguments", {})
    return set(args) <= set(sig["params"]) and set(sig.get("required", [])) <= set(args)


def _mean(xs):
    xs = [x for x in xs if x is not None]
    return None if not xs else sum(xs) / len(xs)
