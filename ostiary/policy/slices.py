"""An action's candidate statements by resource: the Slice a request on a resource runs.

`Sliced` holds one action's candidates (in a policy's order); past INDEX_AT of them it indexes them
by resource (`resource_index`) and answers, for a resource, the Slice of the candidates whose
Resource could match it, in the same order. Each Slice builds its plan, its fused function and
(for the identity-only path) its generated function on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ostiary.policy.plan import Fused, Plan, fuse
from ostiary.policy.resource_index import Key, ResourceIndex

if TYPE_CHECKING:
    from ostiary.policy.compile import CompiledStatement

INDEX_AT = 16  # an action with more candidate statements than this is indexed by resource too
NOT_BUILT = object()
_MEMO_LIMIT = 4096


class Slice:
    """An action's candidate statements that a request on some resources could match, in order.

    `key` names the slice within its policy and action: None for all the candidates, else the
    resource index's lookup. `inlined` is the identity-only path's generated function (NOT_BUILT
    until it asks).
    """

    __slots__ = ("key", "statements", "_plan", "_fused", "inlined")

    def __init__(self, key: Key | None, statements: tuple[CompiledStatement, ...], plan: Plan | None = None):
        self.key = key
        self.statements = statements
        self._plan = plan
        self._fused: Fused | None = None
        self.inlined: object = NOT_BUILT

    @property
    def plan(self) -> Plan:
        """(is Deny, MatchedStatement, run) of each statement, built on first use."""
        found = self._plan
        if found is None:
            found = self._plan = tuple((s.is_deny, s.matched, s.runner()) for s in self.statements)
        return found

    def fused(self) -> Fused:
        """The plan's statements fused into one function (`plan.fuse`), built on first use."""
        if self._fused is None:
            self._fused = fuse([run for _, _, run in self.plan])
        return self._fused


class Sliced:
    """An action's candidate statements by resource: one Slice for all, or a Slice per index entry."""

    __slots__ = ("whole", "index", "_slices")

    def __init__(self, whole: Slice) -> None:
        self.whole = whole
        self.index = ResourceIndex(whole.statements) if len(whole.statements) > INDEX_AT else None
        self._slices: dict[Key, Slice] = {}

    def get(self, resource: str) -> Slice:
        """The Slice of the candidates whose resource patterns could match the resource."""
        index = self.index
        if index is None:
            return self.whole
        entry = index.entry(resource)
        found = self._slices.get(entry)
        if found is None:
            statements = self.whole.statements
            found = Slice(entry, tuple(statements[i] for i in index.positions(entry)))
            if len(self._slices) >= _MEMO_LIMIT:
                self._slices.clear()
            self._slices[entry] = found
        return found
