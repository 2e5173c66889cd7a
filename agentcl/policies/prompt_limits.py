"""How much retrieved memory may enter an LLM prompt. A 99,000-character note went into a request
verbatim, and three such notes make a request a real endpoint rejects; each memory and the whole memory
block are capped, and the prompt says what was cut. Pure functions (no I/O)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from memory_store.errors import UserError

CUT_MARK = " [...cut: {n} more characters]"


@dataclass(frozen=True)
class MemoryLimits:
    per_memory_chars: int = 2_000   # text of one fact or note
    block_chars: int = 12_000       # the whole <memory> block, as JSON

    def __post_init__(self) -> None:
        if self.per_memory_chars < 50 or self.block_chars < self.per_memory_chars:
            raise UserError("memory limits: per memory at least 50 characters, and the block at least one memory")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> MemoryLimits:
        """AGENTCL_PROMPT_MEMORY_CHARS (one memory) and AGENTCL_PROMPT_MEMORY_BLOCK_CHARS (all of them)."""
        env = os.environ if env is None else env
        values = {}
        for field, name in (("per_memory_chars", "AGENTCL_PROMPT_MEMORY_CHARS"),
                            ("block_chars", "AGENTCL_PROMPT_MEMORY_BLOCK_CHARS")):
            raw = env.get(name)
            if raw:
                try:
                    values[field] = int(raw)
                except ValueError:
                    raise UserError(f"{name}={raw!r} is not a whole number of characters") from None
        return cls(**values)


@dataclass
class CapReport:
    shortened: int = 0  # memories whose text was cut
    left_out: int = 0   # memories that did not fit in the block at all

    def note(self) -> str | None:
        """The sentence the prompt carries when something was cut (None when nothing was)."""
        if not (self.shortened or self.left_out):
            return None
        parts = []
        if self.shortened:
            parts.append(f"{self.shortened} shortened (the cut is marked)")
        if self.left_out:
            parts.append(f"{self.left_out} left out")
        return "Note: memory was cut to fit the prompt: " + ", ".join(parts) + "."


def _size(item: dict[str, Any]) -> int:
    """Characters of the item as the prompt carries it (ASCII JSON, '<' and '>' escaped to six characters)."""
    text = json.dumps(item, ensure_ascii=True, default=str)
    return len(text) + 5 * (text.count("<") + text.count(">"))


def _cut(text: str, keep: int) -> str:
    return text[:keep] + CUT_MARK.format(n=len(text) - keep)


def cap_memories(items: list[dict[str, Any]], limits: MemoryLimits) -> tuple[list[dict[str, Any]], CapReport]:
    """Memories (dicts with "text", in rank order) within the limits: each text cut to per_memory_chars,
    oversized metadata dropped, and the list ended where the block would pass block_chars (the last
    memory that half fits is cut to fit)."""
    report = CapReport()
    out: list[dict[str, Any]] = []
    used = 2  # the JSON array's brackets
    for item in items:
        item = dict(item)
        original = text = str(item.get("text", ""))
        shortened = False
        if len(text) > limits.per_memory_chars:
            item["text"], shortened = _cut(text, limits.per_memory_chars), True
        if "metadata" in item and _size(item) > limits.per_memory_chars + 200:
            item["metadata"], shortened = {"cut": True}, True
        room = limits.block_chars - used - (2 if out else 0)
        size = _size(item)
        if size > room:
            keep = _fitting_prefix(item, original, min(len(original), limits.per_memory_chars), room)
            if keep < 50:  # not enough room for a useful piece: this and every later memory are left out
                report.left_out = len(items) - len(out)
                break
            item["text"], shortened = _cut(original, keep), True
            size = _size(item)
        report.shortened += shortened
        out.append(item)
        used += size + (2 if len(out) > 1 else 0)
    return out, report


def _fitting_prefix(item: dict[str, Any], text: str, upper: int, room: int) -> int:
    """The longest prefix of `text`, at most `upper` characters, whose cut item fits in `room` (binary search)."""
    lo, hi = 0, upper
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _size({**item, "text": _cut(text, mid)}) <= room:
            lo = mid
        else:
            hi = mid - 1
    return lo
