"""Reads the gateway's hot path may take from memory: each kept at most `ttl` seconds (what another node
changed reaches this one within that time) and dropped at once by a change this process made."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Recent(Generic[T]):
    """Found values by key, each with the change count and the time it was read at."""

    def __init__(self, ttl: float, size: int = 10_000) -> None:
        self.ttl = ttl
        self._size = size
        self._changes = 0
        self._found: dict[Hashable, tuple[T, int, float]] = {}

    def changed(self) -> None:
        """Something a kept value was read from changed here: none is used again."""
        self._changes += 1

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The value kept for `key` when read less than `ttl` seconds ago and since the last change, else
        `load()`'s (kept; every value dropped once `size` are kept)."""
        hit = self._found.get(key)
        clock = time.monotonic()
        if hit is not None and hit[1] == self._changes and clock - hit[2] < self.ttl:
            return hit[0]
        changes = self._changes  # a change while loading: what was loaded is not used after it
        found = load()
        if len(self._found) >= self._size:
            self._found.clear()
        self._found[key] = (found, changes, clock)
        return found
