"""The per-row attributes a search filters on (kind, status, expiry, time, alive), kept as columns over
positions, and the filters as boolean masks over them. The masks are what FAISS and BM25 apply during
their searches, so a filtered query still finds k rows when k exist."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .index_keys import KIND_CODES, STATUS_CODES

COLUMNS = {"keys": np.int64, "kind": np.int8, "status": np.int8, "expires": np.float64, "time": np.float64,
           "alive": np.bool_}
MASK_CACHE_SIZE = 16


@dataclass
class RowAttrs:
    status: str
    expires_at: float = math.inf  # epoch seconds
    time: float = 0.0  # epoch seconds: a note's occurred_at / a fact's valid_from


class RowColumns:
    """Columns in arrays that grow by doubling (an insert must not copy a large index); `keys`, `kind`,
    ... are views of the first `size` entries."""

    def __init__(self, arrays: dict[str, np.ndarray] | None = None):
        if arrays is None:
            self._cols = {name: np.zeros(0, dtype=dtype) for name, dtype in COLUMNS.items()}
            self.size = 0
        else:
            self._cols = {name: np.array(arrays[name], dtype=dtype) for name, dtype in COLUMNS.items()}
            self.size = len(self._cols["keys"])

    keys = property(lambda self: self._cols["keys"][:self.size])
    kind = property(lambda self: self._cols["kind"][:self.size])
    status = property(lambda self: self._cols["status"][:self.size])
    expires = property(lambda self: self._cols["expires"][:self.size])
    time = property(lambda self: self._cols["time"][:self.size])
    alive = property(lambda self: self._cols["alive"][:self.size])

    def append(self, keys: list[int], attrs: list[RowAttrs]) -> None:
        new_keys = np.asarray(keys, dtype=np.int64)
        values = {"keys": new_keys, "kind": (new_keys % 2).astype(np.int8),
                  "status": np.asarray([STATUS_CODES[a.status] for a in attrs], dtype=np.int8),
                  "expires": np.asarray([a.expires_at for a in attrs], dtype=np.float64),
                  "time": np.asarray([a.time for a in attrs], dtype=np.float64),
                  "alive": np.ones(len(keys), dtype=bool)}
        need = self.size + len(new_keys)
        capacity = len(self._cols["keys"])
        if need > capacity:
            capacity = max(need, 2 * capacity, 1024)
            for name, old in list(self._cols.items()):
                grown = np.zeros(capacity, dtype=old.dtype)
                grown[:self.size] = old[:self.size]
                self._cols[name] = grown
        for name, column in values.items():
            self._cols[name][self.size:need] = column
        self.size = need

    def set(self, pos: int, attrs: RowAttrs) -> None:
        self.status[pos] = STATUS_CODES[attrs.status]
        self.expires[pos] = attrs.expires_at
        self.time[pos] = attrs.time

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in COLUMNS}


def filter_mask(cols: RowColumns, *, kinds: tuple[str, ...], statuses: tuple[str, ...], now: float,
                include_expired: bool, since: float | None = None, until: float | None = None,
                allowed_keys: set[int] | None = None) -> np.ndarray:
    """The rows the filters allow (scheduled facts not yet taken out: see scheduled_mask)."""
    # code -> allowed lookup tables: one gather per attribute instead of np.isin's sort
    status_ok = np.zeros(len(STATUS_CODES), dtype=bool)
    status_ok[[STATUS_CODES[s] for s in statuses]] = True
    keep = cols.alive & status_ok[cols.status]
    if "expired" in statuses and "active" not in statuses:  # lapsed rows are expired, unwritten
        keep |= cols.alive & (cols.status == STATUS_CODES["active"]) & (cols.expires <= now)
    if len(kinds) < len(KIND_CODES):
        kind_ok = np.zeros(len(KIND_CODES), dtype=bool)
        kind_ok[[KIND_CODES[k] for k in kinds]] = True
        keep &= kind_ok[cols.kind]
    if not include_expired:
        keep &= cols.expires > now
    if since is not None:
        keep &= cols.time >= since
    if until is not None:
        keep &= cols.time <= until
    if allowed_keys is not None:
        keep &= np.isin(cols.keys, np.fromiter(allowed_keys, dtype=np.int64, count=len(allowed_keys)))
    return keep


def scheduled_mask(cols: RowColumns, now: float) -> np.ndarray:
    """Facts whose validity starts after `now` (a fact's time column is its valid_from)."""
    return (cols.kind == KIND_CODES["fact"]) & (cols.time > now)


class MaskCache:
    """Masks without an allowed-key set, kept until the rows change (generation), the first allowed row
    expires or the first scheduled fact starts."""

    def __init__(self):
        self._masks: dict[tuple, tuple[int, float, np.ndarray]] = {}

    def get(self, key: tuple, generation: int, now: float) -> np.ndarray | None:
        hit = self._masks.get(key)
        return hit[2] if hit is not None and hit[0] == generation and now < hit[1] else None

    def put(self, key: tuple, generation: int, valid_until: float, mask: np.ndarray) -> None:
        if len(self._masks) >= MASK_CACHE_SIZE:
            self._masks.clear()
        self._masks[key] = (generation, valid_until, mask)


def mask_valid_until(cols: RowColumns, keep: np.ndarray, scheduled: np.ndarray, *, now: float,
                     statuses: tuple[str, ...], include_expired: bool, include_scheduled: bool) -> float:
    """Until when a cached mask stays right without any write: the first allowed row's expiry and the
    first scheduled fact's start (or now, when which rows have lapsed is itself the filter)."""
    valid_until = math.inf if include_expired else float(np.min(cols.expires[keep], initial=math.inf))
    if "expired" in statuses and "active" not in statuses:
        valid_until = now  # which rows have lapsed changes with time: not cached
    if not include_scheduled:
        valid_until = min(valid_until, float(np.min(cols.time[scheduled], initial=math.inf)))
    return valid_until
