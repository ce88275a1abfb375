"""Properties of the evaluation logic, and the parser fuzzed: never an unexpected exception."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ostiary.policy import PolicySyntaxError, evaluate_case, parse_policy
from tests.reference.strategies import cases, statements

_DENY_ALL = {"Effect": "Deny", "Action": "*", "Resource": "*"}


@settings(max_examples=150, deadline=None)
@given(cases())
def test_explicit_deny_always_wins(case: dict[str, Any]) -> None:
    if case["principal"]["type"] == "root":
        case["scps"] = (case["scps"] or []) + [{"Statement": _DENY_ALL}]
    else:
        case["identity_policies"] = case["identity_policies"] + [{"Statement": _DENY_ALL}]
    assert evaluate_case(case)["decision"] == "ExplicitDeny"


@settings(max_examples=150, deadline=None)
@given(cases(), statements(), st.sampled_from(["identity_policies", "session_policies", "scps"]))
def test_adding_a_statement_never_turns_explicit_deny_into_allow(
    case: dict[str, Any], extra: dict[str, Any], where: str
) -> None:
    before = evaluate_case(case)["decision"]
    grown = copy.deepcopy(case)
    grown[where] = (grown[where] or []) + [{"Version": "2012-10-17", "Statement": [extra]}]
    after = evaluate_case(grown)["decision"]
    if before == "ExplicitDeny":
        assert after == "ExplicitDeny"


@settings(max_examples=150, deadline=None)
@given(cases())
def test_a_boundary_never_widens_access(case: dict[str, Any]) -> None:
    with_boundary = evaluate_case(case)["decision"]
    without = evaluate_case({**case, "boundary": None})["decision"]
    if with_boundary == "Allow":
        assert without == "Allow"


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(
        ["*", "Allow", "Deny", "s3:*", "arn:aws:s3:::b", "2012-10-17", "${aws:username}", "StringEquals"]
    ),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "Version",
                    "Statement",
                    "Effect",
                    "Action",
                    "NotAction",
                    "Resource",
                    "Principal",
                    "AWS",
                    "Condition",
                    "Sid",
                    "StringLike",
                    "Null",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_JSON, st.sampled_from(["identity", "resource", "trust", "scp"]))
def test_parser_gives_a_policy_or_a_syntax_error(document: Any, kind: str) -> None:
    try:
        parse_policy(json.dumps(document), kind)
    except PolicySyntaxError as error:
        assert error.message


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_parser_on_any_text(text: str) -> None:
    try:
        parse_policy(text)
    except PolicySyntaxError as error:
        assert error.message


@settings(max_examples=150, deadline=None)
@given(
    cases(),
    _JSON,
    st.sampled_from(["identity_policies", "boundary", "resource_policy", "request", "principal"]),
)
def test_eval_gives_a_decision_or_an_error_line(case: dict[str, Any], junk: Any, field: str) -> None:
    got = evaluate_case({**case, field: junk})
    assert got.get("decision") in ("Allow", "ExplicitDeny", "ImplicitDeny") or isinstance(
        got.get("error"), str
    )
