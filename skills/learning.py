"""Learning from use: usage examples and notes, search over skills, OpenAI export."""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from memory_store.errors import InvalidInputError

from . import repo
from .models import SearchHit, SkillInfo, UsageExample
from .search import SkillDoc, SkillSearchIndex

MAX_EXAMPLES_PER_SKILL = 50  # newest learned example tasks searched per skill


def openai_name(name: str) -> str:
    """A tool name OpenAI accepts (^[A-Za-z0-9_-]{1,64}$)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]


class LearningMixin:
    # -- usage examples and notes ------------------------------------------------------------
    def add_example(self, name: str, task: str, args: dict) -> None:
        """Keep a usage example in this registry's namespace (`SkillContext.namespace`)."""
        info = self.get(name)
        if not isinstance(args, dict):
            raise InvalidInputError("example arguments must be a JSON object")
        with repo.transaction(self.engine) as conn:
            repo.add_example(conn, info.current.id, task, args, namespace=self.context.namespace)

    def examples(self, name: str, *, namespace: str | None = None) -> list[UsageExample]:
        """Usage examples learned in `namespace` (default: this registry's); never another namespace's."""
        info = self.get(name)
        with self.engine.connect() as conn:
            return repo.examples_of(conn, info, namespace=namespace or self.context.namespace)

    def add_note(self, name: str, text: str, *, version: int | None = None) -> None:
        """Attach a learned usage note to a version (default: the current one)."""
        info = self.get(name)
        target = next((v for v in info.versions if v.version == (version or info.current_version)), None)
        if target is None:
            raise InvalidInputError(f"{name} has no version {version}")
        if not text.strip():
            raise InvalidInputError("a usage note cannot be empty")
        with repo.transaction(self.engine) as conn:
            repo.add_note(conn, target.id, text.strip())

    def usage(self, name: str) -> dict:
        """What an agent should know before calling `name`: schema, notes, renames, recent examples."""
        info = self.get(name)
        examples = self.examples(name)
        current = [e for e in examples if e.version == info.current_version][-5:]
        return {"name": name, "version": info.current_version, "parameters": info.current.parameters,
                "notes": [n for v in info.versions for n in v.notes], "renamed": self._renames(info),
                "deprecated": info.deprecated, "replacement": info.replacement,
                "examples": [e.to_dict() for e in current]}

    # -- search ------------------------------------------------------------------------------
    def _search_docs(self, skills: list[SkillInfo]) -> list[SkillDoc]:
        with self.engine.connect() as conn:
            learned = repo.all_example_tasks(conn, namespace=self.context.namespace)
        docs = []
        for s in skills:
            cur = s.current
            params = [(p, str(spec.get("description", ""))) for p, spec in cur.parameters.get("properties", {}).items()]
            tasks = list(dict.fromkeys(cur.examples + learned.get(s.name, [])[-MAX_EXAMPLES_PER_SKILL:]))
            docs.append(SkillDoc(name=s.name, description=cur.description, params=params, examples=tasks))
        return docs

    def search_many(self, texts: Sequence[str], k: int = 5, *, include_deprecated: bool = False,
                    include_disabled: bool = False, tags: Sequence[str] | None = None) -> list[list[SearchHit]]:
        skills = [s for s in self.list() if s.status == "active"]
        if not skills or not texts:
            return [[] for _ in texts]
        if self._index is None:
            self._index = SkillSearchIndex(self.embedder)
        self._index.sync(self._search_docs(skills))
        allowed = np.array([(include_disabled or s.enabled) and (include_deprecated or not s.deprecated)
                            and (not tags or bool(set(tags) & set(s.current.tags))) for s in skills])
        scores = self._index.scores(list(texts), allowed)
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

    # -- export ------------------------------------------------------------------------------
    def export_openai(self, *, names: Sequence[str] | None = None, include_deprecated: bool = False) -> list[dict]:
        """Usable skills in the OpenAI tools format (names made OpenAI-safe; the original kept as x-agentcl-name)."""
        out = []
        for s in self.list():
            if names is not None and s.name not in names:
                continue
            if not s.usable or (s.deprecated and not include_deprecated):
                continue
            out.append({"type": "function", "function": {"name": openai_name(s.name),
                                                         "description": s.current.description,
                                                         "parameters": s.current.parameters},
                        "x-agentcl-name": s.name})
        return out
