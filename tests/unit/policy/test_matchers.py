"""Wildcard matchers: exact against a dynamic-programming glob, and bounded on adversarial patterns.

The timing bounds here are generous (a loaded 2-core machine must pass them): they catch
backtracking that takes seconds, not a slower matcher. Real timings live in bench/.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ostiary.policy import Principal, Request, authorize, compile_policy, parse_policy
from ostiary.policy.matchers import Piece, compile_glob, compile_pieces
from ostiary.policy.request import reference_key
from ostiary.policy.variables import parse_template, render_matcher

A = "111111111111"
ALICE = Principal(f"arn:aws:iam::{A}:user/alice", "user", A, "AIDAALICE")
BOUND_SECONDS = 0.5  # CPU time of one decision; the regex matcher took many seconds (or hours)
GUARD_SECONDS = 5  # wall time after which a runaway match is interrupted, so the test fails


def _dp(tokens: list[str | None], text: str) -> bool:
    """Glob by dynamic programming: a token is a literal character, "" for `*`, None for `?`."""
    row = [True] + [False] * len(text)
    for token in tokens:
        if token == "":
            for j in range(1, len(text) + 1):
                row[j] = row[j] or row[j - 1]
        else:
            row = [False] + [row[j] and token in (None, text[j]) for j in range(len(text))]
    return row[-1]


def _pattern_tokens(pattern: str) -> list[str | None]:
    return ["" if c == "*" else None if c == "?" else c for c in pattern]


def _piece_tokens(pieces: tuple[Piece, ...]) -> list[str | None]:
    return [t for text, literal in pieces for t in (list(text) if literal else _pattern_tokens(text))]


PATTERNS = st.text(alphabet="ab*?", max_size=12)
TEXTS = st.text(alphabet="ab", max_size=14) | st.text(alphabet="ab*?\nİ", max_size=8)


@given(PATTERNS, TEXTS)
def test_glob_agrees_with_dynamic_programming(pattern: str, text: str) -> None:
    assert bool(compile_glob(pattern)(text)) is _dp(_pattern_tokens(pattern), text)


@given(st.lists(st.tuples(st.text(alphabet="ab*?", max_size=4), st.booleans()), max_size=5), TEXTS)
def test_literal_pieces_match_only_themselves(pieces: list[Piece], text: str) -> None:
    joined = tuple(pieces)
    assert bool(compile_pieces(joined)(text)) is _dp(_piece_tokens(joined), text)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("a**b", "ab", True),
        ("*?*", "", False),
        ("*?*", "x", True),
        ("??", "İ" * 2, True),  # `?` is one character, not one byte
        ("a?*?b", "axyb", True),
        ("a?*?b", "axb", False),
        ("*ab?ab*", "abxabab", True),
        ("*ab?ab*", "ababab", False),
        ("*a?c*a?c", "abcabc", True),
        ("*a?c*a?c", "abcab", False),
        ("x*?\n*", "xy\n", True),
    ],
)
def test_glob_edges(pattern: str, text: str, expected: bool) -> None:
    assert bool(compile_glob(pattern)(text)) is expected


def test_substituted_variable_value_is_literal_inside_wildcards() -> None:
    parts = parse_template("t/*${aws:PrincipalTag/team}*")
    assert parts is not None
    reference_key("aws:principaltag/team")
    request = Request(Principal(ALICE.arn, "user", A, tags={"team": "a?*"}), "s3:GetObject")
    matcher = render_matcher(parts, request)
    assert matcher is not None
    assert matcher("t/xa?*y") and not matcher("t/xabcy")


@contextmanager
def _guard() -> Iterator[None]:
    """Interrupt a match running past GUARD_SECONDS (the regex engine checks signals)."""

    def interrupt(signum: int, frame: Any) -> None:
        raise TimeoutError(f"a decision ran past {GUARD_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, GUARD_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _timed(decide: Any) -> Any:
    """`decide()`, asserting it used at most BOUND_SECONDS of CPU."""
    with _guard():
        start = time.thread_time()
        found = decide()
        spent = time.thread_time() - start
    assert spent < BOUND_SECONDS, f"a decision took {spent:.2f} s of CPU"
    return found


ADVERSARIAL = [
    "*a" * 120 + "*b",
    "*" + "a?" * 100 + "*b",
    "*?a*" * 60 + "b",
    "a*" + "?" * 150 + "*" * 50 + "b",
    "*" + "*a*" * 100 + "?b",
    "*" + "a" * 2000 + "?" + "a" * 50 + "b*",
]
LONG = "a" * 10_000
IDS = ["stars", "questions", "star-question", "question-run", "double-stars", "long-run"]


@pytest.mark.parametrize("pattern", ADVERSARIAL, ids=IDS)
def test_adversarial_glob_ends_in_bounded_time(pattern: str) -> None:
    assert _timed(lambda: compile_glob(pattern)(LONG)) is False
    assert _timed(lambda: compile_glob(pattern)(LONG + "b")) is True


def _policy(statement: dict[str, Any]) -> Any:
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]}
    return compile_policy(parse_policy(document, "identity"), "p", "identity")


@pytest.mark.parametrize("pattern", ADVERSARIAL, ids=IDS)
@pytest.mark.parametrize(
    ("shape", "allowed"),
    [
        ("Resource", False),
        ("NotResource", True),
        ("Action", False),
        ("NotAction", True),
        ("StringLike", False),
        ("StringNotLike", True),
        ("ArnLike", False),
        ("ResourceVariable", False),
    ],
)
def test_adversarial_pattern_in_every_element_decides_in_bounded_time(
    pattern: str, shape: str, allowed: bool
) -> None:
    statement, action, resource, context = _adversarial_case(pattern, shape)
    policy = _policy(statement)
    request = Request(ALICE, action, resource, context)
    decision = _timed(lambda: authorize(request, identity=policy))
    assert decision.decision == ("Allow" if allowed else "ImplicitDeny")
    assert [s.index for s in decision.statements] == ([0] if allowed else [])


def _adversarial_case(pattern: str, shape: str) -> tuple[dict[str, Any], str, str, dict[str, Any]]:
    """(statement, action, resource, context): the pattern in one element, the long value against it."""
    arn = f"arn:aws:iam::{A}:user/{LONG}"
    statement: dict[str, Any] = {"Action": "*", "Resource": "*"}
    action, context = "iam:GetUser", {"aws:tagkeys": LONG}
    if shape in ("Resource", "NotResource"):
        del statement["Resource"]
        statement[shape] = f"arn:aws:iam::{A}:user/{pattern}"
    elif shape in ("Action", "NotAction"):
        del statement["Action"]
        statement[shape] = f"iam:{pattern}"
        action = f"iam:{LONG}"
    elif shape == "ResourceVariable":
        statement["Resource"] = f"arn:aws:iam::{A}:user/${{aws:username}}{pattern}"
        arn = f"arn:aws:iam::{A}:user/alice{LONG}"
    elif shape == "ArnLike":
        statement["Condition"] = {"ArnLike": {"aws:SourceArn": f"arn:aws:iam::{A}:user/{pattern}"}}
        context = {"aws:SourceArn": arn}
    else:
        statement["Condition"] = {shape: {"aws:TagKeys": pattern}}
    return statement, action, arn, context
