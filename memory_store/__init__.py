"""Versioned memory: structured facts in SQL (validity windows, expiry, conflict resolution) and
free-text notes searched through FAISS + BM25. Usable alone as a library.

The names below are imported on first use (PEP 562), so `from memory_store.errors import ...` or
`memory_store.record_types` does not pull in SQLAlchemy: a CLI talking to a server starts in a fraction of the time."""
from __future__ import annotations

import importlib

_EXPORTS = {
    "MemoryStore": "store", "Fact": "record_types", "Note": "record_types", "SearchResult": "record_types",
    "VersionRecord": "record_types", "WriteResult": "record_types", "PredicatePolicy": "rules", "FactInput": "facts", "NoteInput": "notes",
    "validate_fact_input": "facts", "validate_note_input": "notes", "UserError": "errors",
    "NotFoundError": "errors", "InvalidInputError": "errors", "DamagedFileError": "errors",
    # the two rules every layer shares: how names are compared, and which value of a slot is current
    "normalize_name": "normalize", "current_value": "rules", "current_rank": "rules",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    try:  # a submodule reached as an attribute (memory_store.db after `import memory_store`)
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise  # the submodule exists but needs something missing
        raise AttributeError(f"module 'memory_store' has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
