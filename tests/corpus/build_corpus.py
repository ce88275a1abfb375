"""Writes the corpus files from the readable table below (run by hand; the JSONL is what tests read).

Each case pins one documented AWS rule; `expect` is written by hand, never produced by the engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

A = "111111111111"
B = "222222222222"
ALICE = {
    "type": "user",
    "arn": f"arn:aws:iam::{A}:user/alice",
    "account": A,
    "user_id": "AIDAALICEEXAMPLE1",
    "tags": {"team": "red"},
}
BOB_B = {"type": "user", "arn": f"arn:aws:iam::{B}:user/bob", "account": B, "user_id": "AIDABOBEXAMPLE111"}
SESSION = {
    "type": "assumed-role",
    "arn": f"arn:aws:sts::{A}:assumed-role/dev/s1",
    "role_arn": f"arn:aws:iam::{A}:role/dev",
    "role_id": "AROADEVEXAMPLE111",
    "session_name": "s1",
    "account": A,
    "tags": {"team": "blue"},
}
ROOT = {"type": "root", "arn": f"arn:aws:iam::{A}:root", "account": A}
EC2 = {"type": "service", "arn": "ec2.amazonaws.com", "account": None}
FED = {
    "type": "federated",
    "arn": f"arn:aws:sts::{A}:federated-user/fred",
    "user_arn": f"arn:aws:iam::{A}:user/alice",
    "account": A,
}
WEB = {
    "type": "federated",
    "arn": "accounts.google.com",
    "federation": "web-identity",
    "provider": "accounts.google.com",
}
BUCKET = "arn:aws:s3:::bucket/key"


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    out: dict[str, Any] = {"Statement": list(statements)}
    if version:
        out["Version"] = version
    return out


def allow(action: Any = "s3:GetObject", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "s3:GetObject", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def case(
    case_id: str,
    expect: str,
    reasons: list[str],
    principal: dict[str, Any] = ALICE,
    action: str = "s3:GetObject",
    resource: str = BUCKET,
    context: dict[str, Any] | None = None,
    **policies: Any,
) -> dict[str, Any]:
    line = {
        "id": case_id,
        "account": principal.get("account"),
        "principal": principal,
        "identity_policies": policies.pop("identity", []),
        "boundary": None,
        "session_policies": None,
        "scps": None,
        "resource_policy": None,
        "resource_account": None,
        "request": {"action": action, "resource": resource, "context": context or {}},
    }
    line.update(policies)
    line["expect"] = {"decision": expect, "reasons": reasons}
    return line


def no_id(action: str = "s3:GetObject") -> str:
    return f"because no identity-based policy allows the {action} action"


ID_DENY = "with an explicit deny in an identity-based policy"


def cond(operator: str, key: str, values: Any) -> dict[str, Any]:
    return {"Condition": {operator: {key: values}}}


def condition_cases() -> list[dict[str, Any]]:
    """One operator each, true and false, and the absent-key rule."""
    rows = [
        ("string-equals-matches", "StringEquals", "s3:prefix", "home/", {"s3:prefix": "home/"}, True),
        (
            "string-equals-is-case-sensitive",
            "StringEquals",
            "s3:prefix",
            "home/",
            {"s3:prefix": "HOME/"},
            False,
        ),
        ("string-equals-values-are-ored", "StringEquals", "s3:prefix", ["a", "b"], {"s3:prefix": "b"}, True),
        ("string-equals-absent-key-is-false", "StringEquals", "s3:prefix", "a", {}, False),
        ("string-not-equals-absent-key-is-true", "StringNotEquals", "s3:prefix", "a", {}, True),
        (
            "string-not-equals-other-value",
            "StringNotEquals",
            "s3:prefix",
            ["a", "b"],
            {"s3:prefix": "c"},
            True,
        ),
        (
            "string-not-equals-listed-value",
            "StringNotEquals",
            "s3:prefix",
            ["a", "b"],
            {"s3:prefix": "a"},
            False,
        ),
        (
            "string-equals-ignore-case",
            "StringEqualsIgnoreCase",
            "s3:prefix",
            "Home",
            {"s3:prefix": "hOME"},
            True,
        ),
        (
            "string-not-equals-ignore-case",
            "StringNotEqualsIgnoreCase",
            "s3:prefix",
            "Home",
            {"s3:prefix": "hOME"},
            False,
        ),
        ("string-like-star", "StringLike", "s3:prefix", "home/*", {"s3:prefix": "home/a/b"}, True),
        ("string-like-question-mark", "StringLike", "s3:prefix", "a?c", {"s3:prefix": "abc"}, True),
        ("string-like-question-is-one-char", "StringLike", "s3:prefix", "a?c", {"s3:prefix": "abbc"}, False),
        ("string-not-like", "StringNotLike", "s3:prefix", "home/*", {"s3:prefix": "etc/x"}, True),
        ("numeric-less-than", "NumericLessThan", "s3:max-keys", "10", {"s3:max-keys": "9"}, True),
        (
            "numeric-less-than-equal-bound",
            "NumericLessThan",
            "s3:max-keys",
            "10",
            {"s3:max-keys": "10"},
            False,
        ),
        (
            "numeric-less-than-equals",
            "NumericLessThanEquals",
            "s3:max-keys",
            "10",
            {"s3:max-keys": "10"},
            True,
        ),
        ("numeric-greater-than", "NumericGreaterThan", "s3:max-keys", "10", {"s3:max-keys": "11"}, True),
        (
            "numeric-greater-than-equals",
            "NumericGreaterThanEquals",
            "s3:max-keys",
            "10",
            {"s3:max-keys": "9"},
            False,
        ),
        ("numeric-equals-decimal", "NumericEquals", "s3:max-keys", "10", {"s3:max-keys": "10.0"}, True),
        ("numeric-not-equals", "NumericNotEquals", "s3:max-keys", "10", {"s3:max-keys": "11"}, True),
        (
            "numeric-request-value-not-a-number",
            "NumericEquals",
            "s3:max-keys",
            "10",
            {"s3:max-keys": "ten"},
            False,
        ),
        (
            "date-less-than-iso",
            "DateLessThan",
            "aws:CurrentTime",
            "2030-01-01T00:00:00Z",
            {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
            True,
        ),
        (
            "date-greater-than-iso",
            "DateGreaterThan",
            "aws:CurrentTime",
            "2030-01-01T00:00:00Z",
            {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
            False,
        ),
        (
            "date-epoch-value",
            "DateGreaterThanEquals",
            "aws:EpochTime",
            "1700000000",
            {"aws:EpochTime": "2024-01-01T00:00:00Z"},
            True,
        ),
        (
            "date-equals-zones",
            "DateEquals",
            "aws:CurrentTime",
            "2026-01-01T01:00:00+01:00",
            {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
            True,
        ),
        (
            "date-not-equals",
            "DateNotEquals",
            "aws:CurrentTime",
            "2026-01-01T00:00:00Z",
            {"aws:CurrentTime": "2026-01-02T00:00:00Z"},
            True,
        ),
        (
            "date-less-than-equals",
            "DateLessThanEquals",
            "aws:CurrentTime",
            "2026-01-01T00:00:00Z",
            {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
            True,
        ),
        ("bool-true", "Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": "true"}, True),
        (
            "bool-is-case-insensitive",
            "Bool",
            "aws:SecureTransport",
            "true",
            {"aws:SecureTransport": "TRUE"},
            True,
        ),
        (
            "bool-false-request",
            "Bool",
            "aws:SecureTransport",
            "true",
            {"aws:SecureTransport": "false"},
            False,
        ),
        (
            "bool-json-boolean-in-policy",
            "Bool",
            "aws:SecureTransport",
            True,
            {"aws:SecureTransport": True},
            True,
        ),
        ("binary-equals", "BinaryEquals", "ex:blob", "QmluYXJ5", {"ex:blob": "QmluYXJ5"}, True),
        ("binary-equals-other", "BinaryEquals", "ex:blob", "QmluYXJ5", {"ex:blob": "T3RoZXI="}, False),
        (
            "ip-address-v4-cidr",
            "IpAddress",
            "aws:SourceIp",
            "203.0.113.0/24",
            {"aws:SourceIp": "203.0.113.9"},
            True,
        ),
        (
            "ip-address-v4-outside",
            "IpAddress",
            "aws:SourceIp",
            "203.0.113.0/24",
            {"aws:SourceIp": "198.51.100.1"},
            False,
        ),
        (
            "ip-address-v6-cidr",
            "IpAddress",
            "aws:SourceIp",
            "2001:db8::/32",
            {"aws:SourceIp": "2001:db8:1::5"},
            True,
        ),
        (
            "ip-address-v6-vs-v4",
            "IpAddress",
            "aws:SourceIp",
            "203.0.113.0/24",
            {"aws:SourceIp": "2001:db8::1"},
            False,
        ),
        (
            "ip-address-single-host",
            "IpAddress",
            "aws:SourceIp",
            "203.0.113.7",
            {"aws:SourceIp": "203.0.113.7"},
            True,
        ),
        (
            "not-ip-address",
            "NotIpAddress",
            "aws:SourceIp",
            "203.0.113.0/24",
            {"aws:SourceIp": "198.51.100.1"},
            True,
        ),
        ("not-ip-address-absent-is-true", "NotIpAddress", "aws:SourceIp", "203.0.113.0/24", {}, True),
        (
            "arn-like-components",
            "ArnLike",
            "aws:SourceArn",
            "arn:aws:sns:*:111111111111:topic*",
            {"aws:SourceArn": "arn:aws:sns:us-east-1:111111111111:topic-a"},
            True,
        ),
        (
            "arn-like-star-stays-in-component",
            "ArnLike",
            "aws:SourceArn",
            "arn:aws:sns:*:111111111111",
            {"aws:SourceArn": "arn:aws:sns:us-east-1:111111111111:t"},
            False,
        ),
        (
            "arn-equals-allows-wildcards",
            "ArnEquals",
            "aws:SourceArn",
            "arn:aws:s3:::b*",
            {"aws:SourceArn": "arn:aws:s3:::bucket"},
            True,
        ),
        (
            "arn-not-like",
            "ArnNotLike",
            "aws:SourceArn",
            "arn:aws:s3:::b*",
            {"aws:SourceArn": "arn:aws:s3:::other"},
            True,
        ),
        ("arn-not-equals-absent-is-true", "ArnNotEquals", "aws:SourceArn", "arn:aws:s3:::b", {}, True),
        ("null-true-key-absent", "Null", "aws:TokenIssueTime", "true", {}, True),
        (
            "null-true-key-present",
            "Null",
            "aws:TokenIssueTime",
            "true",
            {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"},
            False,
        ),
        (
            "null-false-key-present",
            "Null",
            "aws:TokenIssueTime",
            "false",
            {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"},
            True,
        ),
        ("if-exists-absent-is-true", "StringEqualsIfExists", "ec2:InstanceType", "t3.micro", {}, True),
        (
            "if-exists-present-is-tested",
            "StringEqualsIfExists",
            "ec2:InstanceType",
            "t3.micro",
            {"ec2:InstanceType": "m5.large"},
            False,
        ),
        ("key-names-are-case-insensitive", "StringEquals", "S3:PREFIX", "a", {"s3:prefix": "a"}, True),
        (
            "for-all-values-subset",
            "ForAllValues:StringEquals",
            "aws:TagKeys",
            ["a", "b"],
            {"aws:TagKeys": ["a"]},
            True,
        ),
        (
            "for-all-values-not-subset",
            "ForAllValues:StringEquals",
            "aws:TagKeys",
            ["a", "b"],
            {"aws:TagKeys": ["a", "c"]},
            False,
        ),
        ("for-all-values-absent-is-true", "ForAllValues:StringEquals", "aws:TagKeys", ["a"], {}, True),
        (
            "for-all-values-empty-is-true",
            "ForAllValues:StringEquals",
            "aws:TagKeys",
            ["a"],
            {"aws:TagKeys": []},
            True,
        ),
        (
            "for-any-value-overlap",
            "ForAnyValue:StringEquals",
            "aws:TagKeys",
            ["a"],
            {"aws:TagKeys": ["x", "a"]},
            True,
        ),
        ("for-any-value-absent-is-false", "ForAnyValue:StringEquals", "aws:TagKeys", ["a"], {}, False),
        (
            "for-any-value-empty-is-false",
            "ForAnyValue:StringEquals",
            "aws:TagKeys",
            ["a"],
            {"aws:TagKeys": []},
            False,
        ),
        (
            "for-any-value-string-like",
            "ForAnyValue:StringLike",
            "aws:TagKeys",
            ["env*"],
            {"aws:TagKeys": ["x", "envy"]},
            True,
        ),
        (
            "for-all-values-not-equals",
            "ForAllValues:StringNotEquals",
            "aws:TagKeys",
            ["a"],
            {"aws:TagKeys": ["b", "c"]},
            True,
        ),
        (
            "for-any-value-if-exists-absent",
            "ForAnyValue:StringEqualsIfExists",
            "aws:TagKeys",
            ["a"],
            {},
            True,
        ),
        (
            "multivalued-key-without-modifier-any-matches",
            "StringEquals",
            "aws:TagKeys",
            "a",
            {"aws:TagKeys": ["b", "a"]},
            True,
        ),
    ]
    out = []
    for name, operator, key, values, context, expected in rows:
        policy = doc(allow("s3:GetObject", "*", Sid="S", **cond(operator, key, values)))
        out.append(
            case(
                f"condition/{name}",
                "Allow" if expected else "ImplicitDeny",
                ["identity[0]:S"] if expected else [no_id()],
                context=context,
                identity=[policy],
            )
        )
    two = doc(
        allow(
            "s3:GetObject",
            "*",
            Sid="S",
            Condition={"StringEquals": {"s3:prefix": "a"}, "Bool": {"aws:SecureTransport": "true"}},
        )
    )
    out.append(
        case(
            "condition/operators-are-anded",
            "ImplicitDeny",
            [no_id()],
            context={"s3:prefix": "a"},
            identity=[two],
        )
    )
    out.append(
        case(
            "condition/operators-are-anded-all-true",
            "Allow",
            ["identity[0]:S"],
            context={"s3:prefix": "a", "aws:SecureTransport": "true"},
            identity=[two],
        )
    )
    bad = doc(allow("s3:GetObject", "*", Sid="S", **cond("NumericEquals", "s3:max-keys", "ten")))
    out.append(
        case(
            "condition/bad-policy-value-does-not-match",
            "ImplicitDeny",
            [no_id()],
            context={"s3:max-keys": "1"},
            identity=[bad],
        )
    )
    return out


def variable_cases() -> list[dict[str, Any]]:
    """Policy variables in Resource and in condition values."""
    own = doc(allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:username}/*", Sid="Own"))
    tag = doc(
        allow("s3:GetObject", "*", Sid="Tag", **cond("StringEquals", "s3:prefix", "${aws:PrincipalTag/team}"))
    )
    star = doc(allow("s3:GetObject", "arn:aws:s3:::bucket/${*}", Sid="Star"))
    default = doc(allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:username, 'anonymous'}/*", Sid="Def"))
    old = doc(allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:username}/*", Sid="Old"), version=None)
    return [
        case(
            "variables/username-in-resource",
            "Allow",
            ["identity[0]:Own"],
            resource="arn:aws:s3:::bucket/alice/f",
            identity=[own],
        ),
        case(
            "variables/username-other-folder",
            "ImplicitDeny",
            [no_id()],
            resource="arn:aws:s3:::bucket/bob/f",
            identity=[own],
        ),
        case(
            "variables/no-username-for-role-sessions",
            "ImplicitDeny",
            [no_id()],
            principal=SESSION,
            resource="arn:aws:s3:::bucket/s1/f",
            identity=[own],
        ),
        case(
            "variables/principal-tag-in-condition",
            "Allow",
            ["identity[0]:Tag"],
            context={"s3:prefix": "red"},
            identity=[tag],
        ),
        case(
            "variables/principal-tag-other-value",
            "ImplicitDeny",
            [no_id()],
            context={"s3:prefix": "blue"},
            identity=[tag],
        ),
        case(
            "variables/special-star-is-literal",
            "Allow",
            ["identity[0]:Star"],
            resource="arn:aws:s3:::bucket/*",
            identity=[star],
        ),
        case(
            "variables/special-star-is-not-wildcard",
            "ImplicitDeny",
            [no_id()],
            resource="arn:aws:s3:::bucket/x",
            identity=[star],
        ),
        case(
            "variables/default-value-when-absent",
            "Allow",
            ["identity[0]:Def"],
            principal=SESSION,
            resource="arn:aws:s3:::bucket/anonymous/f",
            identity=[default],
        ),
        case(
            "variables/not-substituted-in-2008-policies",
            "ImplicitDeny",
            [no_id()],
            resource="arn:aws:s3:::bucket/alice/f",
            identity=[old],
        ),
        case(
            "variables/2008-policies-match-literally",
            "Allow",
            ["identity[0]:Old"],
            resource="arn:aws:s3:::bucket/${aws:username}/f",
            identity=[old],
        ),
    ]


def evaluation_cases() -> list[dict[str, Any]]:
    """The evaluation logic across policy types."""
    s3 = doc(allow("s3:*", "*", Sid="S3"))
    deny_get = doc(deny("s3:GetObject", "*", Sid="NoGet"))
    boundary_iam = doc(allow("iam:*", "*", Sid="IamOnly"))
    boundary_s3 = doc(allow("s3:Get*", "*", Sid="Get"))
    scp_all = doc(allow("*", "*", Sid="All"))
    scp_deny = doc(deny("s3:*", "*", Sid="NoS3"))
    scp_iam = doc(allow("iam:*", "*", Sid="Iam"))
    rp_alice = doc(
        {
            "Sid": "Alice",
            "Effect": "Allow",
            "Principal": {"AWS": ALICE["arn"]},
            "Action": "s3:GetObject",
            "Resource": BUCKET,
        }
    )
    rp_acct_b = doc(
        {
            "Sid": "AcctB",
            "Effect": "Allow",
            "Principal": {"AWS": B},
            "Action": "s3:GetObject",
            "Resource": BUCKET,
        }
    )
    rp_role = doc(
        {
            "Sid": "Role",
            "Effect": "Allow",
            "Principal": {"AWS": SESSION["role_arn"]},
            "Action": "s3:GetObject",
            "Resource": BUCKET,
        }
    )
    rp_deny_all = doc(
        {"Sid": "DenyAll", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": BUCKET}
    )
    rp_not_alice = doc(
        {
            "Sid": "NotAlice",
            "Effect": "Deny",
            "NotPrincipal": {"AWS": ALICE["arn"]},
            "Action": "s3:*",
            "Resource": BUCKET,
        }
    )
    rp_service = doc(
        {
            "Sid": "Ec2",
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": BUCKET,
        }
    )
    not_action = doc({"Sid": "NA", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    not_resource = doc(
        {"Sid": "NR", "Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::bucket/*"}
    )
    mixed_case = doc(allow("S3:getobject", "*", Sid="Mixed"))
    res_case = doc(allow("s3:GetObject", "arn:aws:s3:::Bucket/*", Sid="Upper"))
    return [
        case("eval/implicit-deny-by-default", "ImplicitDeny", [no_id()]),
        case("eval/identity-allow", "Allow", ["identity[0]:S3"], identity=[s3]),
        case(
            "eval/explicit-deny-beats-allow",
            "ExplicitDeny",
            ["identity[1]:NoGet", ID_DENY],
            identity=[s3, deny_get],
        ),
        case("eval/actions-are-case-insensitive", "Allow", ["identity[0]:Mixed"], identity=[mixed_case]),
        case("eval/resources-are-case-sensitive", "ImplicitDeny", [no_id()], identity=[res_case]),
        case("eval/not-action-allows-others", "Allow", ["identity[0]:NA"], identity=[not_action]),
        case(
            "eval/not-action-excludes-listed",
            "ImplicitDeny",
            [no_id("iam:CreateUser")],
            action="iam:CreateUser",
            resource="*",
            identity=[not_action],
        ),
        case(
            "eval/not-resource-deny-outside",
            "ExplicitDeny",
            ["identity[1]:NR", ID_DENY],
            resource="arn:aws:s3:::other/k",
            identity=[s3, not_resource],
        ),
        case(
            "eval/not-resource-deny-inside-does-not-apply",
            "Allow",
            ["identity[0]:S3"],
            identity=[s3, not_resource],
        ),
        case(
            "eval/boundary-limits-identity",
            "ImplicitDeny",
            ["because no permissions boundary allows the s3:GetObject action"],
            identity=[s3],
            boundary=boundary_iam,
        ),
        case(
            "eval/boundary-and-identity-allow",
            "Allow",
            ["identity[0]:S3", "boundary:Get"],
            identity=[s3],
            boundary=boundary_s3,
        ),
        case("eval/boundary-alone-grants-nothing", "ImplicitDeny", [no_id()], boundary=boundary_s3),
        case(
            "eval/boundary-explicit-deny",
            "ExplicitDeny",
            ["boundary:NoGet", "with an explicit deny in a permissions boundary"],
            identity=[s3],
            boundary=deny_get,
        ),
        case(
            "eval/session-policy-limits",
            "ImplicitDeny",
            ["because no session policy allows the s3:GetObject action"],
            principal=SESSION,
            identity=[s3],
            session_policies=[boundary_iam],
        ),
        case(
            "eval/session-policy-and-identity",
            "Allow",
            ["identity[0]:S3", "session[0]:Get"],
            principal=SESSION,
            identity=[s3],
            session_policies=[boundary_s3],
        ),
        case(
            "eval/session-policy-explicit-deny",
            "ExplicitDeny",
            ["session[0]:NoGet", "with an explicit deny in a session policy"],
            principal=SESSION,
            identity=[s3],
            session_policies=[deny_get],
        ),
        case(
            "eval/federation-token-without-session-policy-has-no-permissions",
            "ImplicitDeny",
            ["because no session policy allows the s3:GetObject action"],
            principal=FED,
            identity=[s3],
        ),
        case(
            "eval/federation-token-with-session-policy",
            "Allow",
            ["identity[0]:S3", "session[0]:Get"],
            principal=FED,
            identity=[s3],
            session_policies=[boundary_s3],
        ),
        case(
            "eval/scp-must-allow",
            "ImplicitDeny",
            ["because no service control policy allows the s3:GetObject action"],
            identity=[s3],
            scps=[scp_iam],
        ),
        case(
            "eval/scp-allow-and-identity",
            "Allow",
            ["identity[0]:S3", "scp[0]:All"],
            identity=[s3],
            scps=[scp_all],
        ),
        case(
            "eval/scp-deny-wins",
            "ExplicitDeny",
            ["scp[1]:NoS3", "with an explicit deny in a service control policy"],
            identity=[s3],
            scps=[scp_all, scp_deny],
        ),
        case(
            "eval/scp-applies-to-root",
            "ExplicitDeny",
            ["scp[1]:NoS3", "with an explicit deny in a service control policy"],
            principal=ROOT,
            scps=[scp_all, scp_deny],
        ),
        case("eval/root-may-do-all-in-own-account", "Allow", [], principal=ROOT),
        case(
            "eval/root-cross-account-needs-resource-policy",
            "ImplicitDeny",
            ["because no resource-based policy allows the s3:GetObject action"],
            principal=ROOT,
            resource_account=B,
        ),
        case(
            "eval/same-account-resource-policy-naming-user-allows-alone",
            "Allow",
            ["resource:Alice"],
            resource_policy=rp_alice,
            resource_account=A,
        ),
        case(
            "eval/same-account-user-grant-not-limited-by-boundary",
            "Allow",
            ["resource:Alice"],
            resource_policy=rp_alice,
            resource_account=A,
            boundary=boundary_iam,
        ),
        case(
            "eval/resource-policy-explicit-deny",
            "ExplicitDeny",
            ["resource:DenyAll", "with an explicit deny in a resource-based policy"],
            identity=[s3],
            resource_policy=rp_deny_all,
            resource_account=A,
        ),
        case(
            "eval/cross-account-needs-both-sides",
            "Allow",
            ["identity[0]:S3", "resource:AcctB"],
            principal=BOB_B,
            identity=[s3],
            resource_policy=rp_acct_b,
            resource_account=A,
        ),
        case(
            "eval/cross-account-identity-alone-is-not-enough",
            "ImplicitDeny",
            ["because no resource-based policy allows the s3:GetObject action"],
            principal=BOB_B,
            identity=[s3],
            resource_account=A,
        ),
        case(
            "eval/cross-account-resource-alone-is-not-enough",
            "ImplicitDeny",
            [no_id()],
            principal=BOB_B,
            resource_policy=rp_acct_b,
            resource_account=A,
        ),
        case(
            "eval/account-principal-delegates-to-identity-policies",
            "ImplicitDeny",
            [no_id()],
            resource_policy=doc(
                {
                    "Sid": "Acct",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                    "Action": "s3:*",
                    "Resource": "*",
                }
            ),
            resource_account=A,
        ),
        case(
            "eval/role-arn-grant-skips-identity-policy",
            "Allow",
            ["resource:Role"],
            principal=SESSION,
            resource_policy=rp_role,
            resource_account=A,
        ),
        case(
            "eval/role-arn-grant-limited-by-session-policy",
            "ImplicitDeny",
            ["because no session policy allows the s3:GetObject action"],
            principal=SESSION,
            resource_policy=rp_role,
            resource_account=A,
            session_policies=[boundary_iam],
        ),
        case(
            "eval/not-principal-deny-spares-listed",
            "Allow",
            ["identity[0]:S3"],
            identity=[s3],
            resource_policy=rp_not_alice,
            resource_account=A,
        ),
        case(
            "eval/not-principal-deny-hits-others",
            "ExplicitDeny",
            ["resource:NotAlice", "with an explicit deny in a resource-based policy"],
            principal=SESSION,
            identity=[s3],
            resource_policy=rp_not_alice,
            resource_account=A,
        ),
        case(
            "eval/service-principal-by-resource-policy",
            "Allow",
            ["resource:Ec2"],
            principal=EC2,
            resource_policy=rp_service,
        ),
        case(
            "eval/service-principal-without-grant",
            "ImplicitDeny",
            ["because no resource-based policy allows the s3:GetObject action"],
            principal=EC2,
            resource_policy=rp_alice,
        ),
    ]


def trust_cases() -> list[dict[str, Any]]:
    """Role assumption: trust policy and the caller's policies."""
    role = f"arn:aws:iam::{A}:role/target"
    trust_alice = doc(
        {"Sid": "Alice", "Effect": "Allow", "Principal": {"AWS": ALICE["arn"]}, "Action": "sts:AssumeRole"}
    )
    trust_acct_b = doc({"Sid": "B", "Effect": "Allow", "Principal": {"AWS": B}, "Action": "sts:AssumeRole"})
    trust_ec2 = doc(
        {
            "Sid": "Ec2",
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )
    trust_web = doc(
        {
            "Sid": "Web",
            "Effect": "Allow",
            "Principal": {"Federated": "accounts.google.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"accounts.google.com:aud": "my-app"}},
        }
    )
    assume = doc(allow("sts:AssumeRole", role, Sid="Assume"))
    no_trust = "because no resource-based policy allows the sts:AssumeRole action"
    common = {"action": "sts:AssumeRole", "resource": role, "role_arn": role}
    return [
        case(
            "trust/same-account-user-named-in-trust",
            "Allow",
            ["trust:Alice"],
            trust_policy=trust_alice,
            **common,
        ),
        case(
            "trust/not-named-in-trust",
            "ImplicitDeny",
            [no_trust],
            identity=[assume],
            trust_policy=trust_ec2,
            **common,
        ),
        case(
            "trust/cross-account-needs-identity-allow",
            "ImplicitDeny",
            [no_id("sts:AssumeRole")],
            principal=BOB_B,
            trust_policy=trust_acct_b,
            **common,
        ),
        case(
            "trust/cross-account-both-allow",
            "Allow",
            ["identity[0]:Assume", "trust:B"],
            principal=BOB_B,
            identity=[assume],
            trust_policy=trust_acct_b,
            **common,
        ),
        case(
            "trust/service-principal", "Allow", ["trust:Ec2"], principal=EC2, trust_policy=trust_ec2, **common
        ),
        case(  # AWS keeps a Principal's unique id: a user made again under the name is another user
            "trust/session-of-a-deleted-user-not-named-by-its-arn",
            "ImplicitDeny",
            [no_id("sts:AssumeRole")],
            principal={**ALICE, "is_current": False},
            trust_policy=trust_alice,
            **common,
        ),
        case(
            "trust/session-of-a-deleted-role-not-named-by-its-arn",
            "ImplicitDeny",
            [no_id("sts:AssumeRole")],
            principal={**SESSION, "is_current": False},
            trust_policy=doc(
                {
                    "Sid": "Dev",
                    "Effect": "Allow",
                    "Principal": {"AWS": SESSION["role_arn"]},
                    "Action": "sts:AssumeRole",
                }
            ),  # fmt: skip
            **common,
        ),
        case(
            "trust/session-of-a-deleted-role-named-by-its-session-arn",
            "Allow",
            ["trust:Session"],
            principal={**SESSION, "is_current": False},
            trust_policy=doc(
                {
                    "Sid": "Session",
                    "Effect": "Allow",
                    "Principal": {"AWS": SESSION["arn"]},
                    "Action": "sts:AssumeRole",
                }
            ),  # fmt: skip
            **common,
        ),
        case(
            "trust/web-identity-with-audience",
            "Allow",
            ["trust:Web"],
            principal=WEB,
            trust_policy=trust_web,
            action="sts:AssumeRoleWithWebIdentity",
            resource=role,
            role_arn=role,
            context={"accounts.google.com:aud": "my-app"},
        ),
        case(
            "trust/web-identity-wrong-audience",
            "ImplicitDeny",
            ["because no resource-based policy allows the sts:AssumeRoleWithWebIdentity action"],
            principal=WEB,
            trust_policy=trust_web,
            action="sts:AssumeRoleWithWebIdentity",
            resource=role,
            role_arn=role,
            context={"accounts.google.com:aud": "other"},
        ),
    ]


def _resource_statement(
    sid: str, effect: str, principal: Any, action: Any = "s3:*", **extra: Any
) -> dict[str, Any]:
    key = extra.pop("key", "Principal")
    return {
        "Sid": sid,
        "Effect": effect,
        key: principal,
        "Action": action,
        "Resource": extra.pop("resource", BUCKET),
    }


def documented_cases() -> list[dict[str, Any]]:
    """Rules AWS documents that the engine once got wrong (issue 10, finding 18), one case or two each."""
    return (
        _unresolved_variable_cases()
        + _bounded_not_principal_cases()
        + _federating_user_cases()
        + _key_policy_cases()
        + _session_not_principal_cases()
        + _recorded_grammar_cases()
    )


UNTAGGED = {**ALICE, "tags": {}}


def _unresolved_variable_cases() -> list[dict[str, Any]]:
    """Policy variables with no value: StringEquals/StringLike do not match, StringNotEquals/StringNotLike do.

    reference_policies_variables.html#policy-vars-no-value; the Deny is AWS's own example there.
    """
    s3 = doc(allow("s3:*", "*", Sid="S3"))
    team = "${aws:PrincipalTag/Team}"
    not_team = doc(
        deny(
            "s3:GetObject", "*", Sid="OtherTeam", **cond("StringNotEquals", "s3:ExistingObjectTag/Team", team)
        )
    )
    not_like = doc(
        allow("s3:GetObject", "*", Sid="NotLike", **cond("StringNotLike", "s3:prefix", f"{team}/*"))
    )
    equals = doc(allow("s3:GetObject", "*", Sid="Equals", **cond("StringEquals", "s3:prefix", [team, "x"])))
    return [
        case(
            "documented/variables/string-not-equals-matches-a-variable-without-value",
            "ExplicitDeny",
            ["identity[1]:OtherTeam", ID_DENY],
            principal=UNTAGGED,
            context={"s3:ExistingObjectTag/Team": "red"},
            identity=[s3, not_team],
        ),
        case(
            "documented/variables/string-not-equals-with-the-variable-resolved",
            "Allow",
            ["identity[0]:S3"],
            context={"s3:ExistingObjectTag/Team": "red"},
            identity=[s3, not_team],
        ),
        case(
            "documented/variables/string-not-like-matches-a-variable-without-value",
            "Allow",
            ["identity[0]:NotLike"],
            principal=UNTAGGED,
            context={"s3:prefix": "red/x"},
            identity=[not_like],
        ),
        case(
            "documented/variables/string-equals-does-not-match-a-variable-without-value",
            "ImplicitDeny",
            [no_id()],
            principal=UNTAGGED,
            context={"s3:prefix": ""},
            identity=[equals],
        ),
    ]


def _bounded_not_principal_cases() -> list[dict[str, Any]]:
    """A Deny with NotPrincipal denies any IAM principal with a permissions boundary, whatever it lists.

    access_policies_boundaries.html, reference_policies_elements_notprincipal.html (key points).
    """
    s3 = doc(allow("s3:*", "*", Sid="S3"))
    spared = doc(
        _resource_statement(
            "NotAlice", "Deny", {"AWS": [ALICE["arn"], f"arn:aws:iam::{A}:root"]}, key="NotPrincipal"
        )
    )
    return [
        case(
            "documented/not-principal-deny-hits-a-listed-caller-with-a-boundary",
            "ExplicitDeny",
            ["resource:NotAlice", "with an explicit deny in a resource-based policy"],
            identity=[s3],
            boundary=s3,
            resource_policy=spared,
            resource_account=A,
        ),
        case(
            "documented/not-principal-deny-spares-the-listed-caller-without-a-boundary",
            "Allow",
            ["identity[0]:S3"],
            identity=[s3],
            resource_policy=spared,
            resource_account=A,
        ),
    ]


def _federating_user_cases() -> list[dict[str, Any]]:
    """A resource-based policy naming the IAM user who called GetFederationToken: its permissions join
    the user's identity policies, and the session policy limits both; one naming the federated user
    session is not limited by the session policy.

    access_policies.html#policies_session, id_credentials_temp_control-access_getfederationtoken.html.
    """
    read = doc(allow("s3:GetObject", "*", Sid="Read"))
    iam_only = doc(allow("iam:*", "*", Sid="Iam"))
    names_user = doc(_resource_statement("User", "Allow", {"AWS": ALICE["arn"]}, "s3:GetObject"))
    names_session = doc(_resource_statement("Session", "Allow", {"AWS": FED["arn"]}, "s3:GetObject"))
    return [
        case(
            "documented/federated-user-resource-policy-naming-the-federating-user-with-session-policy",
            "Allow",
            ["resource:User", "session[0]:Read"],
            principal=FED,
            resource_policy=names_user,
            resource_account=A,
            session_policies=[read],
        ),
        case(
            "documented/federated-user-resource-policy-naming-the-federating-user-limited-by-session-policy",
            "ImplicitDeny",
            ["because no session policy allows the s3:GetObject action"],
            principal=FED,
            resource_policy=names_user,
            resource_account=A,
            session_policies=[iam_only],
        ),
        case(
            "documented/federated-user-resource-policy-naming-the-session-needs-no-session-policy",
            "Allow",
            ["resource:Session"],
            principal=FED,
            resource_policy=names_session,
            resource_account=A,
        ),
    ]


KEY = f"arn:aws:kms:us-east-1:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _key_policy_cases() -> list[dict[str, Any]]:
    """KMS: without the key policy's permission an identity policy's Allow has no effect; the default key
    policy names the account (`…:root`), which lets IAM policies grant.

    kms/latest/developerguide/key-policies.html,
    key-policy-default.html#key-policy-default-allow-root-enable-iam.
    """
    kms = doc(allow("kms:*", "*", Sid="Kms"))
    enable_iam = doc(
        _resource_statement("EnableIam", "Allow", {"AWS": f"arn:aws:iam::{A}:root"}, "kms:*", resource="*")
    )
    names_alice = doc(
        _resource_statement("Alice", "Allow", {"AWS": ALICE["arn"]}, "kms:Decrypt", resource="*")
    )
    names_bob = doc(_resource_statement("Bob", "Allow", {"AWS": BOB_B["arn"]}, "kms:Decrypt", resource="*"))
    common: dict[str, Any] = {"action": "kms:Decrypt", "resource": KEY, "resource_account": A}
    no_key_policy = "because no resource-based policy allows the kms:Decrypt action"
    return [
        case(
            "documented/kms-identity-allow-alone-does-not-grant",
            "ImplicitDeny",
            [no_key_policy],
            identity=[kms],
            **common,
        ),
        case(
            "documented/kms-key-policy-not-naming-the-account-does-not-enable-iam-policies",
            "ImplicitDeny",
            [no_key_policy],
            identity=[kms],
            resource_policy=names_bob,
            **common,
        ),
        case(
            "documented/kms-default-key-policy-enables-iam-policies",
            "Allow",
            ["identity[0]:Kms", "resource:EnableIam"],
            identity=[kms],
            resource_policy=enable_iam,
            **common,
        ),
        case(
            "documented/kms-default-key-policy-alone-grants-nothing",
            "ImplicitDeny",
            [no_id("kms:Decrypt")],
            resource_policy=enable_iam,
            **common,
        ),
        case(
            "documented/kms-key-policy-naming-the-user-grants-alone",
            "Allow",
            ["resource:Alice"],
            resource_policy=names_alice,
            **common,
        ),
        case(
            "documented/kms-root-needs-the-key-policy-too",
            "ImplicitDeny",
            [no_key_policy],
            principal=ROOT,
            **common,
        ),
    ]


def _session_not_principal_cases() -> list[dict[str, Any]]:
    """NotPrincipal listing a role session, its role and its account spares that session only: another
    session of the role is denied (a session is named by its session ARN; no wildcard for all sessions).

    reference_policies_elements_notprincipal.html, "IAM role in the same or different account".
    """
    audit = {
        **SESSION,
        "arn": f"arn:aws:sts::{A}:assumed-role/dev/audit-app",
        "session_name": "audit-app",
    }
    s3 = doc(allow("s3:*", "*", Sid="S3"))
    listed = [audit["arn"], SESSION["role_arn"], f"arn:aws:iam::{A}:root"]
    bucket = doc(
        _resource_statement("OnlyAudit", "Deny", {"AWS": listed}, key="NotPrincipal"),
        _resource_statement("Role", "Allow", {"AWS": SESSION["role_arn"]}, "s3:GetObject"),
    )
    common: dict[str, Any] = {"identity": [s3], "resource_policy": bucket, "resource_account": B}
    return [
        case(
            "documented/not-principal-listing-session-role-and-root-spares-that-session",
            "Allow",
            ["identity[0]:S3", "resource:Role"],
            principal=audit,
            **common,
        ),
        case(
            "documented/not-principal-listing-session-role-and-root-denies-another-session-of-the-role",
            "ExplicitDeny",
            ["resource:OnlyAudit", "with an explicit deny in a resource-based policy"],
            principal=SESSION,
            **common,
        ),
    ]


ACCESS_POINT = f"arn:aws:s3:us-west-2:{A}:accesspoint/ap"


def _recorded_grammar_cases() -> list[dict[str, Any]]:
    """Documents IAM accepts (AWS-recorded CreatePolicy answers 748, 760, 778, 779) evaluate as written.

    An operator with an empty map tests nothing (conditions are ANDed, reference_policies_elements_condition
    .html); statements with `"Sid": ""` are statements without a Sid; an access-point ARN carries its region
    and account (reference_policies_elements_resource.html, S3's resource types).
    """
    empty = doc(allow("s3:GetObject", "*", Sid="Empty", Condition={"StringEquals": {}, "a": {}}))
    no_sids = doc(allow("s3:PutObject", "*", Sid=""), allow("s3:GetObject", "*", Sid=""))
    access_point = doc(allow("s3:*", [ACCESS_POINT, f"{ACCESS_POINT}/object/*"], Sid="AccessPoint"))
    return [
        case(
            "documented/condition-operator-with-an-empty-map-tests-nothing",
            "Allow",
            ["identity[0]:Empty"],
            identity=[empty],
        ),
        case(
            "documented/statements-with-empty-sids-are-statements-without-sid",
            "Allow",
            ["identity[0]:#1"],
            identity=[no_sids],
        ),
        case(
            "documented/s3-access-point-arn-with-region-and-account-matches-its-objects",
            "Allow",
            ["identity[0]:AccessPoint"],
            resource=f"{ACCESS_POINT}/object/key",
            identity=[access_point],
        ),
        case(
            "documented/s3-access-point-arn-does-not-match-another-region",
            "ImplicitDeny",
            [no_id()],
            resource=f"arn:aws:s3:us-east-1:{A}:accesspoint/ap/object/key",
            identity=[access_point],
        ),
    ]


def main() -> None:
    here = Path(__file__).parent
    for name, cases in (
        ("conditions", condition_cases()),
        ("variables", variable_cases()),
        ("evaluation", evaluation_cases()),
        ("trust", trust_cases()),
        ("documented", documented_cases()),
    ):
        with (here / f"{name}.jsonl").open("w") as out:
            for line in cases:
                out.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
