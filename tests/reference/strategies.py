"""Hypothesis strategies: policies and requests over a small grammar both evaluators understand."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

A, B = "111111111111", "222222222222"
PRINCIPALS = [
    {"type": "user", "arn": f"arn:aws:iam::{A}:user/alice", "account": A, "tags": {"team": "red"}},
    {
        "type": "assumed-role",
        "arn": f"arn:aws:sts::{A}:assumed-role/dev/s1",
        "role_arn": f"arn:aws:iam::{A}:role/dev",
        "role_id": "AROADEVEXAMPLE111",
        "session_name": "s1",
        "account": A,
    },
    {"type": "root", "arn": f"arn:aws:iam::{A}:root", "account": A},
    {"type": "user", "arn": f"arn:aws:iam::{B}:user/bob", "account": B},
    {
        "type": "assumed-role",
        "arn": f"arn:aws:sts::{A}:assumed-role/dev/s2",
        "role_arn": f"arn:aws:iam::{A}:role/dev",
        "role_id": "AROADEVEXAMPLE111",
        "session_name": "s2",
        "account": A,
    },
    {
        "type": "federated",
        "arn": f"arn:aws:sts::{A}:federated-user/fred",
        "user_arn": f"arn:aws:iam::{A}:user/alice",
        "account": A,
    },
]
ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:*",
    "s3:Get*",
    "iam:CreateUser",
    "iam:*",
    "kms:*",
    "*",
    "s3:?etObject",
    "S3:getobject",
]
REQUEST_ACTIONS = ["s3:GetObject", "s3:PutObject", "iam:CreateUser", "ec2:RunInstances", "kms:Decrypt"]
RESOURCES = [
    "*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::bucket/${aws:username}/*",
    "arn:aws:s3:::other/*",
    "arn:aws:s3:::bucket/alice/f",
    "arn:aws:iam::111111111111:user/*",
    "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*",
]
REQUEST_RESOURCES = [
    "arn:aws:s3:::bucket/alice/f",
    "arn:aws:s3:::other/x",
    "arn:aws:iam::111111111111:user/u",
    "arn:aws:s3:::bucket/red/g",
]
CONDITIONS = [
    ("StringEquals", "s3:prefix", ["home/", "etc/"]),
    ("StringNotEquals", "s3:prefix", ["home/"]),
    ("StringLike", "s3:prefix", ["home/*"]),
    ("StringNotLike", "s3:prefix", ["h?me/*"]),
    ("StringEqualsIgnoreCase", "s3:prefix", ["HOME/"]),
    ("StringEquals", "s3:prefix", ["${aws:username}"]),
    ("StringNotEquals", "s3:prefix", ["${aws:PrincipalTag/team}"]),
    ("StringNotLike", "s3:prefix", ["${aws:PrincipalTag/dept}*", "x"]),
    ("StringNotEqualsIgnoreCase", "s3:prefix", ["${aws:username}"]),
    ("NumericLessThan", "s3:max-keys", ["10"]),
    ("NumericEquals", "s3:max-keys", ["5", "20"]),
    ("Bool", "aws:MultiFactorAuthPresent", ["true"]),
    ("IpAddress", "aws:SourceIp", ["203.0.113.0/24"]),
    ("NotIpAddress", "aws:SourceIp", ["203.0.113.0/24", "2001:db8::/32"]),
    ("StringEquals", "aws:TagKeys", ["a", "b"]),
    ("StringLike", "aws:TagKeys", ["a*"]),
    ("Null", "aws:TagKeys", ["true"]),
    ("Null", "s3:prefix", ["false"]),
]
CONTEXT = {
    "s3:prefix": ["home/", "etc/", "alice", "HoMe/", "homer/x"],
    "s3:max-keys": ["3", "10", "20", "x"],
    "aws:MultiFactorAuthPresent": ["true", "false"],
    "aws:SourceIp": ["203.0.113.5", "198.51.100.1", "2001:db8::1"],
    "aws:TagKeys": [[], ["a"], ["a", "b"], ["a", "c"], ["ab"]],
}
RESOURCE_PRINCIPALS = [
    "*",
    {"AWS": f"arn:aws:iam::{A}:user/alice"},
    {"AWS": A},
    {"AWS": f"arn:aws:iam::{A}:role/dev"},
    {"AWS": B},
    {"AWS": f"arn:aws:iam::{B}:user/bob"},
    {"AWS": f"arn:aws:sts::{A}:assumed-role/dev/s1"},
    {
        "AWS": [
            f"arn:aws:sts::{A}:assumed-role/dev/s1",
            f"arn:aws:iam::{A}:role/dev",
            f"arn:aws:iam::{A}:root",
        ]
    },
    {"AWS": f"arn:aws:sts::{A}:federated-user/fred"},
]


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    operator, key, values = draw(st.sampled_from(CONDITIONS))
    if operator != "Null":
        operator = draw(st.sampled_from(["", "ForAllValues:", "ForAnyValue:"])) + operator
        operator += draw(st.sampled_from(["", "IfExists"]))
    return {operator: {key: values}}


@st.composite
def statements(draw: st.DrawFn, with_principal: bool = False) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    if draw(st.booleans()):
        statement["Sid"] = draw(st.sampled_from(["S1", "S2", "S3"]))
    actions = draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=2))
    statement["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = actions
    resources = draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2))
    statement["NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"] = resources
    if draw(st.booleans()):
        statement["Condition"] = draw(conditions())
    if with_principal:
        name = (
            "NotPrincipal" if draw(st.integers(0, 5)) == 0 and statement["Effect"] == "Deny" else "Principal"
        )
        statement[name] = draw(
            st.sampled_from(RESOURCE_PRINCIPALS[1:] if name == "NotPrincipal" else RESOURCE_PRINCIPALS)
        )
    return statement


@st.composite
def documents(draw: st.DrawFn, with_principal: bool = False) -> dict[str, Any]:
    found = draw(st.lists(statements(with_principal), min_size=1, max_size=3))
    sids = [s.get("Sid") for s in found if s.get("Sid")]
    if len(sids) != len(set(sids)):
        for statement in found[1:]:
            statement.pop("Sid", None)
    document: dict[str, Any] = {"Statement": found}
    if draw(st.integers(0, 4)):
        document["Version"] = "2012-10-17"
    return document


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    principal = draw(st.sampled_from(PRINCIPALS))
    context = {k: draw(st.sampled_from(v)) for k, v in CONTEXT.items() if draw(st.booleans())}
    optional = st.none() | documents()
    return {
        "id": "generated",
        "principal": principal,
        "identity_policies": draw(st.lists(documents(), max_size=3)),
        "boundary": draw(optional),
        "session_policies": draw(st.none() | st.lists(documents(), min_size=1, max_size=2)),
        "scps": draw(st.none() | st.lists(documents(), min_size=1, max_size=2)),
        "resource_policy": draw(st.none() | documents(with_principal=True)),
        "resource_account": draw(st.sampled_from([None, A, B])),
        "request": {
            "action": draw(st.sampled_from(REQUEST_ACTIONS)),
            "resource": draw(st.sampled_from(REQUEST_RESOURCES)),
            "context": context,
        },
    }
