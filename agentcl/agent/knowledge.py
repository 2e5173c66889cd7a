"""The agent's knowledge in the versioned store, under one memory mode (the ablations share this code).

- `full`: the store as designed: a new value supersedes the old one, facts expire, reads see the
  current value only.
- `append`: memory that only appends: every predicate is multi-valued (nothing is superseded), TTLs
  are ignored (nothing expires); a read takes the oldest value still trusted, as append-only memories
  that return "older first" do.
- `none`: no memory: nothing is written, nothing is recalled.

Tool knowledge lives here too, as ordinary facts, so it is versioned and superseded like any other; its
slots are typed (`OperationTool`, `ToolParam`) and encoded to fact slots in one place (tool_facts.py)."""
from __future__ import annotations

from datetime import datetime

from agentcl.agent.tool_facts import OperationTool, ToolParam, decode, encode, params_subject
from memory_store import Fact, MemoryStore, WriteResult, current_value

MEMORY_MODES = ("full", "append", "none")
TRUSTED = 0.5  # below this confidence a remembered value is re-verified before it is used


class Knowledge:
    def __init__(self, store: MemoryStore, namespace: str, mode: str = "full"):
        if mode not in MEMORY_MODES:
            from memory_store.errors import InvalidInputError

            raise InvalidInputError(f"unknown memory mode {mode!r}; use {', '.join(MEMORY_MODES)}")
        self.store, self.namespace, self.mode = store, namespace, mode
        self._multi_set: set[str] = set()

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    # -- facts -------------------------------------------------------------------------------
    def recall(self, subject: str, predicate: str) -> Fact | None:
        if not self.enabled:
            return None
        facts = self.store.facts(namespace=self.namespace, subject=subject, predicate=predicate)
        if not facts:
            return None
        if self.mode == "append":
            trusted = [f for f in facts if f.confidence >= TRUSTED]
            return min(trusted or facts, key=lambda f: f.id)
        return current_value(facts)

    def known_stale(self, subject: str, predicate: str, value: str) -> bool:
        """`value` is one memory holds for the slot only as expired or superseded (never the current one)."""
        if not self.enabled:
            return False
        norm = " ".join(value.casefold().split())
        same = [f for f in self.store.facts(namespace=self.namespace, subject=subject, predicate=predicate,
                                            status="all") if " ".join(f.object.casefold().split()) == norm]
        now = self.store.now()
        return bool(same) and all(f.status in ("expired", "superseded", "retracted")
                                  or (f.expires_at is not None and f.expires_at <= now) for f in same)

    def has_lifetime(self, subject: str, predicate: str) -> bool:
        """Values of this slot came with an expiry before (a rotation, a weekly on-call)."""
        return self.enabled and any(f.expires_at is not None for f in self.store.facts(
            namespace=self.namespace, subject=subject, predicate=predicate, status="all"))

    def values(self, subject: str, predicate: str) -> list[Fact]:
        return self.store.facts(namespace=self.namespace, subject=subject, predicate=predicate) if self.enabled else []

    def learn(self, subject: str, predicate: str, value: str, *, source: str, valid_from: datetime | None = None,
              expires_at: datetime | None = None, confidence: float = 1.0, actor: str = "agent") -> WriteResult | None:
        if not self.enabled:
            return None
        if self.mode == "append":
            self._make_multi(predicate)
            expires_at = None
        return self.store.add_fact(subject, predicate, value, namespace=self.namespace, valid_from=valid_from,
                                   expires_at=expires_at, confidence=confidence, source=source, actor=actor)

    def _make_multi(self, predicate: str) -> None:
        if predicate not in self._multi_set:
            if self.store.policy(predicate, namespace=self.namespace).functional:
                self.store.set_policy(predicate, namespace=self.namespace, functional=False)
            self._multi_set.add(predicate)

    def confirm(self, fact: Fact | None) -> None:
        if self.enabled and fact is not None:
            self.store.validate_fact(fact.id, namespace=self.namespace, actor="agent")

    def doubt(self, fact: Fact | None, by: float = 0.6) -> None:
        if self.enabled and fact is not None and fact.confidence > 0:
            self.store.adjust_confidence(fact.id, -by, namespace=self.namespace, actor="agent")

    def reflect(self, text: str, *, occurred_at: datetime | None = None, metadata: dict | None = None) -> None:
        if self.enabled:
            self.store.add_note(text, namespace=self.namespace, note_type="reflection", occurred_at=occurred_at,
                                metadata=metadata, actor="agent")

    def search_notes(self, query: str, k: int = 3):
        if not self.enabled:
            return []
        return self.store.search(query, k=k, namespace=self.namespace, kind="note")

    # -- tool knowledge ----------------------------------------------------------------------
    def tool_for(self, operation: str) -> Fact | None:
        return self.recall(*encode(OperationTool(operation)))

    def learn_tool_for(self, operation: str, tool: str, *, source: str, when: datetime | None) -> None:
        current = self.tool_for(operation)
        if current is None or current.object != tool or self.mode == "full":
            self.learn(*encode(OperationTool(operation)), tool, source=source, valid_from=when)

    def _param_facts(self, tool: str) -> list[tuple[ToolParam, Fact]]:
        facts = self.store.facts(namespace=self.namespace, subject=params_subject(tool))
        return [(slot, f) for f in facts if isinstance(slot := decode(f.subject, f.predicate), ToolParam)]

    def renames(self, tool: str) -> dict[str, str]:
        """canonical input name -> parameter name, as learned for this tool."""
        if not self.enabled:
            return {}
        out: dict[str, str] = {}
        ordered = sorted(self._param_facts(tool), key=lambda sf: sf[1].id, reverse=self.mode != "append")
        for slot, f in ordered:
            if f.confidence >= TRUSTED:
                out.setdefault(slot.canonical, f.object)
        return out

    def learn_rename(self, tool: str, canonical: str, param: str, *, source: str, when: datetime | None) -> None:
        self.learn(*encode(ToolParam(tool, canonical)), param, source=source, valid_from=when)

    def confirm_renames(self, tool: str, params: set[str]) -> None:
        """A call that worked validates the learned parameter names it used."""
        if not self.enabled or not params:
            return
        for _, f in self._param_facts(tool):
            if f.object in params:
                self.confirm(f)
