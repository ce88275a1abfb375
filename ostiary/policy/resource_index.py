"""Statements indexed by resource: a request looks only at those whose Resource could match its resource.

Resource patterns match the whole ARN, case-sensitively, with `*` and `?` free to cross `:` and `/`,
and a variable's value taken as literal text. So every literal run of a pattern (text between
wildcards and variables) appears in any resource it matches, the first one at the start. Each
pattern is filed under one key in a sorted table:

- its literal prefix (the text before the first wildcard or variable), found at the resource's start;
- or, when that prefix stops before the ARN's account segment (`arn:aws:ec2:*:…`) and the action
  has many such patterns, the longest run after it from its first `:` on (`:123456789012:table/t`),
  found at one of the resource's colons (a second table, looked up at each colon past the
  shortest prefix of the patterns filed there: a run comes after its prefix).

A statement with NotResource, or with a pattern that has neither key (`*`), is always looked at.
The table entries that are prefixes of a text all lie on one chain: every such entry is a prefix
of the largest entry not above the text (anything between a prefix of the text and the text
starts with that prefix). So a lookup bisects once, then walks up that entry's links (each entry
links to the longest other entry that is a prefix of it) to the first that is a prefix of the
text; it and all above it are the text's. The statements of a lookup's entries are gathered once.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ostiary.policy.variables import Part

if TYPE_CHECKING:
    from ostiary.policy.compile import CompiledStatement

ALWAYS = -1  # the entry of a text no table entry is a prefix of
SEGMENT_AT = 16  # patterns with a short prefix that go to the colon table when there are more than this
_MEMO_LIMIT = 4096
_HEAD = 8  # the colon table's heads: the first characters of its texts, at most this many
_SHORT = 4  # a prefix with fewer colons stops before the account segment (in the region or sooner)
_WILDCARDS = re.compile(r"[*?]")
Key = int | tuple[int, tuple[int, ...]]  # a lookup's entries: the prefix table's (and the colon table's)
Keys = tuple[str, tuple[str, ...]]  # a pattern's literal prefix, and its runs after the prefix


def pattern_keys(statement: CompiledStatement) -> list[Keys] | None:
    """Each resource pattern's prefix and later literal runs; None for NotResource (remembered)."""
    remembered = statement.index_keys
    if remembered is None:
        remembered = statement.index_keys = (_pattern_keys(statement),)
    return remembered[0]  # type: ignore[return-value]


def _pattern_keys(statement: CompiledStatement) -> list[Keys] | None:
    """`pattern_keys`, worked out."""
    if statement._is_not_resource:
        return None
    found: list[Keys] = []
    for pattern in statement.resource_patterns:
        prefix, *runs = _WILDCARDS.split(pattern)
        found.append((prefix, tuple(runs)))
    for prefix, parts in statement._templates:
        found.append((prefix, _template_runs(parts)))
    return found


def _template_runs(parts: tuple[Part, ...]) -> tuple[str, ...]:
    """The literal runs of a template after its prefix: its texts split at wildcards (variables split too)."""
    runs: list[str] = []
    for at, part in enumerate(parts):
        if isinstance(part, str):
            pieces = _WILDCARDS.split(part)
            runs += pieces[1:] if at == 0 else pieces
    return tuple(runs)


def colon_key(runs: tuple[str, ...]) -> str:
    """The longest of the runs from its first colon on ("" when no run holds a colon and more)."""
    found = [run[run.index(":") :] for run in runs if ":" in run]
    return max((key for key in found if len(key) > 1), key=len, default="")


class _Table:
    """Sorted texts, each with the statements (positions) filed under it and a link to its longest prefix."""

    __slots__ = ("texts", "links", "own", "longest", "head_size", "heads")

    def __init__(self, filed: dict[str, list[int]]) -> None:
        self.texts = sorted(filed)
        self.own = [filed[text] for text in self.texts]
        self.links = _links(self.texts)
        self.longest = max(map(len, self.texts), default=0)
        # every text starts with one of the heads: a text that starts with none has no prefix here
        self.head_size = min(min(map(len, self.texts), default=0), _HEAD)
        self.heads = frozenset(text[: self.head_size] for text in self.texts)

    def entry(self, text: str) -> int:
        """The entry of the text's longest prefix in the table, or ALWAYS when none is."""
        texts, links = self.texts, self.links
        at = bisect_right(texts, text) - 1
        while at >= 0 and not text.startswith(texts[at]):
            at = links[at]
        return at

    def gather(self, entry: int, into: set[int]) -> None:
        """Add the statements of the entry and of every entry above it in its chain."""
        while entry >= 0:
            into.update(self.own[entry])
            entry = self.links[entry]


class ResourceIndex:
    """A list of statements by the literal keys of their resource patterns (positions in the list)."""

    __slots__ = ("_prefixes", "_colons", "_colons_from", "_always", "_chains")

    def __init__(self, statements: Sequence[CompiledStatement]) -> None:
        keyed = [pattern_keys(statement) for statement in statements]
        short = sum(
            1 for keys in keyed for prefix, runs in keys or () if _is_short(prefix) and colon_key(runs)
        )
        by_colon = short > SEGMENT_AT
        prefixes: dict[str, list[int]] = {}
        colons: dict[str, list[int]] = {}
        always: list[int] = []
        after = []  # the prefixes' lengths of the patterns in the colon table: their runs come later
        for position, keys in enumerate(keyed):
            filed = _filed(keys, by_colon)
            if filed is None:
                always.append(position)
                continue
            for is_colon, text, prefix in filed:
                (colons if is_colon else prefixes).setdefault(text, []).append(position)
                if is_colon:
                    after.append(len(prefix))
        self._prefixes = _Table(prefixes)
        self._colons = _Table(colons) if colons else None
        self._colons_from = min(after, default=0)
        self._always = tuple(always)
        self._chains: dict[Key, tuple[int, ...]] = {}

    @property
    def entries(self) -> int:
        """How many distinct keys the tables hold."""
        return len(self._prefixes.texts) + (len(self._colons.texts) if self._colons is not None else 0)

    def entry(self, resource: str) -> Key:
        """The lookup's entries for the resource: the prefix table's, or it and the colon table's found."""
        first = self._prefixes.entry(resource)
        colons = self._colons
        if colons is None:
            return first
        found: list[int] = []
        # a text is a prefix of the resource at a colon iff of its first `longest` characters there,
        # and only if they start with one of the texts' heads
        longest, heads, size = colons.longest, colons.heads, colons.head_size
        at = resource.find(":", self._colons_from)
        while at >= 0:
            if resource[at : at + size] in heads:
                entry = colons.entry(resource[at : at + longest])
                if entry >= 0 and entry not in found:
                    found.append(entry)
            at = resource.find(":", at + 1)
        return first, tuple(found)

    def positions(self, key: Key) -> tuple[int, ...]:
        """The positions (ascending) of the statements a resource of this lookup could match."""
        found = self._chains.get(key)
        if found is None:
            gathered = set(self._always)
            if isinstance(key, int):
                self._prefixes.gather(key, gathered)
            else:
                first, found_colons = key
                self._prefixes.gather(first, gathered)
                for entry in found_colons:
                    self._colons.gather(entry, gathered)  # type: ignore[union-attr]
            found = tuple(sorted(gathered))
            if len(self._chains) >= _MEMO_LIMIT:
                self._chains.clear()
            self._chains[key] = found
        return found

    def select(self, resource: str) -> tuple[int, ...]:
        """The positions (ascending) of the statements whose resource patterns could match the resource."""
        return self.positions(self.entry(resource))


def _is_short(prefix: str) -> bool:
    """Whether the prefix stops before the ARN's account segment (`arn:aws:ec2:`, `arn:aws:ec2:us-`)."""
    return prefix.count(":") < _SHORT


def _filed(keys: list[Keys] | None, by_colon: bool) -> list[tuple[bool, str, str]] | None:
    """(in the colon table, key, prefix) of each pattern; None when one has no key (always looked at)."""
    if keys is None:
        return None
    filed: list[tuple[bool, str, str]] = []
    for prefix, runs in keys:
        colon = colon_key(runs) if by_colon and _is_short(prefix) else ""
        if colon:
            filed.append((True, colon, prefix))
        elif prefix:
            filed.append((False, prefix, prefix))
        else:
            return None
    return filed


def _links(texts: list[str]) -> list[int]:
    """For each sorted text, the index of the longest other text in the list that is a prefix of it, or -1."""
    links: list[int] = []
    stack: list[int] = []  # the chain of prefixes of the text before, longest last
    for at, text in enumerate(texts):
        while stack and not text.startswith(texts[stack[-1]]):
            stack.pop()
        links.append(stack[-1] if stack else -1)
        stack.append(at)
    return links
