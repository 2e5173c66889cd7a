"""Learning from use: usage examples and notes, search over skills, OpenAI export."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from memory_store.errors import InvalidInputError
from memory_store.timeparse import utcnow

from . import repo, usage
from .arguments import fit_to_schema, propose_arguments
from .calls import renames_of
from .openai_format import openai_name, openai_tool
from .records import SearchHit, SkillInfo, UsageExample
from .search import SkillDoc, SkillSearchIndex
from .validate import validate_args

if TYPE_CHECKING:
    from .catalog import Catalog
    from .registry_state import RegistryState

MAX_EXAMPLES_PER_SKILL = 50  # newest learned example tasks searched per skill (and its replacement's)


class Learning:
    """Learning from use: usage examples and notes, search over skills (its index is this service's),
    argument proposals, the OpenAI export."""

    def __init__(self, state: RegistryState, catalog: Catalog):
        self.state = state
        self.catalog = catalog
        self.index: SkillSearchIndex | None = None  # built on first search; a namespace view has its own

    # -- usage examples and notes ------------------------------------------------------------
    def add_example(self, name: str, task: str, args: dict, *, ok: bool = True) -> None:
        """Keep a usage example in this registry's namespace (`SkillContext.namespace`). ok=False records
        that calling `name` for `task` failed: search then counts it against `name` for similar tasks."""
        info = self.catalog.get(name)
        if not isinstance(args, dict):
            raise InvalidInputError("example arguments must be a JSON object")
        if not isinstance(task, str) or not task.strip():
            raise InvalidInputError("an example needs a task text")
        with repo.transaction(self.state.engine) as conn:
            repo.add_example(conn, info.current.id, task, args, namespace=self.state.context.namespace, ok=bool(ok))

    def examples(self, name: str, *, namespace: str | None = None) -> list[UsageExample]:
        """Usage examples learned in `namespace` (default: this registry's); never another namespace's."""
        info = self.catalog.get(name)
        with self.state.engine.connect() as conn:
            return repo.examples_of(conn, info, namespace=namespace or self.state.context.namespace)

    def add_note(self, name: str, text: str, *, version: int | None = None) -> None:
        """Attach a learned usage note to a version (default: the current one)."""
        info = self.catalog.get(name)
        target = next((v for v in info.versions if v.version == (version or info.current_version)), None)
        if target is None:
            raise InvalidInputError(f"{name} has no version {version}")
        if not text.strip():
            raise InvalidInputError("a usage note cannot be empty")
        with repo.transaction(self.state.engine) as conn:
            repo.add_note(conn, target.id, text.strip())

    def usage(self, name: str) -> dict:
        """What an agent should know before calling `name`: schema, notes, renames, recent examples."""
        info = self.catalog.get(name)
        examples = self.examples(name)
        current = [e for e in examples if e.version == info.current_version][-5:]
        return {"name": name, "version": info.current_version, "parameters": info.current.parameters,
                "notes": [n for v in info.versions for n in v.notes], "renamed": renames_of(info),
                "deprecated": info.deprecated, "replacement": info.replacement,
                "examples": [e.to_dict() for e in current]}

    # -- search ------------------------------------------------------------------------------
    def _search_docs(self, skills: list[SkillInfo]) -> list[SkillDoc]:
        """One document per skill; its examples are its author's and this namespace's learned ones, each
        weighted by outcome, age and signature changes; a deprecated skill's go to its replacement."""
        with self.state.engine.connect() as conn:
            rows = repo.usage_rows(conn, namespace=self.state.context.namespace)
        by_name = {s.name: s for s in skills}
        now = utcnow()
        learned: dict[str, list[tuple[str, float, dict | None, int]]] = {}
        for row in rows:
            info = by_name.get(row["skill"])
            if info is None:
                continue
            changes = usage.signature_changes([(v.version, v.diff) for v in info.versions], row["version"])
            weight = usage.example_weight(row["created_at"], now, changes)
            successor = _successor(info, by_name)
            args = row["args"] if row["ok"] and successor == info.name else None  # another tool's arguments
            learned.setdefault(successor, []).append((row["task"], weight if row["ok"] else -weight, args, changes))
        docs = []
        for s in skills:
            cur = s.current
            params = [(p, str(spec.get("description", ""))) for p, spec in cur.parameters.get("properties", {}).items()]
            own = learned.get(s.name, [])[-MAX_EXAMPLES_PER_SKILL:]
            authored = [t for t in dict.fromkeys(cur.examples)]
            docs.append(SkillDoc(name=s.name, description=cur.description, params=params,
                                 examples=authored + [t for t, _, _, _ in own],
                                 example_weights=[1.0] * len(authored) + [w for _, w, _, _ in own],
                                 example_args=[None] * len(authored) + [a for _, _, a, _ in own],
                                 example_changes=[0] * len(authored) + [c for _, _, _, c in own]))
        return docs

    def _synced_index(self, skills: list[SkillInfo]) -> SkillSearchIndex:
        if self.index is None:
            self.index = SkillSearchIndex(self.state.embedder)
        self.index.sync(self._search_docs(skills))
        return self.index

    def search_many(self, texts: Sequence[str], k: int = 5, *, include_deprecated: bool = False,
                    include_disabled: bool = False, tags: Sequence[str] | None = None,
                    learned: bool = True) -> list[list[SearchHit]]:
        """Skills for each task text, best first. learned=False ranks by the descriptions alone."""
        skills = [s for s in self.catalog.list() if s.status == "active"]
        if not skills or not texts:
            return [[] for _ in texts]
        index = self._synced_index(skills)
        allowed = np.array([(include_disabled or s.enabled) and (include_deprecated or not s.deprecated)
                            and (not tags or bool(set(tags) & set(s.current.tags))) for s in skills])
        scores = index.scores(list(texts), allowed, learned=learned)
        out = []
        for row in scores:
            order = [int(i) for i in np.argsort(-row, kind="stable") if np.isfinite(row[i])][:k]
            out.append([SearchHit(name=skills[i].name, version=skills[i].current_version, score=float(row[i]),
                                  description=skills[i].current.description, deprecated=skills[i].deprecated,
                                  replacement=skills[i].replacement) for i in order])
        return out

    def search(self, text: str, k: int = 5, **filters) -> list[SearchHit]:
        """Skills for a task text, best first (enabled, verified, not deprecated unless asked)."""
        if not text or not text.strip():
            raise InvalidInputError("search text is empty")
        return self.search_many([text], k, **filters)[0]

    def propose_args(self, name: str, task: str, *, k: int = 5) -> dict:
        """Arguments for calling `name` on `task`, from its nearest successful examples in this namespace:
        {"args": {...} or None, "from_task": the example used, "similarity": cosine, "valid": schema check}."""
        if not task or not task.strip():
            raise InvalidInputError("task text is empty")
        info = self.catalog.get(name)
        skills = [s for s in self.catalog.list() if s.status == "active"]
        position = next((i for i, s in enumerate(skills) if s.name == info.name), None)
        if position is None:
            return {"args": None, "from_task": None, "similarity": None, "valid": False}
        index = self._synced_index(skills)
        doc = index.docs[position]
        query = np.asarray(self.state.embedder.encode([task]))[0]
        # Examples recorded against the current signature first; older ones with their renames applied.
        nearest = [(o, sim) for o, sim in index.nearest_examples(query, position, k) if doc.example_args[o] is not None]
        nearest.sort(key=lambda item: doc.example_changes[item[0]] > 0)
        if nearest:
            offset, similarity = nearest[0]
            schema = info.current.parameters
            renames = renames_of(info)
            args = fit_to_schema(propose_arguments(doc.examples[offset], doc.example_args[offset], task), schema,
                                 task, renames)
            valid = validate_args(schema, args, renames=renames) is None
            return {"args": args, "from_task": doc.examples[offset], "similarity": round(similarity, 4),
                    "valid": valid}
        return {"args": None, "from_task": None, "similarity": None, "valid": False}

    # -- export ------------------------------------------------------------------------------
    def export_openai(self, *, names: Sequence[str] | None = None, include_deprecated: bool = False) -> list[dict]:
        """Usable skills in the OpenAI tools format (names made OpenAI-safe; the original kept as x-agentcl-name)."""
        out = []
        for s in self.catalog.list():
            if names is not None and s.name not in names:
                continue
            if not s.usable or (s.deprecated and not include_deprecated):
                continue
            out.append(openai_tool(openai_name(s.name), s.current.description, s.current.parameters,
                                   **{"x-agentcl-name": s.name}))
        return out


def _successor(info: SkillInfo, by_name: dict[str, SkillInfo]) -> str:
    """The skill an example of `info` now counts for: its replacement, followed while deprecated (no loops)."""
    seen = {info.name}
    while info.deprecated and info.replacement and info.replacement in by_name and info.replacement not in seen:
        info = by_name[info.replacement]
        seen.add(info.name)
    return info.name
