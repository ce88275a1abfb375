"""A sample value for any botocore shape that satisfies the shape's constraints: input for the round trips."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.model import Shape

from ostiary.protocol.models import compile_pattern

_CANDIDATES = (
    "abc",
    "a b&c<d>'e\"",
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


def sample_value(shape: Shape, depth: int = 0) -> Any:
    """A value of `shape` that the shape's constraints accept."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 4:
            return {}
        return {name: sample_value(member, depth + 1) for name, member in shape.members.items()}
    if kind == "list":
        count = max(1, min(2, shape.metadata.get("max", 2)))
        return [sample_value(shape.member, depth + 1) for _ in range(count)]
    if kind == "map":
        return {sample_value(shape.key, depth + 1): sample_value(shape.value, depth + 1)}
    if kind in ("integer", "long"):
        return (
            max(shape.metadata.get("min", 3), 3)
            if shape.metadata.get("max", 10**9) >= 3
            else shape.metadata["max"]
        )
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return datetime(2026, 11, 30, 2, 16, 43, tzinfo=UTC)
    if kind == "blob":
        return b"\x00blob\xff"
    if kind in ("float", "double"):
        return 1.5
    return _string(shape)


def _string(shape: Shape) -> str:
    enum = getattr(shape, "enum", None)
    if enum:
        return str(enum[0])
    low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 10**6)
    pattern = shape.metadata.get("pattern")
    regex = compile_pattern(pattern) if pattern else re.compile(".*", re.S)
    for candidate in _CANDIDATES:
        for text in (candidate, candidate * 8, (candidate * 300)[:high]):
            if low <= len(text) <= high and regex.fullmatch(text):
                return text
    raise AssertionError(f"no sample for {shape.name} pattern {pattern!r} length {low}..{high}")


@pytest.fixture
def sample() -> Callable[[Shape], Any]:
    """The sample-value generator."""
    return sample_value
