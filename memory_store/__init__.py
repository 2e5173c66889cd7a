"""Versioned memory: structured facts in SQL (validity windows, expiry, conflict resolution) and
free-text notes searched through FAISS + BM25. Usable alone as a library."""
from .errors import InvalidInputError, NotFoundError, UserError
from .facts import FactInput, validate_fact_input
from .models import Fact, Note, SearchResult, VersionRecord, WriteResult
from .notes import NoteInput, validate_note_input
from .rules import PredicatePolicy
from .store import MemoryStore

__all__ = [
    "MemoryStore", "Fact", "Note", "SearchResult", "VersionRecord", "WriteResult", "PredicatePolicy",
    "FactInput", "NoteInput", "validate_fact_input", "validate_note_input",
    "UserError", "NotFoundError", "InvalidInputError",
]
