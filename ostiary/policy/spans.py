"""Where each statement sits in the document text, for decisions that point at their source."""

from __future__ import annotations

import json
from json.decoder import scanstring  # type: ignore[attr-defined]  # public in CPython, untyped in typeshed

from ostiary.policy.model import Position

_WS = " \t\n\r"


def statement_spans(text: str) -> list[tuple[Position | None, Position | None]]:
    """Start and end of each element of the top-level Statement (one span if it is an object)."""
    try:
        offsets = _offsets(text)
    except (ValueError, IndexError, RecursionError):
        return []
    return [(position(text, start), position(text, end)) for start, end in offsets]


def position(text: str, offset: int) -> Position:
    """The 1-based line and column of an offset."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Position(line, column, offset)


def _skip(text: str, index: int) -> int:
    """The index of the next non-blank character."""
    while index < len(text) and text[index] in _WS:
        index += 1
    return index


def _offsets(text: str) -> list[tuple[int, int]]:
    """Offsets of the statements, from a walk over the top-level object's members."""
    decoder = json.JSONDecoder()
    index = _skip(text, 0)
    if text[index] != "{":
        return []
    index = _skip(text, index + 1)
    found: list[tuple[int, int]] = []
    while text[index] == '"':
        key, index = scanstring(text, index + 1)
        index = _skip(text, _skip(text, index) + 1)
        start = index
        _, end = decoder.raw_decode(text, start)
        if key == "Statement":
            found = _elements(text, start, decoder) if text[start] == "[" else [(start, end)]
        index = _skip(text, end)
        if text[index] == ",":
            index = _skip(text, index + 1)
    return found


def _elements(text: str, start: int, decoder: json.JSONDecoder) -> list[tuple[int, int]]:
    """Offsets of each element of the array starting at `start`."""
    found: list[tuple[int, int]] = []
    index = _skip(text, start + 1)
    while text[index] != "]":
        _, end = decoder.raw_decode(text, index)
        found.append((index, end))
        index = _skip(text, end)
        if text[index] == ",":
            index = _skip(text, index + 1)
    return found
