"""Typed keys of consolidation: a fact slot, a tool, a general-question anchor. Selection, examples,
probes and replay refer to what they are about by these values, never by "kind:value" strings.

The prototype model's saved state (learned slots, probe items, replay keys, audit findings) names
them by a text form (`slot_key`, `skill_key`), written and compared, never split; `slot_from_saved`
reads a saved slot back from its text form and the subject and predicate saved beside it. Pure."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    """A fact slot: what a value is learned for, superseded in, and probed by."""
    namespace: str
    subject: str
    predicate: str

    @classmethod
    def of(cls, fact) -> Slot:
        return cls(fact.namespace, fact.subject, fact.predicate)


@dataclass(frozen=True)
class Tool:
    """A tool (skill), by name."""
    name: str


@dataclass(frozen=True)
class Anchor:
    """A prompt whose answer is kept the model's own (distilled, replayed against drift): a shipped general
    question (kind "general", `index` into them) or a policy prompt about what no round taught (kind
    "policy", built afresh each round)."""
    index: int
    kind: str = "general"


Key = Slot | Tool | Anchor


def key_to_json(key: Key) -> dict:
    if isinstance(key, Slot):
        return {"slot": [key.namespace, key.subject, key.predicate]}
    if isinstance(key, Tool):
        return {"tool": key.name}
    return {"anchor": key.index} if key.kind == "general" else {"anchor": key.index, "kind": key.kind}


def key_from_json(data: dict) -> Key:
    if "slot" in data:
        return Slot(*data["slot"])
    if "tool" in data:
        return Tool(data["tool"])
    return Anchor(int(data["anchor"]), str(data.get("kind", "general")))


def slot_key(slot: Slot) -> str:
    """The text form of a slot in the prototype model's saved state: "namespace|subject|predicate"."""
    return f"{slot.namespace}|{slot.subject}|{slot.predicate}"


def skill_key(name: str) -> str:
    """The text form of a tool (skill) in the prototype model's saved state: "skill:<name>"."""
    return f"skill:{name}"


def slot_from_saved(key: str, info: dict) -> Slot:
    """The Slot a saved learned slot stands for: `info` has its subject and predicate (and, when written
    by this version, its namespace); an older one's namespace is what precedes them in `key`."""
    subject, predicate = info["subject"], info["predicate"]
    namespace = info.get("namespace")
    if namespace is None:
        namespace = key[: len(key) - len(subject) - len(predicate) - 2]
    return Slot(namespace, subject, predicate)
