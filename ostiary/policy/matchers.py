"""Wildcard matching (`*` any run, `?` one character) compiled once into the cheapest test.

No regular expressions: a regex of many `.*` backtracks for seconds on a long value that almost
matches. A pattern splits at `*` into segments of literal runs and `?`; the first segment is tested
at the start of the value, the last at its end, and each one between at its leftmost occurrence
after the one before (for segments of fixed length, leftmost is never worse). A segment holding `?`
is compared run by run at each offset where its longest literal run occurs. Whatever the pattern,
a test costs O(n·m) at worst (n the value's length, m the pattern's), most tests one `str.find` per
segment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache

Matcher = Callable[[str], bool]
# A pattern's text, and whether it is literal (a substituted variable: its `*` and `?` are characters)
Piece = tuple[str, bool]
Run = tuple[int, str]  # a literal run of a segment: its offset in the segment, its text
# A segment: its length, its runs, its longest run (the one searched for) and the runs but that one
Segment = tuple[int, tuple[Run, ...], Run, tuple[Run, ...]]
_STAR, _ONE = 0, 1
_NO_RUN = (0, "")


def glob_matches(pattern: str, value: str) -> bool:
    """Whether `value` matches `pattern` (case-sensitive; lower both for a case-insensitive test)."""
    return compile_glob(pattern)(value)


@lru_cache(maxsize=65536)
def compile_glob(pattern: str) -> Matcher:
    """A matcher for one pattern: equality, prefix, suffix or a segment search, whichever fits."""
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
    return _matcher(_segments(((pattern, False),)))


@lru_cache(maxsize=4096)
def compile_pieces(pieces: tuple[Piece, ...]) -> Matcher:
    """A matcher for a pattern made of pieces, some literal (`${*}`, substituted variable values)."""
    if not any(is_literal for _, is_literal in pieces):
        return compile_glob("".join(text for text, _ in pieces))
    return _matcher(_segments(pieces))


def _tokens(pieces: Iterable[Piece]) -> Iterator[str | int]:
    """The pattern as literal texts, `_STAR` and `_ONE`."""
    for text, is_literal in pieces:
        if is_literal:
            yield text
            continue
        start = 0
        for index, char in enumerate(text):
            if char == "*" or char == "?":
                yield text[start:index]
                yield _STAR if char == "*" else _ONE
                start = index + 1
        yield text[start:]


def _segments(pieces: Iterable[Piece]) -> list[Segment]:
    """The pattern cut at each `*`: one segment more than it has stars."""
    segments: list[Segment] = []
    runs: list[Run] = []
    size = 0
    for token in _tokens(pieces):
        if isinstance(token, int):
            if token == _ONE:
                size += 1
                continue
            segments.append(_segment(size, runs))
            runs, size = [], 0
        elif token:
            if runs and runs[-1][0] + len(runs[-1][1]) == size:
                runs[-1] = (runs[-1][0], runs[-1][1] + token)
            else:
                runs.append((size, token))
            size += len(token)
    segments.append(_segment(size, runs))
    return segments


def _segment(size: int, runs: list[Run]) -> Segment:
    """A segment with its longest run found."""
    longest = max(runs, key=lambda run: len(run[1]), default=_NO_RUN)
    return size, tuple(runs), longest, tuple(run for run in runs if run is not longest)


def _matcher(segments: list[Segment]) -> Matcher:
    """The test for a pattern's segments: plain text when no segment holds `?`."""
    if len(segments) == 1:
        only = segments[0]
        if only[0] == len(only[2][1]):
            return only[2][1].__eq__
        return lambda value: len(value) == only[0] and _at(only[1], value, 0)
    head, *between, tail = segments
    middle = tuple(s for s in between if s[0])  # `**` adds an empty segment, matched anywhere
    if all(s[0] == len(s[2][1]) for s in segments):  # no `?`: one run fills each segment
        return _plain(head[2][1], tuple(s[2][1] for s in middle), tail[2][1])
    return _general(head, middle, tail)


def _plain(head: str, middle: tuple[str, ...], tail: str) -> Matcher:
    """Segments of literal text only: prefix, suffix and one `str.find` for each segment between."""
    if len(middle) == 1:
        return _one_between(head, middle[0], tail)
    if len(middle) == 2:
        return _two_between(head, middle, tail)
    least = len(head) + len(tail) + sum(len(text) for text in middle)
    start, after = len(head), len(tail)
    steps = tuple((text, len(text)) for text in middle)

    def match(value: str) -> bool:
        if len(value) < least or not value.startswith(head) or not value.endswith(tail):
            return False
        position, end = start, len(value) - after
        for text, size in steps:
            position = value.find(text, position, end)
            if position < 0:
                return False
            position += size
        return True

    return match


def _one_between(head: str, text: str, tail: str) -> Matcher:
    """`head*text*tail` (the commonest shape after prefix and suffix) as one expression.

    `text` is searched between the head and the tail, so a value too short for all three fails.
    """
    start, after = len(head), len(tail)
    if not tail:
        return lambda value: value.startswith(head) and value.find(text, start) >= 0
    return lambda value: (
        value.startswith(head) and value.endswith(tail) and value.find(text, start, len(value) - after) >= 0
    )


def _two_between(head: str, middle: tuple[str, ...], tail: str) -> Matcher:
    """`head*first*second*tail` (`arn:aws:ec2:*:*:instance/*`) as one expression."""
    (first, second), start, after = middle, len(head), len(tail)
    size = len(first)
    return lambda value: (
        value.startswith(head)
        and value.endswith(tail)
        and (found := value.find(first, start, len(value) - after)) >= 0
        and value.find(second, found + size, len(value) - after) >= 0
    )


def _general(head: Segment, middle: tuple[Segment, ...], tail: Segment) -> Matcher:
    """Segments holding `?`: each run compared at its offset, each middle segment found leftmost."""
    least = head[0] + tail[0] + sum(s[0] for s in middle)

    def match(value: str) -> bool:
        length = len(value)
        if length < least or not _at(head[1], value, 0) or not _at(tail[1], value, length - tail[0]):
            return False
        position, end = head[0], length - tail[0]
        for segment in middle:
            found = _find(segment, value, position, end)
            if found < 0:
                return False
            position = found + segment[0]
        return True

    return match


def _at(runs: tuple[Run, ...], value: str, position: int) -> bool:
    """Whether the runs are all at their offsets from `position` (the caller checks the length)."""
    for offset, text in runs:
        if not value.startswith(text, position + offset):
            return False
    return True


def _find(segment: Segment, value: str, position: int, end: int) -> int:
    """The leftmost start at or after `position` where the segment fits before `end`, or -1.

    Its longest run is searched for; each hit is a candidate start, checked run by run. Searches
    resume after the last candidate, so a segment costs O(n·m) at worst.
    """
    size, _, (offset, text), others = segment
    last = end - size
    if not text:
        return position if position <= last else -1
    while position <= last:
        hit = value.find(text, position + offset, last + offset + len(text))
        if hit < 0:
            return -1
        if _at(others, value, hit - offset):  # the longest run is there: the others?
            return hit - offset
        position = hit - offset + 1
    return -1


def _always(value: str) -> bool:
    """Matches everything."""
    return True
