"""A skill's lifecycle in the registry: enable, disable, deprecate, remove and restore. Built-in and
plug-in skills are discovered again on every open, so removing one leaves a tombstone that discovery
skips until `restore`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from memory_store.errors import InvalidInputError, NotFoundError

from . import repo
from .loader import entry_point_skills
from .records import SkillInfo

if TYPE_CHECKING:
    from .catalog import Catalog
    from .registry_state import RegistryState


class Lifecycle:
    """enable, disable, deprecate, remove, restore: the registry's skills over their lives."""

    def __init__(self, state: RegistryState, catalog: Catalog):
        self.state = state
        self.catalog = catalog

    def remove(self, name: str) -> SkillInfo:
        """Delete a skill; refused while another skill points to it (as replacement or composite step).
        A built-in or plug-in skill stays removed (a tombstone discovery skips) until `restore`."""
        info = self.catalog.get(name)
        users = self._dependents(name)
        if users:
            raise InvalidInputError(f"cannot remove {name}: {'; '.join(users)} (change or remove those first)")
        with repo.transaction(self.state.engine) as conn:
            repo.delete_skill(conn, info.id)
            if repo.is_discovered(info.origin):
                repo.add_tombstone(conn, name, info.origin)
        self.state.live.pop(name, None)
        return info

    def removed(self) -> list[dict]:
        """Built-in and plug-in skills that stay removed: name, origin, removed_at."""
        with self.state.engine.connect() as conn:
            return repo.tombstones(conn)

    def restore(self, name: str) -> SkillInfo:
        """Undo the removal of a built-in or plug-in skill: it is discovered and registered again."""
        stones = [r for r in self.removed() if r["name"] == name]
        if not stones:
            raise NotFoundError(f"{name} is not a removed built-in or plug-in skill "
                                f"(`agentcl skills list --removed` shows those)")
        found = self.catalog.find(name)
        if found is not None:  # checked before anything changes: a refusal writes nothing
            raise InvalidInputError(f"{name} is now registered from {found.origin}; remove that one, then "
                                    f"restore {name} from {stones[0]['origin']}")
        origins = {r["origin"] for r in stones}
        if not any(name in _discoverable(origin) for origin in origins):
            raise NotFoundError(f"no built-in or installed plug-in provides {name} any more "
                                f"(removed from {', '.join(sorted(origins))})")
        with repo.transaction(self.state.engine) as conn:
            repo.drop_tombstones(conn, name)
        builtins, entry_points = self.state.discovery
        self.catalog.discover(builtins=builtins or "builtin" in origins,
                       entry_points=entry_points or any(o != "builtin" for o in origins))
        return self.catalog.get(name)

    def _dependents(self, name: str) -> list[str]:
        out = []
        for other in self.catalog.list():
            if other.name == name:
                continue
            if other.replacement == name:
                out.append(f"{other.name} is deprecated in favour of it")
            if other.kind == "composite" and any(step.get("skill") == name for step in
                                                 (other.current.definition or {}).get("steps", [])):
                out.append(f"composite {other.name} calls it")
        return out

    def enable(self, name: str) -> SkillInfo:
        return self._set(name, enabled=True)

    def disable(self, name: str) -> SkillInfo:
        return self._set(name, enabled=False)

    def deprecate(self, name: str, *, replacement: str | None = None) -> SkillInfo:
        if replacement is not None:
            if replacement == name:
                raise InvalidInputError("a skill cannot replace itself")
            self.catalog.get(replacement)
        return self._set(name, deprecated=True, replacement=replacement)

    def undeprecate(self, name: str) -> SkillInfo:
        return self._set(name, deprecated=False, replacement=None)

    def _set(self, name: str, **values) -> SkillInfo:
        info = self.catalog.get(name)
        with repo.transaction(self.state.engine) as conn:
            repo.update_skill(conn, info.id, **values)
        return self.catalog.get(name)


def _discoverable(origin: str) -> set[str]:
    """Names of the skills a built-in or plug-in origin provides now."""
    if origin == "builtin":
        from .builtins import builtin_skills

        return {s.name for s in builtin_skills()}
    return {f.skill.name for f in entry_point_skills() if f.origin == origin}

