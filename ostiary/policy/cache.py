"""A small LRU cache of compiled policy sets, keyed by (principal key, version).

Callers bump the version when the principal's policies change; a stale version is simply never
asked for again and ages out. `invalidate` drops entries at once (e.g. on a pg_notify).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ostiary.policy.compile import CompiledPolicy

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PolicySet:
    """What applies to one principal: identity policies (combined), boundary, SCPs."""

    identity: CompiledPolicy
    boundary: CompiledPolicy | None = None
    scps: Sequence[CompiledPolicy] | None = None


class PolicySetCache:
    """Thread-safe LRU of built values (usually PolicySet) by (principal key, version)."""

    def __init__(self, max_size: int = 10_000) -> None:
        self._entries: OrderedDict[tuple[Hashable, Hashable], object] = OrderedDict()
        self._max_size = max_size
        self._lock = threading.Lock()
        self.hits = 0  # lookups answered from the cache, and those that built: for metrics
        self.misses = 0

    def get(self, principal_key: Hashable, version: Hashable, build: Callable[[], T]) -> T:
        """The cached value for the key and version, building (outside the lock) when absent."""
        key = (principal_key, version)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]  # type: ignore[return-value]  # stored by this same call
        value = build()
        with self._lock:
            self.misses += 1
            self._entries[key] = value
            while len(self._entries) > self._max_size:
                self._entries.popitem(last=False)
        return value

    def invalidate(self, principal_key: Hashable | None = None) -> None:
        """Drop one principal's entries, or everything when no key is given."""
        with self._lock:
            if principal_key is None:
                self._entries.clear()
                return
            for key in [k for k in self._entries if k[0] == principal_key]:
                del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
