"""JSON text to a tree of nodes that remember where they sit, for findings that point at their source.

Access Analyzer locates each finding by a path (`{"value": key}` / `{"index": n}` steps) and a span
of the text: line (1-based), column (0-based) and offset (0-based) of its start and end. The standard
library's decoder keeps no positions, so this scanner walks the text itself; strings go through the
C `scanstring` for speed. Nesting is bounded so hostile input is refused as a syntax error, never a
RecursionError.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from json.decoder import scanstring  # type: ignore[attr-defined]  # public in CPython, untyped in typeshed
from typing import Any

MAX_DEPTH = 64
_WS = " \t\n\r"
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LITERALS = (("true", True), ("false", False), ("null", None))


class JsonSyntaxError(ValueError):
    """The text is not JSON; `offset` is where the scanner gave up."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"JSON syntax error at offset {offset}")
        self.offset = offset


@dataclass(slots=True)
class Node:
    """One JSON value: its kind, its Python value (scalars), members or items, and its span."""

    kind: str  # object, array, string, number, boolean, null
    start: int
    end: int
    value: Any = None
    members: list[tuple[str, Node, Node]] = field(default_factory=list)  # object: (key, key node, value)
    items: list[Node] = field(default_factory=list)

    def get(self, key: str) -> Node | None:
        """The value of the first member named `key` (objects only)."""
        for name, _, value in self.members:
            if name == key:
                return value
        return None

    def plain(self) -> Any:
        """The node as plain Python data (duplicate keys: the last wins, as `json.loads` does)."""
        if self.kind == "object":
            return {name: value.plain() for name, _, value in self.members}
        if self.kind == "array":
            return [item.plain() for item in self.items]
        return self.value


class LineIndex:
    """Offsets to (line, column) by binary search over the line starts."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def position(self, offset: int) -> tuple[int, int]:
        """The 1-based line and 0-based column of an offset."""
        line = bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1]


def parse(text: str) -> Node:
    """The document's root node; raise JsonSyntaxError at the first offset that is not JSON."""
    scanner = _Scanner(text)
    index = scanner.skip(0)
    node = scanner.value(index, 0)
    end = scanner.skip(node.end)
    if end != len(text):
        raise JsonSyntaxError(end)
    return node


class _Scanner:
    """A recursive-descent reader over one text, depth-bounded."""

    def __init__(self, text: str) -> None:
        self.text = text

    def skip(self, index: int) -> int:
        """The index of the next non-blank character."""
        text = self.text
        while index < len(text) and text[index] in _WS:
            index += 1
        return index

    def value(self, index: int, depth: int) -> Node:
        """The value starting at `index`."""
        text = self.text
        if index >= len(text):
            raise JsonSyntaxError(index)
        char = text[index]
        if char == "{":
            return self.object(index, depth + 1)
        if char == "[":
            return self.array(index, depth + 1)
        if char == '"':
            return self.string(index)
        for word, literal in _LITERALS:
            if text.startswith(word, index):
                kind = "null" if literal is None else "boolean"
                return Node(kind, index, index + len(word), literal)
        match = _NUMBER.match(text, index)
        if match:
            number = match.group()
            parsed: float | int = float(number) if any(c in number for c in ".eE") else int(number)
            return Node("number", index, match.end(), parsed)
        raise JsonSyntaxError(index)

    def string(self, index: int) -> Node:
        """A string token starting at the quote at `index`."""
        try:
            value, end = scanstring(self.text, index + 1, True)
        except ValueError as error:
            raise JsonSyntaxError(getattr(error, "pos", index)) from None
        return Node("string", index, end, value)

    def object(self, start: int, depth: int) -> Node:
        """An object starting at the brace at `start`."""
        if depth > MAX_DEPTH:
            raise JsonSyntaxError(start)
        node = Node("object", start, start)
        text = self.text
        index = self.skip(start + 1)
        if index < len(text) and text[index] == "}":
            node.end = index + 1
            return node
        while True:
            if index >= len(text) or text[index] != '"':
                raise JsonSyntaxError(index)
            key = self.string(index)
            index = self.skip(key.end)
            if index >= len(text) or text[index] != ":":
                raise JsonSyntaxError(index)
            value = self.value(self.skip(index + 1), depth)
            node.members.append((key.value, key, value))
            index = self.skip(value.end)
            if index < len(text) and text[index] == ",":
                index = self.skip(index + 1)
                continue
            if index < len(text) and text[index] == "}":
                node.end = index + 1
                return node
            raise JsonSyntaxError(index)

    def array(self, start: int, depth: int) -> Node:
        """An array starting at the bracket at `start`."""
        if depth > MAX_DEPTH:
            raise JsonSyntaxError(start)
        node = Node("array", start, start)
        text = self.text
        index = self.skip(start + 1)
        if index < len(text) and text[index] == "]":
            node.end = index + 1
            return node
        while True:
            item = self.value(index, depth)
            node.items.append(item)
            index = self.skip(item.end)
            if index < len(text) and text[index] == ",":
                index = self.skip(index + 1)
                continue
            if index < len(text) and text[index] == "]":
                node.end = index + 1
                return node
            raise JsonSyntaxError(index)
