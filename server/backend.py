"""What the server holds warm: one MemoryStore (embedder + search caches) and one SkillRegistry over the same
database, with per-namespace registry views. Calls run one at a time on a worker thread: the search cache
is not safe to mutate from two threads, SQL serialises writers anyway, and the event loop stays free to
accept requests, log, and shut down."""
from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio

log = logging.getLogger("agentcl.server")
T = TypeVar("T")
MAX_REGISTRY_VIEWS = 256  # namespaces whose skill-search index is kept; older ones are rebuilt on use


@dataclass(frozen=True)
class ServerConfig:
    db: str | None = None
    home: str | None = None
    device: str = "auto"
    max_body_bytes: int = 8 * 1024 * 1024
    max_results: int = 1000  # rows in one list response
    skills: bool = True


class Backend:
    def __init__(self, config: ServerConfig):
        self.config = config
        self.store = None
        self.registry = None
        self._views: OrderedDict[str, Any] = OrderedDict()
        self._lock = anyio.Lock()
        from server.jobs import Jobs

        self.jobs = Jobs()

    # -- lifecycle (called from the app's lifespan) --------------------------------------------
    def open(self) -> None:
        from memory_store import MemoryStore

        self.store = MemoryStore.open(self.config.db, home=self.config.home, device=self.config.device,
                                      actor="server")
        self.store.embedder.encode(["warm up"])  # load the model now, not in the first request
        if self.config.skills:
            from skills import SkillRegistry

            self.registry = SkillRegistry.open(self.store.url, home=self.store.home, embedder=self.store.embedder,
                                               memory=self.store)

    def close(self) -> None:
        """Save the search caches and release the database (after in-flight calls have finished)."""
        if self.registry is not None:
            self.registry.close()
        if self.store is not None:
            self.store.close()
            log.info("search caches saved; database closed")

    async def drain_and_close(self) -> None:
        """Wait for the call in progress (if any), then close: no write is cut short."""
        async with self._lock:
            self.close()

    @property
    def home(self) -> Path:
        return self.store.home

    # -- running calls -------------------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Run a blocking store/registry call on a worker thread, one at a time."""
        async with self._lock:
            return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))

    def skills(self, namespace: str):
        """The registry seen from `namespace` (its learned usage examples and memory tools)."""
        from memory_store.errors import UserError

        if self.registry is None:
            raise UserError("skills are not served by this server")
        view = self._views.get(namespace)
        if view is None:
            view = self._views[namespace] = self.registry.for_namespace(namespace)
            while len(self._views) > MAX_REGISTRY_VIEWS:
                self._views.popitem(last=False)
        self._views.move_to_end(namespace)
        return view
