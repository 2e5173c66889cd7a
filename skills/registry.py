"""The skill registry: register skills (versioned), enable/disable/deprecate them, find and call them.

SQL (the memory store's database) holds skills, versions, stats, usage examples and notes; executors
live in the process (built-ins, plug-ins, files re-imported on demand, HTTP tools rebuilt from data)."""
from __future__ import annotations

import copy
import dataclasses
import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from memory_store import retry
from memory_store.config import agentcl_home, database_url
from memory_store.db import redact_url
from memory_store.errors import InvalidInputError, NotFoundError, UserError
from memory_store.normalize import clean_namespace

from . import repo
from .calls import CallsMixin
from .composing import CompositeMixin
from .context import SkillContext
from .decorator import as_skill
from .http import HttpExecutor
from .learning import LearningMixin
from .lifecycle import LifecycleMixin
from .loader import Found, entry_point_skills, load_path
from .models import SkillInfo
from .runner import DEFAULT_MAX_RESULT_CHARS, DEFAULT_TIMEOUT_S
from .schema import changed_fields, describe_diff, diff_parameters
from .spec import Skill


@dataclass
class RegisterResult:
    name: str
    version: int
    action: str  # inserted | new_version | updated (tags/examples only) | unchanged
    diff: dict | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "action": self.action, "diff": self.diff}


class SkillRegistry(CallsMixin, LearningMixin, CompositeMixin, LifecycleMixin):
    def __init__(self, engine: Engine, *, url: str | None, embedder=None, context: SkillContext | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S, max_result_chars: int = DEFAULT_MAX_RESULT_CHARS,
                 device: str | None = "auto"):
        self.engine = engine
        self.url = url
        self.context = context or SkillContext()
        self.timeout_s = timeout_s
        self.max_result_chars = max_result_chars
        self.device = device
        self._embedder = embedder
        self._live: dict[str, Skill] = {}
        self._index = None
        self._is_view = False
        self.home: Path | None = None

    def for_namespace(self, namespace: str) -> SkillRegistry:
        """The same registry (database, skills, executors) seen from another namespace: usage examples, the
        learned tasks search ranks over, and the memory tools are that namespace's. Closing it closes nothing."""
        view = copy.copy(self)
        view.context = dataclasses.replace(self.context, namespace=clean_namespace(namespace))
        view._index = None  # the search documents differ: that namespace's learned tasks
        view._is_view = True
        return view

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str | None = None, *, home: str | Path | None = None, embedder=None,
             builtins: bool = True, entry_points: bool = True, namespace: str = "default",
             workspace: str | Path | None = None, memory=None, **options) -> SkillRegistry:
        """Open the registry in the memory store's database (default: SQLite in AGENTCL_HOME)."""
        namespace = clean_namespace(namespace)  # before anything is opened: a bad one is a user error
        home_path = agentcl_home(home)
        resolved = database_url(url, home_path)
        engine = repo.open_engine(resolved)
        try:
            repo.migrate(engine)
        except Exception as exc:
            engine.dispose()
            raise UserError(f"cannot open skill registry in {redact_url(resolved)}: {exc.__class__.__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''}") from None

        def open_memory():
            from memory_store import MemoryStore

            return MemoryStore.open(resolved, home=home_path, embedder=embedder)

        context = SkillContext(namespace=namespace, workspace=Path(workspace) if workspace else home_path / "workspace",
                               memory_opener=(lambda: memory) if memory is not None else open_memory)
        registry = cls(engine, url=resolved, embedder=embedder, context=context, **options)
        registry.home = home_path  # a worker running a file skill that wants context opens the store here
        registry._discover(builtins=builtins, entry_points=entry_points)
        return registry

    @classmethod
    def in_memory(cls, *, embedder=None, builtins: bool = False, entry_points: bool = False,
                  namespace: str = "default", workspace: str | Path | None = None, memory=None,
                  **options) -> SkillRegistry:
        """A registry in a private in-memory SQLite database (tests, benchmarks, throwaway agents)."""
        namespace = clean_namespace(namespace)
        engine = repo.open_engine(None)
        repo.migrate(engine)
        context = SkillContext(namespace=namespace, workspace=Path(workspace) if workspace else None,
                               memory_opener=(lambda: memory) if memory is not None else None)
        registry = cls(engine, url=None, embedder=embedder, context=context, **options)
        registry._discover(builtins=builtins, entry_points=entry_points)
        return registry

    def _discover(self, *, builtins: bool, entry_points: bool) -> list[str]:
        """Register built-ins and plug-ins, except those removed (tombstoned); the names registered."""
        self._discovery = (builtins, entry_points)
        with self.engine.connect() as conn:
            removed = {(r["name"], r["origin"]) for r in repo.tombstones(conn)}
        names: list[str] = []
        if builtins:
            from .builtins import builtin_skills

            kept = [s for s in builtin_skills() if (s.name, "builtin") not in removed]
            self.register_many(kept, origin="builtin")
            names += [s.name for s in kept]
        if entry_points:
            for found in entry_point_skills():
                if (found.skill.name, found.origin) in removed:
                    continue
                try:
                    self.register_many([found.skill], origin=found.origin)
                except UserError as exc:  # a plug-in clashing with a known name must not stop the agent
                    import logging

                    logging.getLogger("skills").warning("skill plug-in %s skipped: %s", found.origin, exc)
                    continue
                names.append(found.skill.name)
        return names

    def close(self) -> None:
        if not self._is_view:
            self.engine.dispose()

    def __enter__(self) -> SkillRegistry:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def embedder(self):
        if self._embedder is None:
            from memory_store.embedding import get_default_embedder

            self._embedder = get_default_embedder(self.device)
        return self._embedder

    # -- registering -------------------------------------------------------------------------
    def register(self, obj: Any, *, origin: str = "api") -> RegisterResult:
        """Register a @skill function or a Skill. Same name and origin with a change -> a new version."""
        found = as_skill(obj)
        if found is None:
            raise InvalidInputError(f"{obj!r} is not a skill (decorate it with @skill or build a Skill)")
        return self.register_many([found], origin=origin)[0]

    def register_spec(self, spec: dict, executor: Callable | None = None, *, origin: str = "api",
                      http: dict | None = None, **kwargs) -> RegisterResult:
        """Register a tool from its JSON function spec, with a Python executor or an HTTP endpoint."""
        from .spec import skill_from_spec

        if http is not None:
            executor = HttpExecutor.from_definition(http)
            kwargs.setdefault("kind", "http")
            kwargs["definition"] = {"http": executor.to_definition()}
        return self.register_many([skill_from_spec(spec, executor, **kwargs)], origin=origin)[0]

    def add_path(self, path: str | Path) -> list[RegisterResult]:
        """Register every skill of a .py/.json file or a directory of them (all or nothing)."""
        found = load_path(path)
        return self._register_found(found)

    def _register_found(self, found: list[Found]) -> list[RegisterResult]:
        return self.register_many([f.skill for f in found], origin=[f.origin for f in found])

    def register_many(self, skills: Iterable[Skill], *, origin: str | list[str] = "api",
                      status: str = "active") -> list[RegisterResult]:
        """One transaction: validated first, so a duplicate anywhere leaves the registry unchanged."""
        skills = list(skills)
        origins = origin if isinstance(origin, list) else [origin] * len(skills)
        names = [s.name for s in skills]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidInputError(f"duplicate skill name: {', '.join(dupes)}")
        results = []
        with repo.transaction(self.engine) as conn:
            existing = {s.name: s for s in repo.load_all(conn, names=names)}
            for skill, src in zip(skills, origins):
                old = existing.get(skill.name)
                if old is not None and old.origin != src:
                    raise InvalidInputError(f"duplicate skill name {skill.name!r}: already registered from "
                                            f"{old.origin}; remove it first or choose another name")
            for skill, src in zip(skills, origins):
                results.append(self._write_version(conn, skill, src, existing.get(skill.name), status))
        for skill in skills:
            if skill.executor is not None:
                self._live[skill.name] = skill
        return results

    def _write_version(self, conn, skill: Skill, origin: str, old: SkillInfo | None, status: str) -> RegisterResult:
        fields = dict(label=skill.version, description=skill.description, parameters=skill.parameters,
                      tags=skill.tags, examples=skill.examples, kind=skill.kind, definition=skill.definition,
                      fingerprint=skill.fingerprint())
        if old is None:
            skill_id = repo.insert_skill(conn, name=skill.name, origin=origin, kind=skill.kind, status=status)
            repo.insert_version(conn, skill_id=skill_id, version=1, diff=None, **fields)
            return RegisterResult(skill.name, 1, "inserted")
        current = old.current
        if current.fingerprint == fields["fingerprint"]:
            if (current.tags, current.examples) != (skill.tags, skill.examples):
                # Tags and example tasks are metadata, not behaviour: refreshed in place, no new version.
                repo.update_version(conn, current.id, tags=skill.tags, examples=skill.examples)
                return RegisterResult(skill.name, current.version, "updated")
            return RegisterResult(skill.name, current.version, "unchanged")
        number = max(v.version for v in old.versions) + 1
        diff = diff_parameters(current.parameters, skill.parameters)
        diff["changed"] = changed_fields(
            {"parameters": current.parameters, "description": current.description, "label": current.label,
             "kind": current.kind, "definition": current.definition}, fields, fingerprint_changed=True)
        diff["text"] = describe_diff(diff)
        diff["from_version"] = current.version
        vid = repo.insert_version(conn, skill_id=old.id, version=number, diff=diff, **fields)
        for before, after in diff["renamed"].items():
            repo.add_note(conn, vid, f"parameter `{before}` became `{after}` in v{number}")
        if skill.kind == "composite":
            repo.update_skill(conn, old.id, status="candidate")
        return RegisterResult(skill.name, number, "new_version", diff)

    # -- reading -----------------------------------------------------------------------------
    def list(self, *, include_candidates: bool = True) -> list[SkillInfo]:
        with self.engine.connect() as conn:
            found = repo.load_all(conn)
        return [s for s in found if include_candidates or s.status == "active"]

    def find(self, name: str) -> SkillInfo | None:
        with self.engine.connect() as conn:
            found = repo.load_all(conn, name=name)
        return found[0] if found else None

    def get(self, name: str) -> SkillInfo:
        found = self.find(name)
        if found is None:
            raise NotFoundError(f"no skill named {name!r}{self._did_you_mean(name)}")
        return found

    def _did_you_mean(self, name: str) -> str:
        close = difflib.get_close_matches(name, [s.name for s in self.list()], n=3, cutoff=0.6)
        return f" (did you mean {', '.join(close)}?)" if close else ""


# Registry operations that only read or write SQL are re-run after a lost PostgreSQL connection while they
# committed nothing (memory_store.retry). Not `call` and composite replays: they run skills, which may act.
retry.wrap_public_methods(SkillRegistry, only=(
    "add_example", "add_note", "deprecate", "disable", "enable", "examples", "export_openai", "find", "get", "list",
    "record_call", "register", "register_many", "register_spec", "remove", "removed", "restore", "search", "search_many",
    "stats", "undeprecate", "usage"))
