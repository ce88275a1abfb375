"""Statements indexed by resource: a request looks only at those whose Resource could match its resource.

Each statement is filed under the literal prefix of each of its resource patterns (the text before
the first `*`, `?` or `${…}`), in a sorted table. A statement with a pattern that starts with a
wildcard or a variable, or with NotResource, is always looked at. Resource patterns match the
whole ARN, case-sensitively, with `*` free to cross `:` and `/`: a resource can match a pattern
only if it starts with the pattern's literal prefix, so the index never leaves out a statement
that could apply.

The table entries that are prefixes of a resource all lie on one chain: every such entry is a
prefix of the largest entry not above the resource (anything between a prefix of the resource and
the resource starts with that prefix). So `entry` bisects once, then walks up that entry's links
(each entry links to the longest other entry that is a prefix of it) to the first that is a
prefix of the resource; it and all above it are the resource's. The statements of a chain are
gathered once, on first use.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ostiary.policy.compile import CompiledStatement

ALWAYS = -1  # the entry of a resource no table entry is a prefix of: the always-looked-at statements only


def literal_prefixes(statement: CompiledStatement) -> tuple[str, ...] | None:
    """The literal prefixes of the statement's resource patterns; None when it must always be looked at."""
    if statement._is_not_resource:
        return None
    found = [_plain_prefix(pattern) for pattern in statement.resource_patterns]
    found += [prefix for prefix, _ in statement._templates]
    if not found or not all(found):
        return None
    return tuple(dict.fromkeys(found))


def _plain_prefix(pattern: str) -> str:
    """The pattern's text before its first wildcard."""
    cut = min((i for i in (pattern.find("*"), pattern.find("?")) if i >= 0), default=len(pattern))
    return pattern[:cut]


class ResourceIndex:
    """A list of statements by the literal prefixes of their resource patterns (positions in the list)."""

    __slots__ = ("size", "_prefixes", "_links", "_own", "_always", "_chains")

    def __init__(self, statements: Sequence[CompiledStatement]) -> None:
        filed: dict[str, list[int]] = {}
        always: list[int] = []
        for position, statement in enumerate(statements):
            prefixes = literal_prefixes(statement)
            if prefixes is None:
                always.append(position)
                continue
            for prefix in prefixes:
                filed.setdefault(prefix, []).append(position)
        self.size = len(statements)
        self._prefixes = sorted(filed)
        self._own = [filed[prefix] for prefix in self._prefixes]
        self._links = _links(self._prefixes)
        self._always = tuple(always)
        self._chains: dict[int, tuple[int, ...]] = {}

    @property
    def entries(self) -> int:
        """How many distinct prefixes the table holds."""
        return len(self._prefixes)

    def entry(self, resource: str) -> int:
        """The table entry of the resource's longest prefix, or ALWAYS when none is."""
        prefixes, links = self._prefixes, self._links
        at = bisect_right(prefixes, resource) - 1
        while at >= 0 and not resource.startswith(prefixes[at]):
            at = links[at]
        return at

    def positions(self, entry: int) -> tuple[int, ...]:
        """The positions (ascending) of the statements a resource of this entry could match."""
        found = self._chains.get(entry)
        if found is None:
            gathered = set(self._always)
            at = entry
            while at >= 0:
                gathered.update(self._own[at])
                at = self._links[at]
            found = self._chains[entry] = tuple(sorted(gathered))
        return found

    def select(self, resource: str) -> tuple[int, ...]:
        """The positions (ascending) of the statements whose resource patterns could match the resource."""
        return self.positions(self.entry(resource))


def _links(prefixes: list[str]) -> list[int]:
    """For each sorted prefix, the index of the longest other prefix of it in the list, or -1."""
    links: list[int] = []
    stack: list[int] = []  # the chain of prefixes of the entry before, longest last
    for at, prefix in enumerate(prefixes):
        while stack and not prefix.startswith(prefixes[stack[-1]]):
            stack.pop()
        links.append(stack[-1] if stack else -1)
        stack.append(at)
    return links
