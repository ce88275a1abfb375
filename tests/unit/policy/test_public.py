"""S3's meaning of a "public" policy (Block Public Access), one rule at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ostiary.policy import parse_policy
from ostiary.policy.public import is_public

OBJECTS = "arn:aws:s3:::b/*"


def _policy(*statements: dict[str, Any]) -> Any:
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}), "resource")


def _allow(principal: Any, condition: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": OBJECTS}
    if condition is not None:
        statement["Condition"] = condition
    return {**statement, **extra}


@pytest.mark.parametrize(
    ("principal", "public"),
    [
        ("*", True),
        ({"AWS": "*"}, True),
        ({"AWS": "arn:aws:iam::111122223333:root"}, False),
        ({"AWS": "111122223333"}, False),
        ({"AWS": ["111122223333", "*"]}, True),  # one principal not fixed is enough
        ({"Service": "cloudtrail.amazonaws.com"}, False),
        ({"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}, False),
    ],
)
def test_a_statement_is_public_unless_its_principals_are_fixed(principal: Any, public: bool) -> None:
    assert is_public(_policy(_allow(principal))) is public


def test_an_allow_with_not_principal_is_public_and_a_deny_never_is() -> None:
    not_principal = {
        "Effect": "Allow",
        "NotPrincipal": {"AWS": "111122223333"},
        "Action": "s3:*",
        "Resource": OBJECTS,
    }
    assert is_public(_policy(not_principal))
    assert not is_public(_policy({**_allow("*"), "Effect": "Deny"}))


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:SourceAccount": "111122223333"}},
        {"ArnEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/t"}},
        {"StringEquals": {"aws:SourceVpc": "vpc-1a2b3c4d"}},
        {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
        {"StringEquals": {"aws:SourceOwner": "111122223333"}},
        {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
        {"StringEquals": {"aws:PrincipalAccount": "111122223333"}},
        {"StringEquals": {"aws:userid": "AIDAEXAMPLE"}},
        {"StringEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:1:key/k"}},
        {"StringEquals": {"s3:DataAccessPointAccount": "111122223333"}},
        {"StringLike": {"aws:SourceVpc": "vpc-1a2b3c4d"}},  # a pattern without a wildcard is fixed
        {"ForAnyValue:StringEquals": {"aws:SourceVpc": ["vpc-1", "vpc-2"]}},
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "10.0.0.0/8"]}},
        {"IpAddress": {"aws:SourceIp": "2001:db8::/32"}},
        {"StringEquals": {"AWS:SOURCEACCOUNT": "111122223333"}},  # keys are case-insensitive
    ],
)
def test_a_condition_fixing_a_listed_key_makes_a_public_principal_non_public(
    condition: dict[str, Any],
) -> None:
    assert not is_public(_policy(_allow("*", condition)))


@pytest.mark.parametrize(
    "condition",
    [
        {"StringLike": {"aws:SourceVpc": "vpc-*"}},  # a wildcard
        {"StringEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}},  # a policy variable
        {"StringNotEquals": {"aws:SourceAccount": "111122223333"}},  # a negation fixes nothing
        {"StringEqualsIfExists": {"aws:SourceAccount": "111122223333"}},  # an absent key passes
        {"ForAllValues:StringEquals": {"aws:SourceVpc": ["vpc-1"]}},  # an absent key passes
        {"StringEquals": {"aws:SecureTransport": "true"}},  # not a key S3 lists
        {"Bool": {"aws:SecureTransport": "true"}},
        {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"IpAddress": {"aws:SourceIp": "0.0.0.0/1"}},  # broader than /8
        {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "0.0.0.0/0"]}},  # one broad range is enough
        {"IpAddress": {"aws:SourceIp": "2001:db8::/31"}},  # broader than /32
        {"StringEquals": {"aws:userid": "AROAEXAMPLE:*"}},  # the pattern AROLEID:*
    ],
)
def test_a_condition_that_does_not_fix_a_listed_key_leaves_it_public(condition: dict[str, Any]) -> None:
    assert is_public(_policy(_allow("*", condition)))


def test_a_policy_is_public_when_any_statement_is() -> None:
    fixed = _allow({"AWS": "111122223333"})
    assert not is_public(_policy(fixed, {**_allow("*"), "Effect": "Deny"}))
    assert is_public(_policy(fixed, _allow("*")))
