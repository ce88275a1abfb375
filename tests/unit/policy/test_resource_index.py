"""The index by resource leaves out only statements that cannot apply: decisions with it equal those without.

Random policies with more candidates per action than `INDEX_AT`, so the index is in use: resource
patterns built from ARN pieces in several cases, `*` and `?` (which cross `:` and `/`), variables
(`${aws:username}`, tags, defaults, `${*}`), NotResource, several patterns a statement, conditions
that read missing keys or report errors; resources drawn from the same pieces and from patterns
filled in, so that many match.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ostiary.policy import Decision, Principal, Request, authorize, compile_policy, parse_policy
from ostiary.policy.compile import CompiledPolicy
from ostiary.policy.grammar import is_legacy_resource, resource_format_error
from ostiary.policy.resource_index import ALWAYS, SEGMENT_AT, ResourceIndex
from ostiary.policy.slices import INDEX_AT
from ostiary.policy.variables import render_matcher

slices_module = importlib.import_module("ostiary.policy.slices")
authorize_module = importlib.import_module("ostiary.policy.authorize")
index_module = importlib.import_module("ostiary.policy.resource_index")

A = "111111111111"
ALICE = Principal(f"arn:aws:iam::{A}:user/alice", "user", A, "AIDAALICE", {"team": "red"})
# Pieces of resource patterns: shared ARN heads (two cases), segment texts, delimiters, wildcards, variables
HEADS = [
    *("arn:aws:s3:::", "arn:aws:S3:::", f"arn:aws:ec2:us-east-1:{A}:", f"arn:aws:ec2:*:{A}:", "arn:*:s3:::"),
    *("arn:aws:*", "arn:aws:s3:::b", "Arn:aws:s3:::", "?rn:aws:s3:::", "*:aws:s3:::", "${*}rn:aws:s3:::"),
]
TEXTS = ["b", "B", "bucket", "bucket-1", "us-east-1", A, "instance/i-0", "alice", "red", "x"]
DELIMITERS = [":", "/", "-"]
WILD = ["*", "?", "${aws:username}", "${aws:PrincipalTag/team}", "${aws:PrincipalTag/none, 'x'}", "${*}"]
ACTIONS = ["s3:GetObject", "s3:Get*", "s3:*", "*"]
REQUEST_ACTIONS = ["s3:GetObject", "S3:getobject", "s3:GetObjectAcl"]
CONDITIONS: list[dict[str, Any] | None] = [
    None,
    {"StringEquals": {"s3:prefix": "home/"}},
    {"StringNotEqualsIfExists": {"s3:prefix": "${aws:username}"}},
    {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    {"NumericLessThan": {"s3:max-keys": "10"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
]
CONTEXTS: list[dict[str, Any]] = [
    {},
    {"s3:prefix": "home/", "aws:MultiFactorAuthPresent": "true", "aws:SourceIp": "10.1.2.3"},
    {"s3:prefix": "alice", "s3:max-keys": "x", "aws:SourceIp": "203.0.113.1"},
    {"s3:prefix": ["home/", "alice"], "s3:max-keys": "3", "aws:MultiFactorAuthPresent": "false"},
]

pieces = st.sampled_from(TEXTS + DELIMITERS + WILD)
patterns = st.builds(
    lambda head, rest: head + "".join(rest), st.sampled_from(HEADS), st.lists(pieces, max_size=4)
).filter(lambda pattern: not resource_format_error(pattern) and is_legacy_resource(pattern))


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"]))}
    statement["Action"] = draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=2, unique=True))
    resources = draw(st.lists(patterns, min_size=1, max_size=2))
    statement["NotResource" if draw(st.integers(0, 7)) == 0 else "Resource"] = resources
    condition = draw(st.sampled_from(CONDITIONS))
    if condition:
        statement["Condition"] = condition
    return statement


def _filled(pattern: str, rng: random.Random) -> str:
    """A resource the pattern may match: wildcards and variables replaced by text (some with `:`/`/`)."""
    out = pattern
    for variable, value in (("${aws:username}", "alice"), ("${aws:PrincipalTag/team}", "red"),
                            ("${aws:PrincipalTag/none, 'x'}", "x"), ("${*}", "*")):  # fmt: skip
        out = out.replace(variable, value)
    fills = {"*": ["", "a", "b:c", "/d", "B"], "?": ["a", "Z", ":", "/"]}
    return "".join(rng.choice(fills[c]) if c in fills else c for c in out)


@st.composite
def resources(draw: st.DrawFn, policy: list[dict[str, Any]]) -> str:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(st.sampled_from(HEADS)) + "".join(
            draw(st.lists(st.sampled_from(TEXTS + DELIMITERS), max_size=4))
        )
    if kind == 1:
        return "*"
    statement = draw(st.sampled_from(policy))
    pattern = draw(st.sampled_from(statement.get("Resource") or statement["NotResource"]))
    tail = draw(st.sampled_from(["", "", ":x", "/k", "b"]))  # past a trailing `*`, or a near miss
    return _filled(pattern, random.Random(draw(st.integers(0, 1000)))) + tail


def _compiled(statements: list[dict[str, Any]], kind: str = "identity", name: str = "p") -> CompiledPolicy:
    return compile_policy(parse_policy({"Version": "2012-10-17", "Statement": statements}, kind), name, kind)


@contextmanager
def _unindexed() -> Iterator[None]:
    """Policies compiled and first used inside the block keep every candidate in one slice."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(slices_module, "INDEX_AT", 10**9)
        yield


@contextmanager
def _general_path() -> Iterator[None]:
    """authorize() takes its general path inside the block."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(authorize_module, "identity_only", lambda *args: None)
        patch.setattr(authorize_module, "_FAST_TYPES", frozenset())
        yield


def _unindexed_decisions(requests: list[Request], **documents: Any) -> list[Decision]:
    """The decisions with no index (fresh policies, so no slice was built before)."""
    with _unindexed():
        policies = _policies(**documents)
        assert all(p.sliced("s3:GetObject").index is None for p in _flat(policies))
        return [authorize(request, **policies) for request in requests]


def _policies(
    identity: list[list[dict[str, Any]]],
    boundary: list[dict[str, Any]] | None,
    resource: list[dict[str, Any]] | None,
    resource_account: str | None,
) -> dict[str, Any]:
    compiled = [_compiled(doc, name=f"p{i}") for i, doc in enumerate(identity)]
    return {
        "identity": compiled[0] if len(compiled) == 1 else compiled,
        "boundary": None if boundary is None else _compiled(boundary, "boundary", "b"),
        "resource": None if resource is None else _compiled(resource, "resource", "r"),
        "resource_account": resource_account,
    }


def _flat(policies: dict[str, Any]) -> list[CompiledPolicy]:
    identity = policies["identity"]
    found = [identity] if isinstance(identity, CompiledPolicy) else list(identity)
    return found + [policies[kind] for kind in ("boundary", "resource") if policies[kind] is not None]


many = st.lists(statements(), min_size=INDEX_AT + 1, max_size=INDEX_AT + 12)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], list[Request]]:
    identity = draw(st.lists(many, min_size=1, max_size=2))
    boundary = draw(st.none() | many)
    resource = draw(st.none() | many)  # a resource policy: the general path, Principal elements
    if resource is not None:
        principal = draw(st.sampled_from(["*", {"AWS": A}, {"AWS": ALICE.arn}, {"AWS": "222222222222"}]))
        resource = [dict(statement, Principal=principal) for statement in resource]
    every = [s for doc in [*identity, boundary or [], resource or []] for s in doc]
    requests = [
        Request(
            ALICE,
            draw(st.sampled_from(REQUEST_ACTIONS)),
            draw(resources(every)),
            draw(st.sampled_from(CONTEXTS)),
        )
        for _ in range(draw(st.integers(1, 8)))
    ]
    account = draw(st.sampled_from([None, A, "222222222222"]))
    return {
        "identity": identity,
        "boundary": boundary,
        "resource": resource,
        "resource_account": account,
    }, requests


@contextmanager
def _segment_at(count: int) -> Iterator[None]:
    """Indexes built inside the block use the colon table past `count` short patterns."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index_module, "SEGMENT_AT", count)
        yield


@pytest.mark.parametrize("segment_at", [SEGMENT_AT, -1])
@settings(max_examples=45, deadline=None)
@given(scenario=scenarios())
def test_indexed_decisions_equal_the_unindexed_ones(
    segment_at: int, scenario: tuple[dict[str, Any], list[Request]]
) -> None:
    documents, requests = scenario
    expected = _unindexed_decisions(requests, **documents)
    with _segment_at(segment_at):
        policies = _policies(**documents)
        assert all(p.sliced("s3:GetObject").index is not None for p in _flat(policies))
        assert [authorize(request, **policies) for request in requests] == expected
        assert [authorize(request, **policies) for request in requests] == expected  # slices remembered
        with _general_path():
            assert [authorize(request, **policies) for request in requests] == expected


@pytest.mark.parametrize("segment_at", [SEGMENT_AT, -1])
@settings(max_examples=80, deadline=None)
@given(doc=st.lists(statements(), min_size=1, max_size=30), data=st.data())
def test_a_statement_left_out_does_not_match_the_resource(
    segment_at: int, doc: list[dict[str, Any]], data: st.DataObject
) -> None:
    policy = _compiled(doc)
    with _segment_at(segment_at):
        index = ResourceIndex(policy.statements)
    for _ in range(5):
        resource = data.draw(resources(doc))
        chosen = set(index.select(resource))
        assert list(index.select(resource)) == sorted(chosen)
        for position, statement in enumerate(policy.statements):
            if position not in chosen:
                assert not statement._is_not_resource
                assert not any(m(resource) for m in statement._resources)
                rendered = [
                    render_matcher(parts, Request(ALICE, "s3:GetObject", resource))
                    for _, parts in statement._templates
                ]
                assert not any(m(resource) for m in rendered if m is not None)


def _statement(resource: str, not_resource: bool = False) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        ("NotResource" if not_resource else "Resource"): resource,
    }


def test_the_index_picks_by_literal_prefix_and_keeps_wildcard_heads_and_not_resource() -> None:
    doc = [_statement(f"arn:aws:s3:::tenant-{i}/*") for i in range(40)]
    doc += [
        _statement("*"),
        _statement("arn:aws:s3:::tenant-1*"),
        _statement("${*}rn:aws:s3:::${aws:username}/*"),
        _statement("arn:aws:s3:::tenant-1/${aws:username}/*"),
        _statement("arn:aws:s3:::other", not_resource=True),
        _statement("?rn:aws:s3:::x"),
    ]
    index = ResourceIndex(_compiled(doc).statements)
    always = (40, 42, 44, 45)
    assert index.select("arn:aws:s3:::tenant-1/k") == (1, 40, 41, 42, 43, 44, 45)
    assert index.select("arn:aws:s3:::tenant-12/k") == (12, 40, 41, 42, 44, 45)
    assert index.select("arn:aws:s3:::tenant-1") == (40, 41, 42, 44, 45)
    assert index.select("arn:aws:s3:::tenant-") == always
    assert index.select("arn:aws:S3:::tenant-1/k") == always  # ARNs compare case-sensitively
    assert index.select("*") == always
    assert index.entry("") == ALWAYS
    assert index.entries == 41


def test_an_action_with_many_candidates_is_decided_on_its_slice() -> None:
    doc = [_statement(f"arn:aws:s3:::tenant-{i}/*") for i in range(100)]
    doc.append({"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:*:tenant-7/secret*"})
    policy = _compiled(doc)
    whole = policy.sliced("s3:GetObject").whole
    piece = policy.slice("s3:GetObject", "arn:aws:s3:::tenant-7/secret.txt")
    assert len(whole.statements) == 101 and [s.matched.index for s in piece.statements] == [7, 100]
    denied = authorize(Request(ALICE, "s3:GetObject", "arn:aws:s3:::tenant-7/secret.txt"), identity=policy)
    assert denied.decision == "ExplicitDeny" and [s.index for s in denied.statements] == [100]
    allowed = authorize(Request(ALICE, "s3:GetObject", "arn:aws:s3:::tenant-70/a"), identity=[policy])
    assert allowed.decision == "Allow" and [s.index for s in allowed.statements] == [70]
    # `*` crosses ARN segments: the Deny's prefix `arn:aws:` keeps it for any ARN
    crossing = authorize(Request(ALICE, "s3:GetObject", "arn:aws:s3:x:y:tenant-7/secret"), identity=policy)
    assert crossing.decision == "ExplicitDeny"
    assert authorize(Request(ALICE, "s3:GetObject", "arn:aws:s3:::tenant-/x"), identity=policy).decision == (
        "ImplicitDeny"
    )


def test_a_resource_whose_only_variable_is_a_special_character_is_decided() -> None:
    doc = [_statement("arn:aws:s3:::${*}"), _statement("arn:aws:s3:::a${?}${$}")]
    policy = _compiled(doc)
    assert authorize(Request(ALICE, "s3:GetObject", "arn:aws:s3:::*"), identity=policy).decision == "Allow"
    assert authorize(Request(ALICE, "s3:GetObject", "arn:aws:s3:::a?$"), identity=policy).decision == "Allow"
    assert (
        authorize(Request(ALICE, "s3:GetObject", "arn:aws:s3:::x"), identity=policy).decision
        == "ImplicitDeny"
    )


def test_patterns_with_a_wildcard_region_are_found_by_the_text_after_it() -> None:
    doc = [_statement(f"arn:aws:dynamodb:*:{A}:table/t{i}") for i in range(40)]
    doc.append(_statement("arn:aws:dynamodb:*"))
    doc.append(_statement("arn:aws:dynamodb:*:b*"))  # a key shorter than the others' heads: `:b`
    index = ResourceIndex(_compiled(doc).statements)
    assert index.select("arn:aws:dynamodb:us-east-1:bucket-like:x") == (40, 41)
    assert index.select(f"arn:aws:dynamodb:us-east-1:{A}:table/t7") == (7, 40)
    assert index.select(f"arn:aws:dynamodb:eu-west-1:{A}:table/t30") == (3, 30, 40)  # t3 is a prefix: kept
    assert index.select(f"arn:aws:dynamodb:a:b:c:{A}:table/t3") == (3, 40, 41)  # `*` crossing colons
    assert index.select("arn:aws:dynamodb:us-east-1:222222222222:table/t7") == (40,)
    assert index.select("arn:aws:s3:::b") == ()
    assert index.entries == 42


def test_a_huge_resource_full_of_colons_is_looked_up_a_key_length_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = [_statement(f"arn:aws:dynamodb:*:{A}:table/t{i}") for i in range(40)]
    policy = _compiled(doc)
    looked: list[int] = []
    entry = index_module._Table.entry
    monkeypatch.setattr(
        index_module._Table, "entry", lambda self, text: looked.append(len(text)) or entry(self, text)
    )
    resource = "arn:aws:dynamodb:us-east-1" + f":{A}:table/t3" * 20_000
    index = ResourceIndex(policy.statements)
    assert index.select(resource) == (3,)
    assert len(looked) == 20_001 and max(looked[1:]) <= len(f":{A}:table/t39")  # [0]: the prefix table
    # (`:table/t3` starts with no key's head: only the 20,000 colons before the account are looked up)
    decision = authorize(Request(ALICE, "s3:GetObject", resource), identity=policy)
    assert decision.decision == "Allow"  # the region's `*` runs to the last `:111111111111:table/t3`
    assert (
        authorize(Request(ALICE, "s3:GetObject", resource + "x"), identity=policy).decision == "ImplicitDeny"
    )


def test_a_policy_keeps_a_bounded_number_of_slices_over_all_its_actions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(slices_module, "SLICES_LIMIT", 10)
    doc = [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::b{i}/*"}
        for i in range(40)
    ]
    policy = _compiled(doc)
    with _unindexed():
        unindexed = _compiled(doc)
        expected = {
            (action, i): authorize(Request(ALICE, action, f"arn:aws:s3:::b{i}/k"), identity=unindexed)
            for action in ("s3:GetObject", "s3:PutObject")
            for i in range(40)
        }
    for (action, i), decision in expected.items():
        assert authorize(Request(ALICE, action, f"arn:aws:s3:::b{i}/k"), identity=policy) == decision
        kept = sum(policy.sliced(name).kept for name in ("s3:GetObject", "s3:PutObject"))
        assert 1 <= kept <= 11
    assert [s.index for s in expected[("s3:PutObject", 39)].statements] == [39]
    again = authorize(Request(ALICE, "s3:GetObject", "arn:aws:s3:::b3/k"), identity=policy)
    assert again == expected[("s3:GetObject", 3)]  # a dropped slice is built again
