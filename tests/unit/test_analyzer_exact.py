"""The exact checks on the cases AWS documents for them, with every FAIL's example re-decided by the engine.

Sensitive resources behind a reference policy, privilege escalation, tag-based access, role trust
allow-lists, public resource policies; constructs beyond the procedure, timeouts and hostile documents
answer FAIL with a reason, never PASS.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from ostiary.analyzer.exact import (
    FAIL,
    PASS,
    Check,
    DocumentError,
    check_access_not_granted,
    check_no_new_access,
    check_no_public_access,
)
from ostiary.analyzer.principals import caller
from ostiary.analyzer.proof import Example, _minimal
from ostiary.policy import Principal, Request, authorize, compile_policy, parse_policy

EXPORT_BUCKET = "arn:aws:s3:::ddb-exports"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def identity_allows(text: str, check: Check) -> bool:
    """The engine's own decision on the check's example (an IAM user's request)."""
    assert check.example is not None
    example = check.example
    compiled = compile_policy(parse_policy(text), "p", "identity")
    request = Request(caller(), example.action, example.resource, example.context)
    return authorize(request, identity=compiled, resource_known=False).is_allowed


def assert_new_access(new: str, old: str, policy_type: str = "IDENTITY_POLICY") -> Check:
    found = check_no_new_access(new, old, policy_type)
    assert found.result == FAIL and not found.unknown, found
    if policy_type == "IDENTITY_POLICY":
        assert identity_allows(new, found) and not identity_allows(old, found)
    return found


EXPORT_ROLE_POLICY = doc(
    allow(
        ["dynamodb:ExportTableToPointInTime", "dynamodb:DescribeExport"], "arn:aws:dynamodb:*:*:table/orders*"
    ),
    allow(["s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"], f"{EXPORT_BUCKET}/*"),
)


def test_reference_story_delete_object_is_new_access_and_iam_is_not_granted() -> None:
    added = json.loads(EXPORT_ROLE_POLICY)
    added["Statement"][1]["Action"].append("s3:DeleteObject")
    found = assert_new_access(json.dumps(added), EXPORT_ROLE_POLICY)
    assert found.example is not None and found.example.action == "s3:deleteobject"
    assert found.example.resource.startswith(f"{EXPORT_BUCKET}/")
    assert found.statements == ((1, None),)
    assert check_no_new_access(EXPORT_ROLE_POLICY, json.dumps(added), "IDENTITY_POLICY").result == PASS
    assert check_access_not_granted(EXPORT_ROLE_POLICY, ["iam:*"], [], "IDENTITY_POLICY").result == PASS
    granted = check_access_not_granted(EXPORT_ROLE_POLICY, ["s3:Put*"], [], "IDENTITY_POLICY")
    assert granted.result == FAIL and identity_allows(EXPORT_ROLE_POLICY, granted)


REFERENCE = doc(
    allow("*"),
    deny("*", ["arn:aws:s3:::payroll", "arn:aws:s3:::payroll/*"]),
    deny(["iam:PassRole", "iam:CreatePolicyVersion", "iam:AttachRolePolicy", "iam:PutRolePolicy"]),
)


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        (doc(allow("s3:GetObject", "arn:aws:s3:::reports/*")), PASS),
        (doc(allow("s3:GetObject", "arn:aws:s3:::pay*/*")), FAIL),
        (doc(allow("s3:*", "*"), deny("s3:*", "arn:aws:s3:::payroll*")), PASS),
        (doc(allow("s3:*", "*"), deny("s3:*", "arn:aws:s3:::payroll/*")), FAIL),  # the bucket itself
        (doc(allow("iam:*", "*")), FAIL),
        (doc(allow("iam:Get*", "*"), allow("iam:List*", "*")), FAIL),  # iam:Get… on the payroll bucket
        (doc(allow(["iam:Get*", "iam:List*"], "arn:aws:iam::*:role/*")), PASS),
        (doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), FAIL),  # payroll
        (doc({"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::payroll*"}), PASS),
    ],
)
def test_sensitive_resources_and_escalation_against_a_reference_policy(candidate: str, expected: str) -> None:
    found = check_no_new_access(candidate, REFERENCE, "IDENTITY_POLICY")
    assert found.result == expected and not found.unknown, found
    if expected == FAIL:
        assert identity_allows(candidate, found) and not identity_allows(REFERENCE, found)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (doc(allow("iam:*")), FAIL),
        (doc(allow("iam:Pass*", "arn:aws:iam::*:role/app-*")), FAIL),
        (doc(allow("iam:Get*"), allow("ec2:RunInstances")), PASS),
        (doc(allow("*"), deny("iam:PassRole")), PASS),
        (doc(allow("*"), deny("iam:PassRole", "arn:aws:iam::*:role/admin")), FAIL),
        (doc({"Effect": "Allow", "NotAction": ["iam:Pass*"], "Resource": "*"}), PASS),
    ],
)
def test_privilege_escalation_pass_role_not_granted(policy: str, expected: str) -> None:
    found = check_access_not_granted(policy, ["iam:PassRole"], [], "IDENTITY_POLICY")
    assert found.result == expected and not found.unknown, found
    if expected == FAIL:
        assert found.example is not None and found.example.action == "iam:passrole"
        assert identity_allows(policy, found)


def test_access_not_granted_on_resources_only() -> None:
    policy = doc(allow("s3:*", "arn:aws:s3:::public-*"), deny("s3:Delete*"))
    assert check_access_not_granted(policy, [], ["arn:aws:s3:::payroll/*"], "IDENTITY_POLICY").result == PASS
    found = check_access_not_granted(policy, [], ["arn:aws:s3:::public-site/*"], "IDENTITY_POLICY")
    assert found.result == FAIL and identity_allows(policy, found)
    assert found.example is not None and not found.example.action.startswith("s3:delete")


TAGGED = doc(
    allow("ec2:StartInstances", "*", Condition={"StringEquals": {"aws:ResourceTag/team": "blue"}}),
    allow("ec2:CreateTags", "*", Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "cost"]}}),
)


def test_tag_based_access() -> None:
    untagged = doc(allow("ec2:StartInstances"), json.loads(TAGGED)["Statement"][1])
    found = assert_new_access(untagged, TAGGED)
    assert found.example is not None and found.example.context.get("aws:resourcetag/team") != "blue"
    another = doc(
        allow(
            "ec2:StartInstances", "*", Condition={"StringEquals": {"aws:ResourceTag/team": ["blue", "red"]}}
        )
    )
    found = assert_new_access(another, TAGGED)
    assert found.example is not None and found.example.context["aws:resourcetag/team"] == "red"
    keys = doc(
        allow("ec2:CreateTags", "*", Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}})
    )
    assert check_no_new_access(keys, TAGGED, "IDENTITY_POLICY").result == PASS
    anykey = doc(
        allow("ec2:CreateTags", "*", Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}})
    )
    found = assert_new_access(anykey, TAGGED)
    assert found.example is not None  # a tag key beside `team`, which ForAllValues refuses


def test_negated_operators_on_an_absent_key_are_true() -> None:
    old = doc(allow("s3:GetObject", "*", Condition={"StringEquals": {"aws:SourceVpce": "vpce-1"}}))
    new = doc(allow("s3:GetObject", "*", Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-2"}}))
    found = assert_new_access(new, old)
    assert found.example is not None and found.example.context.get("aws:sourcevpce") != "vpce-1"
    if_exists = doc(
        allow("s3:GetObject", "*", Condition={"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}})
    )
    found = assert_new_access(if_exists, old)
    assert "aws:sourcevpce" not in found.example.context  # type: ignore[union-attr]


def test_numbers_dates_addresses_and_booleans() -> None:
    base = {
        "NumericLessThanEquals": {"s3:max-keys": "100"},
        "DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"},
        "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]},
        "Bool": {"aws:SecureTransport": "true"},
    }
    old = doc(allow("s3:ListBucket", "*", Condition=base))
    for operator, change in (
        ("NumericLessThanEquals", {"s3:max-keys": "101"}),
        ("DateLessThan", {"aws:CurrentTime": "2027-01-02T00:00:00Z"}),
        ("IpAddress", {"aws:SourceIp": ["10.0.0.0/7", "2001:db8::/32"]}),
        ("Bool", {"aws:SecureTransport": ["true", "false"]}),
    ):
        new = doc(allow("s3:ListBucket", "*", Condition={**base, operator: change}))
        assert_new_access(new, old)
        assert check_no_new_access(old, new, "IDENTITY_POLICY").result == PASS


TRUST_A = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def _trust(*principals: Any) -> str:
    statements = [{"Effect": "Allow", "Principal": p, "Action": "sts:AssumeRole"} for p in principals]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def test_role_trust_allow_lists() -> None:
    widened = _trust({"AWS": ["arn:aws:iam::111111111111:root", "222222222222"]})
    found = check_no_new_access(widened, TRUST_A, "RESOURCE_POLICY")
    assert found.result == FAIL and ":222222222222:" in found.principal, found
    narrowed = _trust({"AWS": "arn:aws:iam::111111111111:role/deployer"})
    assert check_no_new_access(narrowed, TRUST_A, "RESOURCE_POLICY").result == PASS
    service = _trust({"Service": "ec2.amazonaws.com"})
    found = check_no_new_access(service, TRUST_A, "RESOURCE_POLICY")
    assert found.result == FAIL and found.principal == "ec2.amazonaws.com"
    anyone = _trust("*")
    assert check_no_new_access(anyone, TRUST_A, "RESOURCE_POLICY").result == FAIL
    assert check_no_new_access(TRUST_A, anyone, "RESOURCE_POLICY").result == PASS


def bucket(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def public(principal: Any = "*", **extra: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::site/*",
        **extra,
    }


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (bucket(public()), FAIL),
        (bucket(public({"AWS": "*"})), FAIL),
        (bucket(public({"AWS": "123456789012"})), PASS),
        (bucket(public(Condition={"StringEquals": {"aws:SourceVpce": "vpce-1a2b"}})), PASS),
        (bucket(public(Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc"}})), PASS),
        (bucket(public(Condition={"StringNotEquals": {"aws:PrincipalAccount": "123456789012"}})), FAIL),
        (bucket(public(Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})), PASS),
        (bucket(public(Condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}})), FAIL),
        (bucket(public(Condition={"StringLike": {"aws:SourceAccount": "*"}})), FAIL),
        (bucket(public(), {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}), PASS),
        (bucket({**public(), "NotPrincipal": {"AWS": "123456789012"}, "Principal": None}), FAIL),
    ],
)
def test_public_resource_policies(policy: str, expected: str) -> None:
    data = json.loads(policy)
    for statement in data["Statement"]:
        if statement.get("Principal", "") is None:
            del statement["Principal"]
    text = json.dumps(data)
    found = check_no_public_access(text)
    assert found.result == expected and not found.unknown, found
    if expected == FAIL:
        assert found.example is not None
        compiled = compile_policy(parse_policy(text, "resource"), "b", "resource")
        request = Request(
            Principal("*", "anonymous"), found.example.action, found.example.resource, found.example.context
        )
        assert authorize(request, resource=compiled, resource_account="111122223333").is_allowed


def test_policy_variables_per_user_home_folders() -> None:
    home = doc(allow("s3:*", "arn:aws:s3:::home/${aws:username}/*"))
    shared = doc(allow("s3:*", "arn:aws:s3:::home/*"))
    found = assert_new_access(shared, home)
    assert found.example is not None and found.example.resource.startswith("arn:aws:s3:::home/")
    assert check_no_new_access(home, shared, "IDENTITY_POLICY").result == PASS
    own = doc(allow("s3:*", "arn:aws:s3:::home/alice/*"))
    found = assert_new_access(home, own)  # every user but alice gets a folder
    assert found.example is not None  # the caller's own name, unless the example gives another
    assert found.example.context.get("aws:username", caller().arn.rsplit("/", 1)[1]) != "alice"
    same_account = doc(
        allow(
            "s3:GetObject",
            "*",
            Condition={"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}},
        )
    )
    assert check_no_new_access(same_account, doc(allow("s3:GetObject")), "IDENTITY_POLICY").result == PASS
    found = assert_new_access(doc(allow("s3:GetObject")), same_account)
    assert found.example is not None
    context = found.example.context  # the caller's own account unless the example gives another
    assert context.get("aws:resourceaccount") != context.get("aws:principalaccount", caller().account)


def test_beyond_the_procedure_is_fail_with_a_reason_never_pass() -> None:
    old = doc(allow("s3:GetObject"))
    variables = doc(
        allow("s3:GetObject", "*", Condition={"NumericLessThan": {"s3:max-keys": "${aws:username}"}})
    )
    binary = doc(allow("s3:GetObject", "*", Condition={"BinaryEquals": {"k": "QUJD"}}))
    mixed = doc(
        allow("s3:GetObject", "*", Condition={"StringEquals": {"k": "1"}, "NumericEquals": {"k": "1"}})
    )
    for new in (variables, binary, mixed):
        found = check_no_new_access(new, old, "IDENTITY_POLICY")
        assert found.result == FAIL and found.unknown and found.example is None, found


def test_timeout_is_fail_with_a_reason() -> None:
    found = check_no_new_access(EXPORT_ROLE_POLICY, doc(allow("s3:*")), "IDENTITY_POLICY", timeout_seconds=0)
    assert found.result == FAIL and "time limit" in found.unknown


def test_documents_the_engine_refuses() -> None:
    for bad in ("{", "[]", doc({"Effect": "Allow", "Resource": "*"}), doc(allow("s3:GetObject", "bucket"))):
        with pytest.raises(DocumentError):
            check_no_new_access(bad, doc(allow("*")), "IDENTITY_POLICY")
    with pytest.raises(DocumentError):  # a Principal in an identity policy
        check_no_new_access(bucket(public()), doc(allow("*")), "IDENTITY_POLICY")


def test_hostile_documents_answer_within_the_limit() -> None:
    many = doc(
        *[
            allow(
                f"s3:Get{i}*",
                f"arn:aws:s3:::b{i}/*",
                Condition={"StringEquals": {"aws:RequestTag/t": f"v{i}"}},
            )
            for i in range(600)
        ]
    )
    wide = doc(*[allow(f"s3:Get{i}*", f"arn:aws:s3:::b{i}/*") for i in range(600)])
    assert check_no_new_access(many, wide, "IDENTITY_POLICY", timeout_seconds=20).result == PASS
    found = check_no_new_access(wide, many, "IDENTITY_POLICY", timeout_seconds=20)
    assert found.result == FAIL and (found.unknown or identity_allows(wide, found))
    narrow = doc(allow("s3:GetObject", "arn:aws:s3:::*a" + "?" * 30))
    tricky = doc(allow("s3:GetObject", "arn:aws:s3:::*a" + "?" * 29 + "b"))
    found = check_no_new_access(tricky, narrow, "IDENTITY_POLICY", timeout_seconds=3)
    assert found.result == FAIL and found.unknown  # truly PASS, but beyond the automata budget: never PASS
    found = check_no_new_access(narrow, tricky, "IDENTITY_POLICY", timeout_seconds=3)
    assert found.result == FAIL and identity_allows(narrow, found)
    stars = doc(
        allow("*"),
        *[
            deny("*", "arn:aws:s3:::*" + "*".join("ab"[j % 2] * (j % 3 + 1) for j in range(i % 9 + 3)) + "*")
            for i in range(200)
        ],
    )
    found = check_no_new_access(doc(allow("*")), stars, "IDENTITY_POLICY", timeout_seconds=5)
    assert found.result == FAIL and (found.unknown or not identity_allows(stars, found))
    keyed = doc(
        *[
            allow("s3:GetObject", "*", Condition={"StringEquals": {f"aws:RequestTag/k{i}": "v"}})
            for i in range(800)
        ]
    )
    found = check_no_new_access(keyed, doc(allow("s3:PutObject")), "IDENTITY_POLICY", timeout_seconds=10)
    assert found.result == FAIL and (found.unknown or identity_allows(keyed, found))
    odd = doc(allow("s3:Get\u00e9\U0001f600*", "arn:aws:s3:::\u0000*"))
    found = check_no_new_access(odd, doc(allow("s3:List*")), "IDENTITY_POLICY")
    assert found.result == FAIL and identity_allows(odd, found)


def test_public_trust_policies_and_key_policies() -> None:
    anyone = _trust("*")
    found = check_no_public_access(anyone)
    assert found.result == FAIL and found.example is not None and found.example.action == "sts:assumerole"
    assert check_no_public_access(TRUST_A).result == PASS
    key_policy = bucket(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": "111122223333",
                    "kms:ViaService": "s3.us-east-1.amazonaws.com",
                }
            },
        }
    )
    assert check_no_public_access(key_policy).result == PASS
    loose = json.loads(key_policy)
    del loose["Statement"][0]["Condition"]["StringEquals"]["kms:CallerAccount"]
    assert check_no_public_access(json.dumps(loose)).result == FAIL  # any account's caller through S3


def test_the_example_is_cut_down_only_until_the_deadline() -> None:
    """Each dropped key costs the engine a confirmation: thousands of keys the example needs took
    minutes past the check's time limit. Past the deadline the confirmed example is kept as it is."""
    example = Example("s3:getobject", "*", 0, {f"aws:RequestTag/k{i}": "v" for i in range(40)})
    asked: list[Example] = []

    def confirm(trial: Example) -> bool:
        asked.append(trial)
        return True

    assert _minimal(example, confirm, time.monotonic() - 1) == example
    assert asked == []
    assert _minimal(example, confirm, time.monotonic() + 60).context == {}
