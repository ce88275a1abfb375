"""Wildcard matching (`*` any run, `?` one character) compiled once into the cheapest test."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

Matcher = Callable[[str], bool]


def glob_matches(pattern: str, value: str) -> bool:
    """Whether `value` matches `pattern` (case-sensitive; lower both for a case-insensitive test)."""
    return compile_glob(pattern)(value)


@lru_cache(maxsize=65536)
def compile_glob(pattern: str) -> Matcher:
    """A matcher for one pattern: equality, prefix, suffix or a precompiled regex, whichever fits."""
    if "*" not in pattern and "?" not in pattern:
        return pattern.__eq__
    if pattern == "*":
        return _always
    if "?" not in pattern and pattern.count("*") == 1:
        head, _, tail = pattern.partition("*")
        if not tail:
            return lambda value: value.startswith(head)
        if not head:
            return lambda value: value.endswith(tail)
        size = len(head) + len(tail)
        return lambda value: len(value) >= size and value.startswith(head) and value.endswith(tail)
    return re.compile(glob_regex(pattern), re.DOTALL).fullmatch  # type: ignore[return-value]  # a Match is truthy, None falsy


def glob_regex(pattern: str) -> str:
    """The regular expression of a wildcard pattern."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def _always(value: str) -> bool:
    """Matches everything."""
    return True
