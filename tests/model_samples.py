"""A sample value for any botocore shape that satisfies the shape's constraints.

The protocol round trips and the newer-client calls both fill every member of an input shape with it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from botocore.model import Shape

from ostiary.protocol.models import compile_pattern

PLAIN_STRINGS = (
    "abc",
    "/",
    "/division/abc/",
    "v1",
    "123456789012",
    "ABCDEFGHIJ",
    "arn:aws:iam::123456789012:policy/x",
    "http://example.com",
    "o-abcdefghij",
    "o-abcdefghij/r-abcd",
    "p-abcdefgh",
    "abcdefghij" * 4,
    "a1",
)


def sample_value(
    shape: Shape, *, strings: tuple[str, ...] = PLAIN_STRINGS, blob: bytes = b"blob", depth: int = 0
) -> Any:
    """A value of `shape` with every member filled (the first of a union's), within its constraints."""

    def inner(member: Shape) -> Any:
        return sample_value(member, strings=strings, blob=blob, depth=depth + 1)

    kind = shape.type_name
    if kind == "structure":
        members = list(shape.members.items())
        if shape.metadata.get("union"):
            members = members[:1]
        return {} if depth > 4 else {name: inner(member) for name, member in members}
    if kind == "list":
        return [inner(shape.member) for _ in range(max(1, min(2, shape.metadata.get("max", 2))))]
    if kind == "map":
        return {inner(shape.key): inner(shape.value)}
    if kind in ("integer", "long"):
        return min(max(shape.metadata.get("min", 3), 3), shape.metadata.get("max", 10**9))
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return datetime(2026, 11, 30, 2, 16, 43, tzinfo=UTC)
    if kind == "blob":
        return blob
    if kind in ("float", "double"):
        return 1.5
    return _string(shape, strings)


def _string(shape: Shape, strings: tuple[str, ...]) -> str:
    enum = getattr(shape, "enum", None)
    if enum:
        return str(enum[0])
    low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 10**6)
    pattern = shape.metadata.get("pattern")
    regex = compile_pattern(pattern) if pattern else re.compile(".*", re.S)
    for candidate in strings:
        for text in (candidate, candidate * 8, (candidate * 300)[:high]):
            if low <= len(text) <= high and regex.fullmatch(text):
                return text
    raise AssertionError(f"no sample for {shape.name} pattern {pattern!r} length {low}..{high}")
