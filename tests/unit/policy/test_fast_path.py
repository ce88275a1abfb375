"""The fast paths give the general path's answers: authorize()'s identity-only path, the specialised
condition checks, the IP parser and the Request's key lookup."""

from __future__ import annotations

import importlib
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ostiary.policy import (
    Decision,
    Principal,
    Request,
    authorize,
    compile_policy,
    evaluate_case,
    parse_policy,
)
from ostiary.policy.checks import compile_check, parse_ip
from ostiary.policy.conditions import CompiledCondition
from ostiary.policy.model import Condition
from ostiary.policy.plan import fuse
from tests.reference.strategies import cases

authorize_module = importlib.import_module("ostiary.policy.authorize")
request_module = importlib.import_module("ostiary.policy.request")

A = "111111111111"
ALICE = Principal(f"arn:aws:iam::{A}:user/alice", "user", A, "AIDAALICE", {"Team": "red", "dept": "eng"})
OFFICE = ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"]
STATEMENTS: list[dict[str, Any]] = [
    {"Sid": "Own", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:username}/*"},
    {"Sid": "Team", "Effect": "Allow", "Action": "s3:Get*",
     "Resource": "arn:aws:s3:::t-${aws:PrincipalTag/team}/*",
     "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}},
    {"Sid": "Office", "Effect": "Deny", "NotAction": "iam:GetUser", "Resource": "*",
     "Condition": {"NotIpAddress": {"aws:SourceIp": OFFICE}}},
    {"Sid": "Mfa", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*",
     "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}},
    {"Sid": "Prefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::home",
     "Condition": {"StringLike": {"s3:prefix": ["${aws:username}/*", "${aws:username}"]}}},
    {"Sid": "Kept", "Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::home*",
     "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["keep"]}}},
]  # fmt: skip
BOUNDARY: list[dict[str, Any]] = [
    {"Sid": "S3Only", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
    {"Sid": "NoList", "Effect": "Deny", "Action": "s3:ListBucket", "Resource": "*",
     "Condition": {"StringEqualsIgnoreCase": {"s3:prefix": "SECRET"}}},
]  # fmt: skip
ACTIONS = ["s3:GetObject", "S3:getobject", "s3:DeleteObject", "s3:ListBucket", "iam:GetUser", "ec2:Run"]
RESOURCES = ["arn:aws:s3:::home/alice/x", "arn:aws:s3:::t-red/k", "arn:aws:s3:::home", "arn:aws:s3:::o", "*"]
CONTEXT_VALUES = {
    "aws:SourceIp": ["10.1.2.3", "203.0.113.9", "2001:db8::1", "not-an-ip", ["10.1.1.1", "8.8.8.8"], []],
    "AWS:multifactorauthpresent": ["true", "false", "TRUE", ["false"]],
    "aws:ResourceTag/team": ["red", "blue", ["red", "blue"]],
    "s3:prefix": ["alice/", "alice", "bob/x", "secret", ["alice/a", "x"]],
    "aws:TagKeys": ["keep", ["a", "keep"], []],
    "aws:username": ["alice", "mallory"],
}


def _compiled(statements: list[dict[str, Any]], kind: str) -> Any:
    return compile_policy(parse_policy({"Version": "2012-10-17", "Statement": statements}, kind), kind, kind)


IDENTITY = _compiled(STATEMENTS, "identity")


@contextmanager
def _fast_path_off() -> Iterator[None]:
    """authorize() takes its general path inside the block."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(authorize_module, "identity_only", lambda *args: None)
        patch.setattr(authorize_module, "_FAST_TYPES", frozenset())
        yield


def _general(request: Request, **policies: Any) -> Decision:
    """The Decision the general path gives (the fast path switched off)."""
    with _fast_path_off():
        return authorize(request, **policies)


contexts = st.dictionaries(
    st.sampled_from(sorted(CONTEXT_VALUES)), st.none(), max_size=len(CONTEXT_VALUES)
).flatmap(lambda keys: st.fixed_dictionaries({k: st.sampled_from(CONTEXT_VALUES[k]) for k in keys}))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ACTIONS), st.sampled_from(RESOURCES), contexts, st.booleans())
def test_identity_only_path_gives_the_general_decision(
    action: str, resource: str, context: dict[str, Any], with_boundary: bool
) -> None:
    identity = IDENTITY  # compiled once: remembered Decisions are reused across examples
    boundary = _compiled(BOUNDARY, "boundary") if with_boundary else None
    request = Request(ALICE, action, resource, context)
    fast = authorize(request, identity=identity, boundary=boundary)
    general = _general(Request(ALICE, action, resource, context), identity=identity, boundary=boundary)
    assert fast == general


@pytest.mark.parametrize("resource_account", [None, A, "222222222222"])
def test_identity_only_path_in_and_out_of_the_callers_account(resource_account: str | None) -> None:
    identity = [_compiled(STATEMENTS, "identity")]
    request = Request(ALICE, "s3:GetObject", "arn:aws:s3:::home/alice/x", {"aws:SourceIp": "10.0.0.1"})
    fast = authorize(request, identity=identity, resource_account=resource_account)
    assert fast == _general(request, identity=identity, resource_account=resource_account)
    assert fast.decision == ("Allow" if resource_account != "222222222222" else "ImplicitDeny")


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(ACTIONS),
    st.sampled_from(RESOURCES),
    contexts,
    st.sampled_from([None, A, "222222222222"]),
)
def test_a_principals_combined_policy_in_a_tuple_takes_the_inlined_path_and_decides_the_same(
    action: str, resource: str, context: dict[str, Any], resource_account: str | None
) -> None:
    """The gateway passes `(combined,)` and its own account as `resource_account`: both are taken as
    the one policy in the caller's account; another account is never."""
    request = Request(ALICE, action, resource, context)
    fast = authorize(request, identity=(IDENTITY,), resource_account=resource_account)
    general = _general(
        Request(ALICE, action, resource, context), identity=[IDENTITY], resource_account=resource_account
    )
    assert fast == general
    if resource_account == "222222222222":
        assert fast.decision != "Allow"  # no resource policy: another account's resource is never reached


@settings(max_examples=200, deadline=None)
@given(cases())
def test_eval_cases_agree_with_the_fast_path_off(case: dict[str, Any]) -> None:
    fast = evaluate_case(case)
    with _fast_path_off():
        assert evaluate_case(case) == fast


OPERATORS = [
    ("StringEquals", ["a", "B"]),
    ("StringNotEquals", ["a"]),
    ("StringEqualsIgnoreCase", ["A"]),
    ("ForAllValues:StringNotEqualsIgnoreCase", ["a"]),
    ("StringLike", ["a*"]),
    ("ForAnyValue:StringNotLike", ["a?", "*z"]),
    ("StringEqualsIfExists", ["a"]),
    ("Bool", ["true"]),
    ("BoolIfExists", ["false"]),
    ("IpAddress", ["10.0.0.0/8", "::1/128"]),
    ("NotIpAddressIfExists", ["10.0.0.0/8"]),
    ("NumericLessThan", ["5"]),
    ("DateGreaterThan", ["2020-01-01T00:00:00Z"]),
    ("ArnLike", ["arn:aws:s3:::a*"]),
    ("Null", ["true"]),
    ("Bool", ["maybe"]),
    ("StringEquals", ["${aws:username}", "x-${aws:PrincipalTag/team}"]),
    ("StringNotEqualsIgnoreCase", ["${aws:username}"]),
    ("StringLike", ["${aws:username}*"]),
    ("ForAllValues:StringLike", ["${aws:nokey}*"]),
    ("Bool", ["${aws:username}"]),
]
VALUES = ["a", "A", "alice", "az", "x-red", "true", "FALSE", "10.1.1.1", " ::1 ", "01.1.1.1", "3", "7", "x",
          "2021-06-01T00:00:00Z", "arn:aws:s3:::ab", ["a", "b"], ["A"], [], ["10.0.0.1", "bad"]]  # fmt: skip


@pytest.mark.parametrize(("operator", "values"), OPERATORS)
def test_condition_checks_answer_as_the_general_test(operator: str, values: list[str]) -> None:
    condition = CompiledCondition(Condition(operator, "Aws:Key", tuple(values)), True)
    check = compile_check(condition)
    for value in [*VALUES, None]:
        request = Request(ALICE, "s3:GetObject", "*", {} if value is None else {"aws:key": value})
        errors: list[str] = []
        missing: list[str] = []
        got = check(request, request.lookup(), errors, missing)
        expected_errors: list[str] = []
        expected_missing: list[str] = []
        expected = condition.test(request, expected_errors, expected_missing)
        assert (got, errors, missing) == (expected, expected_errors, expected_missing), value


@pytest.mark.parametrize(
    "text",
    ["10.1.2.3", " 10.1.2.3\n", "010.1.2.3", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4/32", "::1",
     "::ffff:1.2.3.4", "fe80::1%eth0", "", "x", "1.2.3.+4", "١.2.3.4", "0.0.0.0", "255.255.255.255"],
)  # fmt: skip
def test_parse_ip_reads_as_ipaddress(text: str) -> None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        assert parse_ip(text) is None
    else:
        assert parse_ip(text) == (address.version, int(address))


def test_request_keys_are_case_insensitive_and_the_last_spelling_wins() -> None:
    request = Request(ALICE, "s3:GetObject", "*", {"aws:SourceIp": "1.1.1.1", "AWS:SOURCEIP": "2.2.2.2",
                                                   "aws:PrincipalTag/team": ["blue", 3]})  # fmt: skip
    assert request.get("aws:sourceip") == ("2.2.2.2",)
    assert request.keys["aws:sourceip"] == ("2.2.2.2",)
    assert request.get("aws:principaltag/team") == ("blue", "3")
    assert request.get("aws:PrincipalTag/dept") == ("eng",)
    assert request.get("aws:username") == ("alice",)
    assert request.get("aws:nothing") is None
    assert request == Request(ALICE, "s3:GetObject", "*", dict(request.context))
    assert request.action_lower == "s3:getobject"
    with pytest.raises(AttributeError):
        request.action = "s3:PutObject"  # type: ignore[misc]


def test_a_request_sees_keys_of_policies_compiled_after_it_was_first_decided() -> None:
    request = Request(ALICE, "s3:GetObject", "*", {"Test:KeyNamedOnlyHere": "yes"})
    first = _compiled([{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}], "identity")
    assert authorize(request, identity=first).decision == "ImplicitDeny"
    later = _compiled(
        [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
          "Condition": {"StringEquals": {"test:keynamedonlyhere": "yes"}}}],
        "identity",
    )  # fmt: skip
    assert authorize(request, identity=later).decision == "Allow"


def test_keys_of_ever_new_policies_do_not_grow_memory_and_still_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # simulated and session policies can name a new key on every request; the engine kept them all
    monkeypatch.setattr(request_module, "_REFERENCED", set())
    monkeypatch.setattr(request_module, "_every_key", False)
    monkeypatch.setattr(request_module, "_REFERENCED_LIMIT", 50)
    for i in range(200):
        condition = {"StringEquals": {f"test:flood{i}": "yes"}}
        policy = _compiled(
            [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": condition}], "identity"
        )
        request = Request(ALICE, "s3:GetObject", "*", {f"Test:Flood{i}": "yes"})
        assert authorize(request, identity=policy).decision == "Allow"
        assert len(request_module._REFERENCED) <= 50
    assert request_module._every_key


@pytest.mark.parametrize("size", [0, 1, 5, 300])
def test_fused_statements_answer_as_each_statement(size: int) -> None:
    answers = [i % 3 == 0 for i in range(size)]
    calls: list[int] = []

    def run(i: int) -> Any:
        return lambda request, keys, errors, missing: calls.append(i) or answers[i]

    fused = fuse([run(i) for i in range(size)])
    mask = fused(Request(ALICE, "s3:GetObject"), {}, [], [])
    assert mask == sum(1 << i for i, hit in enumerate(answers) if hit)
    assert calls == list(range(size))


@pytest.mark.parametrize(("operator", "values"), OPERATORS)
def test_inlined_conditions_give_the_general_decision(operator: str, values: list[str]) -> None:
    statements = [
        {"Sid": "C", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}/*",
         "Condition": {operator: {"Aws:Key": values}, "StringEquals": {"aws:PrincipalTag/dept": "eng"}}},
        {"Sid": "D", "Effect": "Deny", "NotAction": "iam:*", "Resource": "*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "172.16.0.0/12", "::1/128"]}}},
    ]  # fmt: skip
    identity = _compiled(statements, "identity")
    for value in [*VALUES, None]:
        for ip in ["10.0.0.1", "8.8.8.8", "172.20.1.1", "172.32.0.1", "::1", " 10.0.0.1", "bad", None]:
            context: dict[str, Any] = {} if value is None else {"aws:key": value}
            if ip is not None:
                context["AWS:SourceIP"] = ip
            request = Request(ALICE, "s3:GetObject", "arn:aws:s3:::b/alice/k", context)
            fast = authorize(request, identity=identity)
            general = _general(
                Request(ALICE, "s3:GetObject", "arn:aws:s3:::b/alice/k", context), identity=identity
            )
            assert fast == general, (value, ip)


def test_inlined_path_reads_the_last_spelling_of_a_key() -> None:
    identity = _compiled(
        [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
          "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}},
         {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        "identity",
    )  # fmt: skip
    inside = {"aws:sourceip": "8.8.8.8", "AWS:SOURCEIP": "10.1.1.1"}
    outside = {"AWS:SOURCEIP": "10.1.1.1", "aws:sourceip": "8.8.8.8"}
    assert authorize(Request(ALICE, "s3:GetObject", "*", inside), identity=identity).decision == "Allow"
    denied = authorize(Request(ALICE, "s3:GetObject", "*", outside), identity=identity)
    assert denied.decision == "ExplicitDeny"
    assert identity.inlined["s3:GetObject"] is not None
    missing = authorize(Request(ALICE, "s3:GetObject", "*"), identity=identity)
    assert missing.missing_context_keys == ("aws:SourceIp",)


@pytest.mark.parametrize("count", [64, 65, 120])
def test_a_statement_with_more_conditions_than_python_nests_takes_the_general_path(count: int) -> None:
    """Each inlined condition nests one block deeper; past Python's 100 levels the generated source
    would not compile (IndentationError: every request of the principal failed)."""
    keys = {f"aws:RequestTag/k{i}": "x" for i in range(count)}
    identity = _compiled(
        [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*", "Condition": {"StringNotEquals": keys}}],
        "identity",
    )
    request = Request(ALICE, "iam:GetUser", "*", {"aws:RequestTag/k3": "y"})
    fast = authorize(request, identity=identity)
    assert fast == _general(Request(ALICE, "iam:GetUser", "*", {"aws:RequestTag/k3": "y"}), identity=identity)
    assert fast.decision == "Allow"
    assert (identity.inlined["iam:GetUser"] is None) == (count > 64)
