"""What the language-model backend has learned, saved inside each of its checkpoints (learned.json beside
the adapter), so promotion and rollback move weights and state together. Checkpoints live in the
namespace's checkpoint folder (checkpoint_root, whatever its encoding of the name) under `llm/`."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..model.causal_lm import ADAPTER_FILES
from ..model.checkpoints import CheckpointStore
from .text_examples import Slot, TextExample

LEARNED_FILE = "learned.json"
BACKEND_DIR = "llm"


@dataclass
class LMConfig:
    phrasings: int = 3             # trained question phrasings per fact (the others are generalisation probes)
    epochs: int = 6                # upper bound: training stops early once the new material is answered
    min_epochs: int = 2
    stop_at: float = 0.95          # early stopping: share of a sample of new slots answered right
    corrective_epochs: int = 3
    batch_size: int = 8            # new examples per step; as many replayed ones join each step
    anchor_batch: int = 4          # general questions per step, distilled towards the base model (KL)
    kl_weight: float = 1.0
    kl_previous: float = 0.0       # > 0: replayed rows also distilled towards the adapter the round started from
    min_steps: int = 12            # a round of a few changes still trains long enough for replay to hold
    warmup_steps: int = 4          # linear learning-rate warm-up at the start of every round
    lr: float = 2e-3
    lora_r: int = 16
    replay: bool = True            # False: the naive run (no replay, no anchors), for comparison
    correct: bool = True
    gate: bool = True
    learn_threshold: float = 0.8   # new material's trained-phrasing accuracy needed to promote
    tolerance: float = 0.05        # earlier slots' accuracy may drop at most this much
    locality_tolerance: float = 0.05  # share of base-right general questions that may turn wrong
    forget_threshold: float = 0.2  # a tool is forgotten when its valid-call rate drops more than this
    locality_limit: int | None = None  # ask only the first N general questions (tests)
    locality_unscoped: bool = False  # also measure locality with every prompt through the adapter (bench)
    anchors_limit: int | None = None
    holdout_every: int = 4
    min_validations: int = 1
    trusted_sources: tuple[str, ...] = ("user", "trusted")  # the CLI passes this home's list (trust.py)
    max_new_tokens: int = 24
    tool_tokens: int = 40
    seed: int = 0
    cpu_threads: int | None = None  # torch intra-op threads on CPU while training (None: torch default)

    def __post_init__(self) -> None:
        from memory_store.errors import InvalidInputError

        if self.epochs < 0 or self.batch_size < 1 or not 1 <= self.phrasings <= 3:
            raise InvalidInputError("epochs must be >= 0, batch_size >= 1 and phrasings 1..3")
        if self.kl_previous < 0:
            raise InvalidInputError("kl_previous must be >= 0")
        self.trusted_sources = tuple(self.trusted_sources)


@dataclass
class LMState:
    store_url: str = ""
    source: str = ""                                   # the base model directory
    rounds: int = 0
    slots: dict = field(default_factory=dict)          # Slot -> {"value", "fact_id", "ok"}
    tools: dict = field(default_factory=dict)          # name -> {"params", "required", "probes", "best"}
    replay: list = field(default_factory=list)         # TextExample
    anchors: list = field(default_factory=list)        # TextExample (base model's own answers)
    locality_base: list = field(default_factory=list)  # per general question: did the base answer right
    usages_seen: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {"store_url": self.store_url, "source": self.source, "rounds": self.rounds,
                "slots": [{"slot": [k.namespace, k.subject, k.predicate], **v} for k, v in self.slots.items()],
                "tools": self.tools, "replay": [e.to_json() for e in self.replay],
                "anchors": [e.to_json() for e in self.anchors], "locality_base": self.locality_base,
                "usages_seen": self.usages_seen}

    @classmethod
    def from_json(cls, data: dict) -> LMState:
        slots = {Slot(*d["slot"]): {k: v for k, v in d.items() if k != "slot"} for d in data.get("slots", [])}
        return cls(store_url=data.get("store_url", ""), source=data.get("source", ""), rounds=data.get("rounds", 0),
                   slots=slots, tools=data.get("tools", {}),
                   replay=[TextExample.from_json(e) for e in data.get("replay", [])],
                   anchors=[TextExample.from_json(e) for e in data.get("anchors", [])],
                   locality_base=data.get("locality_base", []), usages_seen=data.get("usages_seen", []))


class LMCheckpoints(CheckpointStore):
    """The namespace's checkpoint store, in a backend subfolder: the prototype's and the language
    model's checkpoints never share ids or an active pointer."""

    def __init__(self, home=None, *, namespace: str = "default", create: bool = True):
        super().__init__(home, namespace=namespace, create=create)
        self.root = self.root / BACKEND_DIR
        if create:
            self.root.mkdir(parents=True, exist_ok=True)

    def load_active_into(self, lm) -> int | None:
        """Put the active checkpoint (adapter and scope) into the loaded CausalLM `lm`; its id, or None
        (then `lm` has the fresh, identity adapter)."""
        from memory_store.file_reads import reading

        from .scope import scope_of

        active = self.active_id()
        state = self.load_state(active)
        if active is None:
            lm.load_adapter(None)
        else:
            self.check(active)
            with reading(self.path(active) / ADAPTER_FILES[0]):  # shapes of another model, say
                lm.load_adapter(self.path(active))
        lm.scope = scope_of(state.slots, state.tools, state.slots)
        return active

    def load_state(self, ckpt_id: int | None) -> LMState:
        from memory_store.file_reads import read_json, reading

        path = None if ckpt_id is None else self.path(ckpt_id) / LEARNED_FILE
        if path is None or not path.exists():
            return LMState()
        data = read_json(path)
        with reading(path):
            return LMState.from_json(data)

    def check(self, ckpt_id: int) -> LMState:
        """Raise DamagedFileError unless checkpoint `ckpt_id` is whole: its metrics, what it learned, its
        adapter's files (the weights' header, read without loading any model). Commands run this before
        they load the language model, so a damaged checkpoint costs a second, not a model load."""
        from memory_store.file_reads import check_safetensors, read_json

        self.metrics(ckpt_id)
        state = self.load_state(ckpt_id)
        check_safetensors(self.path(ckpt_id) / ADAPTER_FILES[0])
        read_json(self.path(ckpt_id) / ADAPTER_FILES[1])
        return state

    def check_active(self) -> int | None:
        """The active checkpoint's id after check(), or None."""
        active = self.active_id()
        if active is not None:
            self.check(active)
        return active


def state_writer(state: LMState):
    def write(directory: Path) -> None:
        tmp = directory / (LEARNED_FILE + ".tmp")
        tmp.write_text(json.dumps(state.to_json()))
        os.replace(tmp, directory / LEARNED_FILE)
    return write


class AdapterWriter:
    """What CheckpointStore.save calls `model.save(directory)` on: the LM's current adapter."""

    def __init__(self, lm):
        self.lm = lm

    def save(self, directory) -> None:
        self.lm.save_adapter(directory)
