"""The registry's catalog: registering skills as versions, and reading them back (list, find, get).
Built-ins and plug-ins are discovered (registered again, except those removed) when a registry opens."""
from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memory_store.errors import InvalidInputError, NotFoundError, UserError

from . import repo
from .decorator import as_skill
from .http import HttpExecutor
from .loader import Found, entry_point_skills
from .param_schema import changed_fields, describe_diff, diff_parameters
from .records import SkillInfo
from .registry_state import RegistryState
from .skill_files import load_path
from .spec import Skill


@dataclass
class RegisterResult:
    name: str
    version: int
    action: str  # inserted | new_version | updated (tags/examples only) | unchanged
    diff: dict | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "action": self.action, "diff": self.diff}


class Catalog:
    """Registering (one transaction per batch, a changed skill becomes a new version) and reading skills."""

    def __init__(self, state: RegistryState):
        self.state = state

    def discover(self, *, builtins: bool, entry_points: bool) -> list[str]:
        """Register built-ins and plug-ins, except those removed (tombstoned); the names registered."""
        self.state.discovery = (builtins, entry_points)
        with self.state.engine.connect() as conn:
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
        with repo.transaction(self.state.engine) as conn:
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
                self.state.live[skill.name] = skill
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
        with self.state.engine.connect() as conn:
            found = repo.load_all(conn)
        return [s for s in found if include_candidates or s.status == "active"]

    def find(self, name: str) -> SkillInfo | None:
        with self.state.engine.connect() as conn:
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
