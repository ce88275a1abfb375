"""Policy variables and wildcard matchers."""

from __future__ import annotations

import pytest

from ostiary.policy.matchers import compile_glob
from ostiary.policy.request import Principal, Request
from ostiary.policy.variables import Special, Variable, parse_template, render_matcher, render_text

ALICE = Principal("arn:aws:iam::111111111111:user/alice", "user", "111111111111", tags={"team": "a*b"})
REQUEST = Request(ALICE, "s3:GetObject", "x", {"s3:prefix": ["one", "two"]})


def test_text_without_variables_is_not_a_template() -> None:
    assert parse_template("arn:aws:s3:::b/*") is None
    assert parse_template("${unclosed") is None


def test_template_parts() -> None:
    assert parse_template("a/${aws:UserName}/${*}/${x, 'd'}") == (
        "a/",
        Variable("aws:username"),
        "/",
        Special("*"),
        "/",
        Variable("x", "d"),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("home/${aws:username}", "home/alice"),
        ("${aws:PrincipalTag/team}", "a*b"),
        ("${s3:prefix}", None),  # a multivalued key is no variable value
        ("${aws:SourceIp, 'none'}", "none"),
        ("${$}{x}", "${x}"),
        ("${aws:nothing}", None),
    ],
)
def test_render_text(text: str, expected: str | None) -> None:
    parts = parse_template(text)
    assert parts is not None
    assert render_text(parts, REQUEST) == expected


def test_substituted_wildcards_are_literal() -> None:
    parts = parse_template("t/${aws:PrincipalTag/team}")
    assert parts is not None
    matcher = render_matcher(parts, REQUEST)
    assert matcher is not None and matcher("t/a*b") and not matcher("t/aXb")


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("abc", "abc", True),
        ("abc", "abcd", False),
        ("ab*", "abzz", True),
        ("*bc", "zzbc", True),
        ("a*c", "ac", True),
        ("a*c*e", "abcde", True),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("a.c", "abc", False),
        ("*", "", True),
        ("a*c", "a\nc", True),
    ],
)
def test_glob(pattern: str, text: str, expected: bool) -> None:
    assert bool(compile_glob(pattern)(text)) is expected
