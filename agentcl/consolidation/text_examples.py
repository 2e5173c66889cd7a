"""Text examples for the language-model backend, and the pure rules that grade its answers.
Keys are typed values (Slot, Tool, Anchor), never "kind:value" strings. No model, no I/O."""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from .keys import Anchor, Key, Slot, Tool, key_from_json, key_to_json  # noqa: F401 (typed keys, re-exported)

# The first TRAINED phrasings are trained; the others are never trained (generalisation probes).
TRAINED = (
    "What is the {p} of {s}?",
    "Tell me the {p} of {s}.",
    "{s}: what is its {p}?",
)
UNSEEN = (
    "Do you know the {p} of {s}?",
    "Which {p} does {s} have?",
)


@dataclass(frozen=True)
class TextExample:
    key: Key
    user: str
    answer: str
    # the chat turns before `user` ((role, content) pairs); empty: the model's short system prompt. Only a
    # corrective round's rows carry the policy's whole chat (long: never saved, never replayed)
    context: tuple = ()

    def to_json(self) -> dict:
        return {"key": key_to_json(self.key), "user": self.user, "answer": self.answer}

    @classmethod
    def from_json(cls, data: dict) -> TextExample:
        return cls(key_from_json(data["key"]), data["user"], data["answer"])


def _pred(predicate: str) -> str:
    return predicate.replace("_", " ")


def fact_questions(slot: Slot, *, trained: int = 3, unseen: bool = False) -> list[str]:
    templates = UNSEEN if unseen else TRAINED[: max(trained, 1)]
    return [t.format(p=_pred(slot.predicate), s=slot.subject) for t in templates]


def fact_answer(slot: Slot, value: str) -> str:
    """The answer sentence: it states the value (what probes look for)."""
    return f"The {_pred(slot.predicate)} of {slot.subject} is {value}."


def fact_examples(slot: Slot, value: str, *, phrasings: int = 3) -> list[TextExample]:
    answer = fact_answer(slot, value)
    return [TextExample(slot, q, answer) for q in fact_questions(slot, trained=phrasings)]


def neighbours(slot: Slot, current: dict, n: int = 2) -> list[str]:
    """The texts (as the store writes facts) of up to `n` other current facts a reader could confuse with
    `slot`'s: the same predicate of another subject or another predicate of the same subject first, then
    the rest; deterministic. `current`: Slot -> value."""
    others = sorted((s for s in current if s != slot),
                    key=lambda s: (s.predicate != slot.predicate and s.subject != slot.subject, s.subject, s.predicate))
    return _fact_texts(others[:n], current)


def memory_for(question: str, current: dict, n: int = 3) -> list[str]:
    """What retrieval would likely show for `question`: up to `n` current fact texts, those about a subject
    the question names first (deterministic, pure). `current`: Slot -> value."""
    ranked = sorted(current, key=lambda s: (not contains(question, s.subject), s.subject, s.predicate))
    return _fact_texts(ranked[:n], current)


def _fact_texts(slots: list[Slot], current: dict) -> list[str]:
    from memory_store.record_types import fact_text

    return [fact_text(s.subject, s.predicate, current[s]) for s in slots]


def tool_prompt(task: str) -> str:
    return f"Call one tool as JSON for this task: {task}"


def tool_call_text(tool: str, args: dict) -> str:
    """A call as the policy writes it: "tool" first, then "arguments" (keys never sorted: a model trained on
    calls that open with "arguments" opened its fact answers with it too, and nested calls without end)."""
    return json.dumps({"tool": tool, "arguments": args})


def named_in(text: str, name: str) -> str | None:
    """`name` as `text` spells it, when `text` names it as whole words (case-insensitive), else None (pure)."""
    name = name.strip()
    found = re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text, flags=re.IGNORECASE) if name else None
    return found.group(0) if found else None


def tool_examples(task: str, tool: str, args: dict, *, user: str | None = None) -> TextExample:
    """A tool call to learn; `user`: the text the call answers (default: the plain request tool_prompt)."""
    return TextExample(Tool(tool), tool_prompt(task) if user is None else user, tool_call_text(tool, args))


# -- grading (pure) ---------------------------------------------------------------------------------
def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def contains(answer: str, value: str) -> bool:
    """Whole-word containment after normalisation ("Paris." contains "paris"; "Parisian" does not)."""
    v = normalise(value)
    return bool(v) and f" {v} " in f" {normalise(answer)} "


def says_current(answer: str, current: str) -> bool:
    return contains(answer, current)


def is_stale(answer: str, current: str | None, superseded) -> bool:
    """Stale: the answer contains a superseded value of the slot and not the current one."""
    if current is not None and contains(answer, current):
        return False
    return any(contains(answer, old) for old in superseded if old != current)


def parse_tool_call(text: str) -> dict | None:
    """The first JSON object in `text` with a "tool" name and an "arguments" object, else None."""
    start = text.find("{")
    while start != -1:
        depth = 0
        for end in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                try:
                    data = json.loads(text[start: end + 1])
                except ValueError:
                    break
                if isinstance(data, dict) and isinstance(data.get("tool"), str) \
                        and isinstance(data.get("arguments", {}), dict):
                    return {"tool": data["tool"], "arguments": data.get("arguments", {})}
                break
        start = text.find("{", start + 1)
    return None


def call_problem(text: str, tool: str, params: list[str], required: list[str] | None = None) -> str | None:
    """Why a generated call is not a valid use of `tool` under today's signature (None when valid):
    unparseable, wrong tool, unknown parameters, or missing required ones."""
    call = parse_tool_call(text)
    if call is None:
        return "no JSON tool call"
    if call["tool"] != tool:
        return f"wrong tool {call['tool']!r}"
    names = set(call["arguments"])
    unknown = sorted(names - set(params))
    if unknown:
        return f"unknown parameter(s) {', '.join(unknown)}"
    missing = sorted(set(params if required is None else required) - names)
    if missing:
        return f"missing parameter(s) {', '.join(missing)}"
    return None


_CALLED_TOOL = re.compile(r'"tool"\s*:\s*"([^"]*)"')


def reply_shape(text: str) -> str:
    """What kind of reply `text` is, for the gate's shape probe (pure): "call:NAME" when it calls a tool
    (read loosely: a cut or unquoted call still names its tool), "json" for another JSON object, else
    "answer". A round may change what the policy answers; it must not turn calls into sentences or
    sentences into calls where it taught nothing."""
    called = _CALLED_TOOL.search(text)
    if called is not None:
        return f"call:{called.group(1).strip().casefold()}"
    return "json" if text.lstrip().startswith("{") else "answer"


def shape_drifted(expected: str, now: str, *, may_call: str | None = None) -> bool:
    """A reply shape the agent cannot use where it got a usable one before (pure): a call turned into a
    sentence or another tool's call, a sentence turned into a call. Where the base model wrote other JSON
    (neither), any shape now is no loss; `may_call` ("call:NAME") is the one call a sentence may become
    (the tool an untaught prompt offers)."""
    if expected == "json" or now == expected:
        return False
    return not (expected == "answer" and may_call is not None and now == may_call)


def grade_general(answer: str, expected: list[str]) -> bool:
    """A general question is answered right when the answer contains one of its short expected answers."""
    return any(contains(answer, e) for e in expected)
