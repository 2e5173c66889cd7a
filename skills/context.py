"""What built-in skills may use: the agent's namespace, its workspace directory and its memory store.
Skills ask for it by having a parameter named `context`; it never appears in their schema."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class SkillContext:
    namespace: str = "default"
    workspace: Path | None = None
    memory_opener: Callable[[], Any] | None = None  # opens a MemoryStore on first use
    _memory: Any = field(default=None, repr=False)

    @property
    def memory(self):
        if self._memory is None:
            if self.memory_opener is None:
                raise RuntimeError("no memory store is attached to this registry")
            self._memory = self.memory_opener()
        return self._memory

    def workspace_dir(self) -> Path:
        if self.workspace is None:
            raise RuntimeError("no workspace directory is configured for file skills")
        path = Path(self.workspace).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        return path.resolve()
