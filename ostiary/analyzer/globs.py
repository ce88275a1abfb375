"""Glob automata for the exact checks: is there a string inside some patterns and outside others?

A pattern is a tuple of tokens, each one character test: a literal (a set of characters, two for an
ignore-case letter), `?` (any character, or any but some) or `*` (any run, or any run avoiding some
characters: an ArnLike wildcard stays inside its ARN segment). The engine's Resource and StringLike
wildcards are flat (`*` crosses `:`), as `ostiary.policy`'s matcher does.

The characters that no pattern names all behave alike, so the alphabet is the named characters and one
fresh character; a depth-first search over the product of the patterns' position sets (the fresh
character tried first) is then exact. It gives up (`Budget`) past a number of product states.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

_FRESH = "xyzqwkjvbfgmhpudtcnolrseai0123456789"
_STEP_LIMIT = 4096  # remembered steps per glob


class Budget(Exception):
    """The product search passed its state budget: the answer is unknown."""


@dataclass(frozen=True, slots=True)
class Token:
    """One character test; `is_star` repeats it zero or more times."""

    chars: frozenset[str]
    is_negated: bool = False  # the test is "not one of chars"
    is_star: bool = False

    def takes(self, char: str) -> bool:
        """Whether the character passes the test."""
        return (char in self.chars) != self.is_negated


_ANY = Token(frozenset(), True)
_STAR = Token(frozenset(), True, True)
_SEGMENT_STAR = Token(frozenset(":"), True, True)
_SEGMENT_ANY = Token(frozenset(":"), True)


@dataclass(frozen=True, slots=True)
class Glob:
    """A pattern as tokens, with its closure table built once."""

    tokens: tuple[Token, ...]
    _closure: tuple[int, ...] = field(init=False, repr=False, compare=False, hash=False)
    is_literal: bool = field(init=False, repr=False, compare=False, hash=False)  # matches one string
    _steps: dict[tuple[int, str], int] = field(init=False, repr=False, compare=False, hash=False)
    _hash: int = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        size = len(self.tokens)
        closure = [0] * (size + 1)
        for position in range(size, -1, -1):
            bits = 1 << position
            if position < size and self.tokens[position].is_star:
                bits |= closure[position + 1]
            closure[position] = bits
        object.__setattr__(self, "_closure", tuple(closure))
        literal = all(not t.is_star and not t.is_negated and len(t.chars) == 1 for t in self.tokens)
        object.__setattr__(self, "is_literal", literal)
        object.__setattr__(self, "_steps", {})
        object.__setattr__(self, "_hash", hash(self.tokens))

    def __hash__(self) -> int:
        return self._hash

    @property
    def start(self) -> int:
        """The position set before any character."""
        return self._closure[0]

    @property
    def is_everything(self) -> bool:
        """Whether it matches every string (`*`)."""
        return any(t == _STAR for t in self.tokens) and all(t.is_star for t in self.tokens)

    def text(self) -> str:
        """The string a literal glob matches."""
        return "".join(next(iter(t.chars)) for t in self.tokens)

    def step(self, state: int, char: str) -> int:
        """The position set after one more character (remembered: searches revisit states)."""
        found = self._steps.get((state, char))
        if found is None:
            if len(self._steps) >= _STEP_LIMIT:
                self._steps.clear()
            found = self._steps[(state, char)] = self._step(state, char)
        return found

    def _step(self, state: int, char: str) -> int:
        after = 0
        tokens, closure = self.tokens, self._closure
        position = 0
        while state:
            if state & 1 and position < len(tokens):
                token = tokens[position]
                if token.takes(char):
                    after |= closure[position] if token.is_star else closure[position + 1]
            state >>= 1
            position += 1
        return after

    def accepts(self, state: int) -> bool:
        """Whether the position set has read the whole pattern."""
        return bool(state >> len(self.tokens) & 1)

    def matches(self, value: str) -> bool:
        """Whether the glob matches the string."""
        state = self.start
        for char in value:
            state = self.step(state, char)
            if not state:
                return False
        return self.accepts(state)

    def chars(self) -> set[str]:
        """The characters its tests name."""
        return {c for t in self.tokens for c in t.chars}


@lru_cache(maxsize=65536)
def glob(pattern: str, *, ignore_case: bool = False, is_literal: bool = False) -> Glob:
    """A flat IAM wildcard pattern (`*`, `?`), or a literal string; `ignore_case` folds ASCII letters."""
    tokens = []
    for char in pattern:
        if not is_literal and char == "*":
            tokens.append(_STAR)
        elif not is_literal and char == "?":
            tokens.append(_ANY)
        elif ignore_case and char.lower() != char.upper() and char.isascii():
            tokens.append(Token(frozenset({char.lower(), char.upper()})))
        else:
            tokens.append(Token(frozenset(char)))
    return Glob(_squeeze(tokens))


@lru_cache(maxsize=16384)
def arn_glob(pattern: str) -> Glob:
    """An ArnLike pattern: six `:`-separated parts, wildcards of the first five staying in their part."""
    parts = pattern.split(":", 5)
    if len(parts) != 6:
        return glob(pattern)
    tokens: list[Token] = []
    for index, part in enumerate(parts):
        if index:
            tokens.append(Token(frozenset(":")))
        last = index == 5
        for char in part:
            if char == "*":
                tokens.append(_STAR if last else _SEGMENT_STAR)
            elif char == "?":
                tokens.append(_ANY if last else _SEGMENT_ANY)
            else:
                tokens.append(Token(frozenset(char)))
    return Glob(_squeeze(tokens))


def _squeeze(tokens: list[Token]) -> tuple[Token, ...]:
    """`**` is `*`: fewer positions, the same language."""
    out: list[Token] = []
    for token in tokens:
        if token.is_star and out and out[-1] == token:
            continue
        out.append(token)
    return tuple(out)


def witness(
    inside: Sequence[Glob],
    outside: Sequence[Glob],
    budget: int = 20000,
    fresh: str = _FRESH,
    deadline: float | None = None,
) -> str | None:
    """A string matched by every glob of `inside` and by none of `outside`, or None.

    Raises Budget past `budget` product states or past `deadline` (`time.monotonic()`).
    """
    named: set[str] = set()
    for one in (*inside, *outside):
        named |= one.chars()
    extra = next((c for c in fresh if c not in named), None)
    alphabet = sorted(named) + ([extra] if extra is not None else [chr(0x2603)])
    for candidate in _samples(inside, alphabet[-1]):  # cheap guesses first (a long `?` run blows up BFS)
        if all(g.matches(candidate) for g in inside) and not any(g.matches(candidate) for g in outside):
            return candidate
    start = (tuple(g.start for g in inside), tuple(g.start for g in outside))
    parents: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[object, str]] = {start: (None, "")}
    order = [alphabet[-1], *alphabet[:-1]]  # the fresh character first: it leaves most patterns at once
    stack = [start]
    while stack:  # depth first: a witness fast when one exists; every state once when none does
        state = stack.pop()
        ins, outs = state
        if all(g.accepts(s) for g, s in zip(inside, ins, strict=True)) and not any(
            g.accepts(s) for g, s in zip(outside, outs, strict=True)
        ):
            return _spell(parents, state)
        for char in reversed(order):
            next_ins = tuple(g.step(s, char) for g, s in zip(inside, ins, strict=True))
            if not all(next_ins):
                continue
            following = (
                next_ins,
                tuple(g.step(s, char) if s else 0 for g, s in zip(outside, outs, strict=True)),
            )
            if following in parents:
                continue
            if len(parents) >= budget:
                raise Budget(f"more than {budget} automaton states")
            if deadline is not None and not len(parents) % 64 and time.monotonic() > deadline:
                raise Budget("the check passed its time limit")
            parents[following] = (state, char)
            stack.append(following)
    return None


def _samples(inside: Sequence[Glob], fresh: str) -> list[str]:
    """A string of each pattern: its stars empty, or one fresh character; its other tests the fresh one."""
    found = []
    for one in inside[:8]:
        for star in ("", fresh):
            chars = []
            for token in one.tokens:
                if token.is_star:
                    chars.append(star if token.takes(fresh) else "")
                else:
                    chars.append(fresh if token.takes(fresh) else min(token.chars))
            found.append("".join(chars))
    return found


def _spell(parents: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[object, str]], state: object) -> str:
    """The characters that led from the start to `state`."""
    chars: list[str] = []
    while True:
        parent, char = parents[state]  # type: ignore[index]
        if parent is None:
            return "".join(reversed(chars))
        chars.append(char)
        state = parent
