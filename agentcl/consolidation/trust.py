"""Which fact sources consolidation trusts without confirmation: a fact from one of them counts as
validated at once, any other needs `min_validations` confirmations. Kept per AGENTCL_HOME in
`consolidation.json` ({"trusted_sources": [...]}), set with `agentcl consolidate trust`, listed by
`agentcl consolidate status`, and read by every consolidation the CLI or the agent starts there."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from memory_store.errors import InvalidInputError, UserError

DEFAULT_TRUSTED_SOURCES = ("user", "trusted")
FILE_NAME = "consolidation.json"
_SOURCE = re.compile(r"^[A-Za-z0-9_.:@/-]{1,100}$")


def _path(home) -> Path:
    from memory_store.config import agentcl_home

    return agentcl_home(home) / FILE_NAME


def _read(home) -> dict:
    path = _path(home)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} is not readable JSON ({exc.__class__.__name__}); fix or delete it") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a JSON object")
    return data


def trusted_sources(home=None) -> tuple[str, ...]:
    """The trusted sources of this home (the defaults, user and trusted, until set)."""
    value = _read(home).get("trusted_sources")
    if value is None:
        return DEFAULT_TRUSTED_SOURCES
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{_path(home)}: trusted_sources must be a list of source names")
    return tuple(value)


def set_trusted_sources(home, sources: list[str] | None) -> tuple[str, ...]:
    """Replace the list (None: back to the defaults); returns what is trusted now."""
    data = _read(home)
    if sources is None:
        data.pop("trusted_sources", None)
    else:
        bad = [s for s in sources if not _SOURCE.match(s)]
        if bad:
            raise InvalidInputError(f"bad source name {bad[0]!r}: letters, digits and _.:@/- only, up to 100")
        data["trusted_sources"] = list(dict.fromkeys(sources))
    path = _path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)
    return trusted_sources(home)
