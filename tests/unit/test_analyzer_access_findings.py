"""The pure parts of Access Analyzer's findings: who outside an account a policy lets in, what an identity's
policies grant but it did not use, and the finding filters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ostiary.access_analyzer.errors import ValidationException
from ostiary.access_analyzer.findings_filter import check, matches
from ostiary.analyzer.external_access import external_grants
from ostiary.analyzer.unused_access import Usage, granted_actions, is_unused, unused_permissions
from ostiary.policy import parse_policy

OWNER = "111122223333"
OTHER = "444455556666"


def _grants(statements: list[dict[str, Any]], kind: str = "trust", service: str = "sts") -> list[Any]:
    policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": statements}), kind)
    return external_grants(policy, OWNER, service)


def _allow(principal: Any, action: Any = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, **extra}


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ({"AWS": OTHER}, [("AWS", OTHER)]),
        ({"AWS": f"arn:aws:iam::{OTHER}:role/x"}, [("AWS", f"arn:aws:iam::{OTHER}:role/x")]),
        ({"AWS": OWNER}, []),
        ({"AWS": f"arn:aws:iam::{OWNER}:root"}, []),
        ({"Service": "lambda.amazonaws.com"}, []),
        ("*", [("AWS", "*")]),
        ({"AWS": "*"}, [("AWS", "*")]),
        ({"Federated": "accounts.google.com"}, [("Federated", "accounts.google.com")]),
        ({"AWS": [OWNER, OTHER]}, [("AWS", OTHER)]),
    ],
)
def test_who_is_outside(principal: Any, expected: list[tuple[str, str]]) -> None:
    assert [g.principal for g in _grants([_allow(principal)])] == expected


def test_public_only_without_limiting_conditions() -> None:
    (open_grant,) = _grants([_allow("*")])
    assert open_grant.is_public
    (limited,) = _grants([_allow("*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})])
    assert not limited.is_public and limited.condition == (("aws:SourceIp", "10.0.0.0/8"),)
    assert _grants([_allow("*", Condition={"StringEquals": {"aws:PrincipalAccount": OWNER}})]) == []
    (other,) = _grants([_allow("*", Condition={"StringEquals": {"aws:PrincipalAccount": OTHER}})])
    assert not other.is_public


def test_unconditional_deny_takes_back_and_actions_merge() -> None:
    statements = [
        _allow({"AWS": OTHER}, ["sts:AssumeRole", "sts:TagSession"]),
        _allow({"AWS": OTHER}, "sts:SetSourceIdentity"),
        {"Effect": "Deny", "Principal": {"AWS": OTHER}, "Action": "sts:TagSession"},
    ]
    (grant,) = _grants(statements)
    assert grant.actions == ("sts:AssumeRole", "sts:SetSourceIdentity")
    denied = [_allow({"AWS": OTHER}), {"Effect": "Deny", "Principal": "*", "Action": "sts:*"}]
    assert _grants(denied) == []


def test_resource_policy_actions_are_the_resources_service() -> None:
    statements = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": OTHER},
            "Action": ["s3:GetObject", "kms:Decrypt"],
            "Resource": "arn:aws:s3:::b/*",
        },
        {"Effect": "Allow", "Principal": {"AWS": OTHER}, "NotAction": "s3:Delete*", "Resource": "*"},
    ]
    (grant,) = _grants(statements, "resource", "s3")
    assert grant.actions == ("s3:*", "s3:GetObject")


def test_unused_permissions() -> None:
    now = datetime(2026, 12, 4, tzinfo=UTC)
    cutoff = now - timedelta(days=90)
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "ec2:*", "*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
        ],
    }
    granted = granted_actions([parse_policy(json.dumps(document))])
    assert granted == {"s3": {"GetObject", "PutObject"}, "ec2": {"*"}}
    usage = Usage()
    usage.add("s3", "GetObject", now - timedelta(days=1))
    usage.add("ec2", "RunInstances", now - timedelta(days=200))
    details = unused_permissions(granted, usage, cutoff)
    assert details == [
        {"serviceNamespace": "ec2", "lastAccessed": now - timedelta(days=200)},
        {
            "serviceNamespace": "s3",
            "actions": [{"action": "PutObject"}],
            "lastAccessed": now - timedelta(days=1),
        },
    ]
    assert is_unused(now - timedelta(days=100), None, cutoff)
    assert not is_unused(now - timedelta(days=10), None, cutoff)
    assert not is_unused(now - timedelta(days=100), now - timedelta(days=3), cutoff)


def test_filters() -> None:
    finding = {
        "id": "f",
        "status": "ACTIVE",
        "resource": "arn:aws:iam::1:role/r",
        "isPublic": False,
        "principal": {"AWS": OTHER},
        "action": ["sts:AssumeRole"],
        "condition": {"sts:ExternalId": "x"},
    }
    assert matches(check({"principal.AWS": {"eq": [OTHER]}}, "ACCOUNT"), finding)
    assert not matches(check({"principal.AWS": {"neq": [OTHER]}}, "ACCOUNT"), finding)
    assert matches(
        check({"isPublic": {"eq": ["false"]}, "action": {"contains": ["Assume"]}}, "ACCOUNT"), finding
    )
    assert matches(check({"condition.STS:EXTERNALID": {"exists": True}}, "ACCOUNT"), finding)
    assert matches(check({"principal.Federated": {"exists": False}}, "ACCOUNT"), finding)
    with pytest.raises(ValidationException):
        check({"principal.AWS": {"eq": [OTHER]}}, "ACCOUNT_UNUSED_ACCESS")
    with pytest.raises(ValidationException):
        check({"status": {"eq": ["A"], "like": ["%"]}}, "ACCOUNT")
