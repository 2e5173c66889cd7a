"""The skill registry: register skills (versioned), enable/disable/deprecate them, find and call them.

SQL (the memory store's database) holds skills, versions, stats, usage examples and notes; executors
live in the process (built-ins, plug-ins, files re-imported on demand, HTTP tools rebuilt from data).

`SkillRegistry` is a thin facade over small services with explicit dependencies, all sharing one
`RegistryState` (registry_state.py: engine, namespace context, call limits, live executors):

    Catalog (catalog.py)       register skills as versions; list, find, get; discover built-ins and plug-ins
    Lifecycle (lifecycle.py)   enable, disable, deprecate, remove, restore           (uses Catalog)
    Calls (calls.py)           call, record_call, stats                              (uses Catalog)
    Learning (learning.py)     examples, notes, usage, search, propose_args, export  (uses Catalog)
    Composites (composites.py) trace, propose, verify and mine composite skills      (uses Catalog, Calls)

Each public method below forwards to the service that owns it (same signature and docstring)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy.engine import Engine

from memory_store import retry
from memory_store.config import agentcl_home, database_url
from memory_store.db import redact_url
from memory_store.errors import UserError
from memory_store.facade import attribute_of, forward
from memory_store.normalize import clean_namespace

from . import repo
from .calls import Calls
from .catalog import Catalog, RegisterResult
from .composites import Composites
from .context import SkillContext
from .deadline import DEFAULT_MAX_RESULT_CHARS, DEFAULT_TIMEOUT_S
from .learning import Learning
from .lifecycle import Lifecycle
from .registry_state import RegistryState

__all__ = ["RegisterResult", "SkillRegistry"]


class SkillRegistry:
    def __init__(self, engine: Engine, *, url: str | None, embedder=None, context: SkillContext | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S, max_result_chars: int = DEFAULT_MAX_RESULT_CHARS,
                 device: str | None = "auto"):
        self._wire(RegistryState(engine, url, context or SkillContext(), timeout_s, max_result_chars,
                                 device=device, loaded_embedder=embedder))

    def _wire(self, state: RegistryState) -> None:
        self.state = state
        self.catalog = Catalog(state)
        self.lifecycle = Lifecycle(state, self.catalog)
        self.calls = Calls(state, self.catalog)
        self.learning = Learning(state, self.catalog)
        self.composites = Composites(state, self.catalog, self.calls)

    def for_namespace(self, namespace: str) -> SkillRegistry:
        """The same registry (database, skills, executors) seen from another namespace: usage examples, the
        learned tasks search ranks over, and the memory tools are that namespace's. Closing it closes nothing."""
        view = object.__new__(type(self))
        view._wire(dataclasses.replace(
            self.state, context=dataclasses.replace(self.state.context, namespace=clean_namespace(namespace)),
            is_view=True))  # its own services, so its own search index: that namespace's learned tasks
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
        registry.home = home_path
        registry.catalog.discover(builtins=builtins, entry_points=entry_points)
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
        registry.catalog.discover(builtins=builtins, entry_points=entry_points)
        return registry

    def close(self) -> None:
        if not self.state.is_view:
            self.state.engine.dispose()

    def __enter__(self) -> SkillRegistry:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the shared state --------------------------------------------------------------------
    engine = attribute_of("state", "engine")
    url = attribute_of("state", "url")
    context = attribute_of("state", "context")
    device = attribute_of("state", "device")
    embedder = attribute_of("state", "embedder")
    home = attribute_of("state", "home", settable=True)
    timeout_s = attribute_of("state", "timeout_s", settable=True)
    max_result_chars = attribute_of("state", "max_result_chars", settable=True)

    # -- registering and reading -------------------------------------------------------------
    register = forward("catalog", Catalog.register)
    register_spec = forward("catalog", Catalog.register_spec)
    add_path = forward("catalog", Catalog.add_path)
    register_many = forward("catalog", Catalog.register_many)
    list = forward("catalog", Catalog.list)
    find = forward("catalog", Catalog.find)
    get = forward("catalog", Catalog.get)

    # -- lifecycle ---------------------------------------------------------------------------
    remove = forward("lifecycle", Lifecycle.remove)
    removed = forward("lifecycle", Lifecycle.removed)
    restore = forward("lifecycle", Lifecycle.restore)
    enable = forward("lifecycle", Lifecycle.enable)
    disable = forward("lifecycle", Lifecycle.disable)
    deprecate = forward("lifecycle", Lifecycle.deprecate)
    undeprecate = forward("lifecycle", Lifecycle.undeprecate)

    # -- calling -----------------------------------------------------------------------------
    call = forward("calls", Calls.call)
    record_call = forward("calls", Calls.record_call)
    stats = forward("calls", Calls.stats)

    # -- learning from use -------------------------------------------------------------------
    add_example = forward("learning", Learning.add_example)
    examples = forward("learning", Learning.examples)
    add_note = forward("learning", Learning.add_note)
    usage = forward("learning", Learning.usage)
    search = forward("learning", Learning.search)
    search_many = forward("learning", Learning.search_many)
    propose_args = forward("learning", Learning.propose_args)
    export_openai = forward("learning", Learning.export_openai)

    # -- composite skills --------------------------------------------------------------------
    trace = forward("composites", Composites.trace)
    propose_composite = forward("composites", Composites.propose_composite)
    verify_composite = forward("composites", Composites.verify_composite)
    mine_composites = forward("composites", Composites.mine_composites)


# Registry operations that only read or write SQL are re-run after a lost PostgreSQL connection while they
# committed nothing (memory_store.retry). Not `call` and composite replays: they run skills, which may act.
retry.wrap_public_methods(SkillRegistry, only=(
    "add_example", "add_note", "deprecate", "disable", "enable", "examples", "export_openai", "find", "get", "list",
    "record_call", "register", "register_many", "register_spec", "remove", "removed", "restore", "search", "search_many",
    "stats", "undeprecate", "usage"))
