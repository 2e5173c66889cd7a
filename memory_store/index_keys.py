"""Row keys of a namespace's search cache: facts and notes share one int64 id space (pure)."""
from __future__ import annotations

KIND_CODES = {"fact": 0, "note": 1}
STATUS_CODES = {"active": 0, "superseded": 1, "expired": 2, "retracted": 3}


def make_key(kind: str, row_id: int) -> int:
    """One id space for facts and notes inside a namespace index: even keys are facts, odd keys notes."""
    return row_id * 2 + KIND_CODES[kind]


def split_key(key: int) -> tuple[str, int]:
    """make_key's inverse: (kind, row id)."""
    return ("fact" if key % 2 == 0 else "note"), key // 2
