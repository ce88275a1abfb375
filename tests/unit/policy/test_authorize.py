"""authorize() through the public API: decisions, deciding statements, reasons, errors, missing keys."""

from __future__ import annotations

from typing import Any

from ostiary.policy import (
    Decision,
    PolicySet,
    PolicySetCache,
    Principal,
    Request,
    authorize,
    authorize_assume_role,
    combine_policies,
    compile_policy,
    parse_policy,
)

A = "111111111111"
ALICE = Principal(f"arn:aws:iam::{A}:user/alice", "user", A, "AIDAALICE", {"Team": "red"})


def _compiled(statements: list[dict[str, Any]], policy_id: str = "p", kind: str = "identity") -> Any:
    document = {"Version": "2012-10-17", "Statement": statements}
    return compile_policy(parse_policy(document, kind), policy_id, kind)


def _decide(statements: list[dict[str, Any]], action: str = "s3:GetObject", **context: Any) -> Decision:
    request = Request(ALICE, action, "arn:aws:s3:::b/k", context)
    return authorize(request, identity=[_compiled(statements)])


def test_allow_names_the_statement_and_its_position() -> None:
    text = (
        '{"Version": "2012-10-17",\n "Statement": '
        '[{"Sid": "Read", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}'
    )
    policy = compile_policy(parse_policy(text), "arn:aws:iam::111111111111:policy/read", "identity")
    decision = authorize(Request(ALICE, "s3:GetObject", "arn:aws:s3:::b/k"), identity=policy)
    assert decision.is_allowed and decision.reason == ""
    (statement,) = decision.statements
    assert (statement.policy_id, statement.sid, statement.index) == (
        "arn:aws:iam::111111111111:policy/read",
        "Read",
        0,
    )
    assert statement.start is not None and (statement.start.line, statement.start.column) == (2, 16)


def test_implicit_deny_message_is_awss() -> None:
    decision = _decide([{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}])
    assert decision.decision == "ImplicitDeny" and decision.statements == ()
    assert decision.message(ALICE.arn, "s3:GetObject", "arn:aws:s3:::b/k") == (
        "User: arn:aws:iam::111111111111:user/alice is not authorized to perform: s3:GetObject on resource: "
        "arn:aws:s3:::b/k because no identity-based policy allows the s3:GetObject action"
    )


def test_explicit_deny_lists_every_matching_deny() -> None:
    decision = _decide(
        [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Sid": "One", "Effect": "Deny", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        ]
    )
    assert decision.decision == "ExplicitDeny"
    assert [s.label for s in decision.statements] == ["p:One", "p:#2"]
    assert decision.reason == "with an explicit deny in an identity-based policy"


def test_bad_condition_value_is_an_error_not_an_exception() -> None:
    statements = [
        {
            "Sid": "N",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"NumericLessThan": {"s3:max-keys": "ten"}},
        }
    ]
    decision = _decide(statements, **{"s3:max-keys": "3"})
    assert decision.decision == "ImplicitDeny" and decision.statements == ()
    assert decision.errors == ("NumericLessThan s3:max-keys: could not convert string to float: 'ten'",)


def test_missing_context_keys_are_reported_as_written() -> None:
    statements = [
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    ]
    decision = _decide(statements)
    assert (decision.decision, decision.missing_context_keys) == (
        "ImplicitDeny",
        ("aws:MultiFactorAuthPresent",),
    )


def test_context_keys_are_case_insensitive_and_principal_tags_derived() -> None:
    statements = [
        {
            "Sid": "T",
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:principaltag/team": "red"}},
        }
    ]
    assert _decide(statements).is_allowed
    assert _decide(
        [{**statements[0], "Condition": {"StringEquals": {"AWS:SourceVpc": "vpc-1"}}}],
        **{"aws:sourcevpc": "vpc-1"},
    ).is_allowed


def test_combined_identity_policies_keep_their_ids() -> None:
    one = _compiled([{"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}], "one")
    two = _compiled([{"Sid": "B", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}], "two")
    decision = authorize(Request(ALICE, "s3:GetObject", "x"), identity=combine_policies([one, two]))
    assert [s.label for s in decision.statements] == ["one:A", "two:B"]


def test_assume_role_same_account_trust_naming_caller() -> None:
    trust = _compiled(
        [{"Sid": "T", "Effect": "Allow", "Principal": {"AWS": ALICE.arn}, "Action": "sts:AssumeRole"}],
        "trust",
        "trust",
    )
    role = f"arn:aws:iam::{A}:role/r"
    decision = authorize_assume_role(Request(ALICE, "sts:AssumeRole", role), trust, role_account=A)
    assert decision.is_allowed and [s.label for s in decision.statements] == ["trust:T"]


def test_assume_role_needs_trust_even_when_identity_allows() -> None:
    trust = _compiled(
        [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        "trust",
        "trust",
    )
    identity = _compiled([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}])
    request = Request(ALICE, "sts:AssumeRole", f"arn:aws:iam::{A}:role/r")
    decision = authorize_assume_role(request, trust, role_account=A, identity=[identity])
    assert decision.decision == "ImplicitDeny"
    assert decision.reason == "because no resource-based policy allows the sts:AssumeRole action"


def test_policy_set_cache_reuses_until_version_changes() -> None:
    cache = PolicySetCache(max_size=2)
    built: list[int] = []

    def build() -> PolicySet:
        built.append(1)
        return PolicySet(identity=_compiled([{"Effect": "Allow", "Action": "*", "Resource": "*"}]))

    first = cache.get("alice", 1, build)
    assert cache.get("alice", 1, build) is first and len(built) == 1
    assert cache.get("alice", 2, build) is not first and len(built) == 2
    cache.get("bob", 1, build)
    assert len(cache) == 2
    cache.invalidate("bob")
    assert len(cache) == 1
    cache.invalidate()
    assert len(cache) == 0


def test_kms_needs_the_key_policy_unless_it_is_unknown() -> None:
    key = f"arn:aws:kms:us-east-1:{A}:key/k"
    request = Request(ALICE, "kms:Decrypt", key)
    identity = [_compiled([{"Sid": "Kms", "Effect": "Allow", "Action": "kms:*", "Resource": "*"}])]
    refused = authorize(request, identity=identity)
    assert (refused.decision, refused.reason, refused.statements) == (
        "ImplicitDeny",
        "because no resource-based policy allows the kms:Decrypt action",
        (),
    )
    simulated = authorize(request, identity=identity, resource_known=False)
    assert simulated.decision == "Allow" and [s.sid for s in simulated.statements] == ["Kms"]
