"""The AWS principals a policy names, and their rewriting, touch Principal and NotPrincipal only."""

from __future__ import annotations

import json

from ostiary.policy import aws_principals, is_unique_id, is_user_or_role_arn, with_aws_principal

BOB = "arn:aws:iam::123456789012:user/team/bob"
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": [BOB, "123456789012"]}, "Action": "s3:*",
             "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalArn": BOB}}},
            {"Effect": "Deny", "NotPrincipal": {"AWS": BOB, "Service": "s3.amazonaws.com"}, "Action": "s3:*",
             "Resource": "*"},
        ],
    }
)  # fmt: skip


def test_the_aws_principals_of_principal_and_not_principal_each_once() -> None:
    assert aws_principals(POLICY) == (BOB, "123456789012")
    assert aws_principals("not json") == ()
    statement = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/r"}, "Action": "sts:AssumeRole"}
    assert aws_principals(json.dumps({"Statement": statement})) == ("arn:aws:iam::1:role/r",)


def test_a_rewrite_replaces_the_principal_and_never_a_condition_value() -> None:
    rewritten = json.loads(with_aws_principal(POLICY, BOB, "AIDAEXAMPLE000000001") or "")
    first, second = rewritten["Statement"]
    assert first["Principal"] == {"AWS": ["AIDAEXAMPLE000000001", "123456789012"]}
    assert first["Condition"] == {"StringEquals": {"aws:PrincipalArn": BOB}}
    assert second["NotPrincipal"] == {"AWS": "AIDAEXAMPLE000000001", "Service": "s3.amazonaws.com"}
    assert with_aws_principal(POLICY, "arn:aws:iam::123456789012:user/team/Bob", "X") is None


def test_which_principals_iam_binds() -> None:
    assert is_user_or_role_arn(BOB) and is_user_or_role_arn("arn:aws:iam::123456789012:role/r")
    for name in (
        "arn:aws:iam::123456789012:root",
        "123456789012",
        "arn:aws:sts::123456789012:assumed-role/r/s",
        "arn:aws:iam::123456789012:federated-user/f",
        "arn:aws:iam::123456789012:user/*",
    ):
        assert not is_user_or_role_arn(name), name
    assert is_unique_id("AIDAEXAMPLE000000001") and not is_unique_id(BOB)
