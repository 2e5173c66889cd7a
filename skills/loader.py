"""Finding skills: in a Python file, in a JSON spec file, and in installed plug-ins (the entry-point group
`agentcl.skills`). Loading fails as a whole with one line, before any write. `load_python_file` imports
in the calling process: only the worker process calls it (skills/worker.py); a path a user adds goes
through skill_files.py, which imports Python files in a worker under a deadline."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from memory_store.errors import InvalidInputError, UserError

from .decorator import as_skill
from .http import HttpExecutor
from .nesting import check_text
from .spec import Skill, skill_from_spec

log = logging.getLogger("skills")
ENTRY_POINT_GROUP = "agentcl.skills"


@dataclass
class Found:
    skill: Skill
    origin: str


def _collect(obj: Any) -> list[Skill]:
    """Skills in a module attribute or an entry-point target: a skill, a list of them, or a factory."""
    found = as_skill(obj)
    if found:
        return [found]
    if isinstance(obj, (list, tuple)):
        return [s for item in obj for s in _collect(item)]
    return []


def load_python_file(path: Path) -> list[Skill]:
    """Import a skill file in this process (the worker's side of load_python_file_in_worker)."""
    name = "agentcl_skillfile_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InvalidInputError(f"{path} is not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except UserError as exc:
        sys.modules.pop(name, None)
        raise InvalidInputError(f"{path}: {exc}") from None
    except BaseException as exc:  # whatever the file does wrong is the user's input error
        sys.modules.pop(name, None)
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise InvalidInputError(f"{path} does not import: {exc.__class__.__name__}: {first}") from None
    skills: dict[int, Skill] = {}  # by identity: a function both defined and listed in SKILLS counts once
    for attr, value in vars(module).items():
        if attr.startswith("__"):
            continue
        if attr == "SKILLS" or as_skill(value):
            skills.update((id(s), s) for s in _collect(value))
    return list(skills.values())


def skills_from_json(data: Any, where: str) -> list[Skill]:
    """One spec, a list of specs, or {"tools": [...]}; each may carry an "http" executor definition."""
    items = data.get("tools") if isinstance(data, dict) and "tools" in data else data
    items = items if isinstance(items, list) else [items]
    skills = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidInputError(f"{where}: item {i} is not a JSON object")
        http = item.get("http")
        executor = HttpExecutor.from_definition(http) if http is not None else None
        spec = {k: v for k, v in item.items() if k != "http"}
        skills.append(skill_from_spec(spec, executor, kind="http" if executor else "json",
                                      definition={"http": executor.to_definition()} if executor else None))
    return skills


def load_json_file(path: Path) -> list[Skill]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path} is not valid JSON: {exc}") from None
    check_text(text, str(path))  # before parsing: deep nesting ends the parser in RecursionError
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path} is not valid JSON: {exc}") from None
    return skills_from_json(data, str(path))


def entry_point_skills() -> list[Found]:
    """Skills of installed plug-ins. A plug-in that fails to load is logged and skipped, never fatal."""
    found: list[Found] = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        origin = f"entrypoint:{ep.dist.name if ep.dist else ep.value}"
        try:
            target = ep.load()
            if callable(target) and not as_skill(target):
                target = target()
            skills = _collect(target)
        except Exception as exc:
            log.warning("skill plug-in %s (%s) failed to load: %s", ep.name, ep.value, exc)
            continue
        found.extend(Found(s, origin) for s in skills)
    return found
