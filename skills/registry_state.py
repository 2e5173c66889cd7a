"""What the skill registry's services share, and nothing else: the database, the namespace context of this
registry (or view), the call limits and the executors that live in this process."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from .context import SkillContext
from .spec import Skill


@dataclass
class RegistryState:
    """One per registry. A namespace view (`SkillRegistry.for_namespace`) gets a copy with its own
    `context`; the engine, the live executors and a loaded embedder are shared with the registry it views."""

    engine: Engine
    url: str | None
    context: SkillContext
    timeout_s: float
    max_result_chars: int
    device: str | None = "auto"
    home: Path | None = None  # a worker running a file skill that wants context opens the store here
    live: dict[str, Skill] = field(default_factory=dict)  # executors registered in this process, by name
    discovery: tuple[bool, bool] = (True, True)  # (builtins, entry points) discovered when opened
    is_view: bool = False  # a view closes nothing
    loaded_embedder: Any = None

    @property
    def embedder(self):
        """The embedder given when opened, else the default one for `device` (loaded on first use)."""
        if self.loaded_embedder is None:
            from memory_store.embedding import get_default_embedder

            self.loaded_embedder = get_default_embedder(self.device)
        return self.loaded_embedder
