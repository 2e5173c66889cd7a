"""The skills of a file or directory a user adds (`SkillRegistry.add_path`, `agentcl skills add`): JSON
specs are read here; Python files are imported in a worker process under a deadline (remote.py), never in
this one. Apart from loader.py, which the worker itself uses, so the two never import each other."""
from __future__ import annotations

from pathlib import Path

from memory_store.errors import InvalidInputError

from .loader import Found, load_json_file
from .remote import load_python_file_in_worker


def load_path(path: str | Path) -> list[Found]:
    """Skills of a file or of the *.py / *.json files of a directory (not recursive, `_private` skipped)."""
    root = Path(path).expanduser()
    if not root.exists():
        raise InvalidInputError(f"no such file or directory: {path}")
    root = root.resolve()
    files = sorted(p for p in root.iterdir() if p.suffix in (".py", ".json") and not p.name.startswith("_")) \
        if root.is_dir() else [root]
    found: list[Found] = []
    for file in files:
        if file.suffix == ".py":
            skills = load_python_file_in_worker(file)
        elif file.suffix == ".json":
            skills = load_json_file(file)
        else:
            raise InvalidInputError(f"{file}: skills come from .py or .json files")
        found.extend(Found(s, f"file:{file}") for s in skills)
    if not found:
        raise InvalidInputError(f"no skills found in {path} (decorate functions with @skill, or give JSON specs)")
    names = [f.skill.name for f in found]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidInputError(f"duplicate skill name in {path}: {', '.join(dupes)}")
    return found
