"""Validation never crashes, whatever the text: random JSON, hostile shapes, deep nesting, huge strings."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ostiary.analyzer import POLICY_TYPES, validate
from ostiary.analyzer.jsontext import MAX_DEPTH

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)
_ELEMENT_NAMES = st.sampled_from(
    [
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    ]
)
_STATEMENT = st.dictionaries(_ELEMENT_NAMES, _JSON, max_size=9)
_POLICY = st.fixed_dictionaries(
    {"Statement": st.lists(_STATEMENT, max_size=4) | _STATEMENT},
    optional={"Version": st.sampled_from(["2012-10-17", "2008-10-17", "x"]) | _JSON},
)
_TYPES = st.sampled_from(POLICY_TYPES)
_RESOURCE_TYPES = st.sampled_from([None, "AWS::IAM::AssumeRolePolicyDocument", "AWS::S3::Bucket"])


def _check(text: str, policy_type: str, resource_type: str | None) -> None:
    """Validate, and check every location lies inside the text."""
    for finding in validate(text, policy_type, resource_type):
        assert finding.finding_type in ("ERROR", "SECURITY_WARNING", "WARNING", "SUGGESTION")
        for location in finding.locations:
            assert 0 <= location.start.offset <= location.end.offset <= len(text)
        finding.as_api()


@settings(max_examples=300, deadline=None)
@given(_POLICY, _TYPES, _RESOURCE_TYPES)
def test_policy_shaped_json_never_crashes(
    document: dict[str, Any], policy_type: str, resource_type: str | None
) -> None:
    _check(json.dumps(document), policy_type, resource_type)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), _TYPES)
def test_arbitrary_text_never_crashes(text: str, policy_type: str) -> None:
    _check(text, policy_type, None)


@settings(max_examples=100, deadline=None)
@given(_JSON, _TYPES)
def test_any_json_value_never_crashes(value: Any, policy_type: str) -> None:
    _check(json.dumps(value), policy_type, None)


def test_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    for depth in (MAX_DEPTH + 1, 10_000):
        text = '{"Statement": ' + "[" * depth + "]" * depth + "}"
        (finding,) = validate(text, "IDENTITY_POLICY")
        assert finding.issue_code == "JSON_SYNTAX_ERROR"
    deep_condition = {"StringEquals": {"aws:username": "a"}}
    for _ in range(MAX_DEPTH - 8):
        deep_condition = {"x": deep_condition}
    text = json.dumps(
        {"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": deep_condition}}
    )
    validate(text, "IDENTITY_POLICY")


def test_huge_strings_and_unicode() -> None:
    huge = "s3:" + "Get" * 200_000
    statement = {
        "Sid": "\u00e9\u4e2d\U0001f600",
        "Effect": "Allow",
        "Action": [huge, "s3:\u0130*"],
        "Resource": "arn:aws:s3:::\u00e9/*",
    }
    findings = validate(json.dumps({"Version": "2012-10-17", "Statement": statement}), "IDENTITY_POLICY")
    assert "INVALID_ACTION" in [f.issue_code for f in findings]
    raw = '{"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "\\ud800"}}'
    validate(raw, "IDENTITY_POLICY")
    validate('{"Statement": "\\u0000' + "\u2028" * 10_000 + '"}', "RESOURCE_POLICY")


def test_many_statements_and_actions_stay_bounded() -> None:
    statements = [
        {
            "Effect": "Allow",
            "Action": [f"s3:Get{i % 7}*", "s3:*Object", "*"],
            "Resource": [f"arn:aws:s3:::b{i}/*", "*"],
        }
        for i in range(300)
    ]
    findings = validate(json.dumps({"Version": "2012-10-17", "Statement": statements}), "IDENTITY_POLICY")
    assert findings


def test_work_budget_bounds_wildcard_expansion() -> None:
    """Patterns over every service cost the whole catalogue each: past the budget, they are left alone."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    patterns = [f"*:*{a}{b}*" for a in letters for b in letters][:400] + ["*:*ab*"]
    statement = {"Effect": "Allow", "Action": patterns, "Resource": "*"}
    context_free = validate(json.dumps({"Version": "2012-10-17", "Statement": statement}), "IDENTITY_POLICY")
    assert "REDUNDANT_ACTION" not in [f.issue_code for f in context_free]  # over budget: no guess
    small = {"Effect": "Allow", "Action": ["*:*ab*", "*:*ab*"], "Resource": "*"}
    findings = validate(json.dumps({"Version": "2012-10-17", "Statement": small}), "IDENTITY_POLICY")
    assert [f.issue_code for f in findings] == ["REDUNDANT_ACTION"]
