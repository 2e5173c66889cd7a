"""The gate's shape probe for an agent's own policy: a round may change what the policy answers, not what
kind of reply it gives. Trained after a short system prompt, a round can still turn the policy's tool calls
into sentences, or its answers into calls, inside the policy's whole chat (its system text and worked
turns), where the agent decides. The probe asks there (the asker's `chat_replies`), compares each reply's
shape with the expected one (text_examples.reply_shape, shape_drifted), and gives the corrective round its
fixes, inside that same chat."""
from __future__ import annotations

from dataclasses import replace

from .text_examples import TextExample, Tool, parse_tool_call, reply_shape, shape_drifted, tool_call_text

SHAPE_PROBES = 24  # policy prompts whose reply shape the gate checks, at most (one batched chat generation)


class PolicyShapes:
    """The prompts whose reply shape a round must keep, each (prompt, expected shape, fix): the policy's
    prompts nothing was taught for (policy-prompt anchors: the base model's shape) and the taught facts
    asked in the policy's fact prompt (a sentence, never a call). `asker` is the agent's PolicyAsker (or
    anything with `chat_replies` and `chat_context`); without one the probe asks nothing."""

    def __init__(self, asker) -> None:
        self.asker = asker if hasattr(asker, "chat_replies") else None
        self.anchors: list[tuple[str, str, TextExample]] = []
        self.facts: list[tuple[str, str, TextExample]] = []
        self.may_call: dict[str, str] = {}  # untaught prompt -> the call its sentence may become
        self.asked = 0

    def expect_anchors(self, lm, anchors: list[TextExample], *, max_new_tokens: int,
                       offered: list[str | None] | None = None) -> None:
        """Each anchor must keep the shape the base model's reply has in the policy's whole chat, except
        that a sentence may become a call of the one tool its prompt offers (`offered`, per anchor): nothing
        was taught for these prompts, so the agent never validated that sentence, and the policy's system
        text asks for exactly that call when memory lacks the answer (a lookup, which tells the truth)."""
        if self.asker is None or not anchors:
            return
        said = self.asker.chat_replies(lm, [a.user for a in anchors], adapter=False, max_new_tokens=max_new_tokens)
        offered = list(offered) if offered is not None else [None] * len(anchors)
        self.anchors = [(a.user, reply_shape(r), _base_fix(a, r)) for a, r in zip(anchors, said)]
        self.may_call = {a.user: f"call:{tool.casefold()}" for a, tool in zip(anchors, offered) if tool}

    def expect_answers(self, examples: list[TextExample]) -> None:
        """Each taught fact, asked in the policy's fact prompt (`examples`), must be answered with a sentence."""
        self.facts += [(ex.user, "answer", ex) for ex in examples]

    def probes(self) -> list[tuple[str, str, TextExample]]:
        """The anchors' probes, and as many of the taught facts' as fit in SHAPE_PROBES."""
        return self.anchors + self.facts[:max(0, SHAPE_PROBES - len(self.anchors))]

    def drift(self, lm, *, max_new_tokens: int) -> dict:
        """The prompts the model (adapter on) answers in another shape than expected, asked as the agent
        asks: prompt -> {"expected", "now", "answer"}."""
        probes = self.probes()
        if self.asker is None or not probes:
            return {}
        self.asked = len(probes)
        said = self.asker.chat_replies(lm, [p for p, _, _ in probes], max_new_tokens=max_new_tokens)
        return {p: {"expected": want, "now": reply_shape(r), "answer": r[:200]}
                for (p, want, _), r in zip(probes, said)
                if shape_drifted(want, reply_shape(r), may_call=self.may_call.get(p))}

    def fixes(self, drifted: dict, *, repeat: int = 4) -> list[TextExample]:
        """What a corrective round trains for the drifted prompts, inside the policy's whole chat (where the
        shape drifted), each `repeat` times: they are few. Long rows: never saved, never replayed."""
        chat = self.asker.chat_context() if self.asker is not None and hasattr(self.asker, "chat_context") else ()
        return [replace(fix, context=chat) for p, _, fix in self.probes() if p in drifted] * repeat

    def refusal(self, drifted: dict) -> str | None:
        """The gate's reason to refuse a round whose shapes still drift, else None."""
        if not drifted:
            return None
        first = next(iter(drifted.values()))
        return (f"{len(drifted)} of {self.asked} policy prompts answered in another shape "
                f"(e.g. {first['now']} where {first['expected']} was expected)")


def _base_fix(anchor: TextExample, base_reply: str) -> TextExample:
    """An anchor's fix: the base model's call, fitted, where it called a tool; else the anchor (distilled)."""
    call = parse_tool_call(base_reply)
    if call is None:
        return anchor
    return TextExample(Tool(call["tool"]), anchor.user, tool_call_text(call["tool"], call["arguments"]))
