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
SLICES_LIMIT = 4096  # the slices a policy keeps over all its actions; past it, all are dropped
NOT_BUILT = object()


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


class Budget:
    """The slices one policy keeps, over all its actions (`owners`): past SLICES_LIMIT, all are dropped.

    Each slice can hold a generated function with its own memos: a bound per action alone would
    let requests on many actions and resources grow a policy's memory without end.
    """

    __slots__ = ("_left", "_owners")

    def __init__(self, owners: dict[str, Sliced]) -> None:
        self._left = SLICES_LIMIT
        self._owners = owners

    def spend(self) -> None:
        """Count one new slice; past the limit, drop every owner's slices and start again."""
        self._left -= 1
        if self._left < 0:
            for owner in list(self._owners.values()):
                owner.drop()
            self._left = SLICES_LIMIT


class Sliced:
    """An action's candidate statements by resource: one Slice for all, or a Slice per index entry."""

    __slots__ = ("whole", "index", "_slices", "_budget")

    def __init__(self, whole: Slice, budget: Budget) -> None:
        self.whole = whole
        self.index = ResourceIndex(whole.statements) if len(whole.statements) > INDEX_AT else None
        self._slices: dict[Key, Slice] = {}
        self._budget = budget

    @property
    def kept(self) -> int:
        """How many slices by resource it holds now."""
        return len(self._slices)

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
            self._budget.spend()
            self._slices[entry] = found
        return found

    def drop(self) -> None:
        """Forget the slices by resource (they are built again on use)."""
        self._slices.clear()
