"""The neighbour graph of a namespace's notes: each note key -> the adjacent notes of its thread (a
conversation's previous and next message), which ranking lets lend each other a share of their score."""
from __future__ import annotations

from collections.abc import Iterable


class ThreadLinks:
    def __init__(self):
        self.neighbours: dict[int, list[int]] = {}

    def link(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Record (previous, next) pairs of adjacent notes, both ways."""
        for before, after in pairs:
            self.neighbours.setdefault(before, []).append(after)
            self.neighbours.setdefault(after, []).append(before)

    def remove(self, key: int) -> None:
        for other in self.neighbours.pop(key, []):
            if key in self.neighbours.get(other, ()):
                self.neighbours[other].remove(key)
