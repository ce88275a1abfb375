"""The generated policy (pure): actions grouped by the resources they touched, placeholders where the
trail names none, no permissionless or unknown actions, split at the managed-policy size."""

from __future__ import annotations

import json

from ostiary.trail import grants, policy_generation

ACCOUNT = "123456789012"


def _statements(documents: list[str]) -> list[dict[str, object]]:
    return [s for d in documents for s in json.loads(d)["Statement"]]


def test_actions_on_the_same_resources_share_a_statement() -> None:
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Orders"
    uses = [
        ("dynamodb:GetItem", table),
        ("dynamodb:Query", table),
        ("s3:PutObject", "arn:aws:s3:::exports/orders/*"),
        ("s3:GetObject", "*"),
        ("s3:ListAllMyBuckets", "*"),
        ("sts:GetCallerIdentity", "*"),
        ("s3:NoSuchAction", "*"),
    ]
    found = _statements(policy_generation.policies(uses, ACCOUNT, with_resources=True))
    assert found == [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": table},
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": "arn:aws:s3:::${BucketName}/${ObjectName}",
        },
        {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::exports/orders/*"},
    ]
    wildcard = _statements(policy_generation.policies(uses, ACCOUNT, with_resources=False))
    assert [s["Resource"] for s in wildcard] == ["*", "*"]
    assert wildcard[1]["Action"] == ["s3:GetObject", "s3:ListAllMyBuckets", "s3:PutObject"]


def test_a_long_policy_is_split_at_the_managed_policy_size() -> None:
    uses = [(f"s3:{a}", f"arn:aws:s3:::bucket-{i}") for i, a in enumerate(grants.service_actions("s3"))]
    documents = policy_generation.policies(uses, ACCOUNT, with_resources=True)
    assert len(documents) > 1
    for document in documents:
        assert (
            len(json.dumps(json.loads(document), separators=(",", ":")))
            <= policy_generation.MAX_POLICY_CHARACTERS
        )
    assert sorted(a for s in _statements(documents) for a in s["Action"]) == sorted(
        f"s3:{a}" for a in grants.service_actions("s3")
    )  # type: ignore[union-attr]


def test_nothing_done_is_no_policy() -> None:
    assert policy_generation.policies([("sts:GetCallerIdentity", "*")], ACCOUNT, with_resources=True) == []


def test_grants_read_action_patterns_and_not_action() -> None:
    doc = json.dumps(
        {
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:Get*", "dynamo*:Query"], "Resource": "*"},
                {"Effect": "Deny", "Action": "kms:*", "Resource": "*"},
                {"Effect": "Allow", "Action": "ec2:NoSuchAction", "Resource": "*"},
            ]
        }
    )
    found = grants.granted([doc])
    assert sorted(found) == ["dynamodb", "s3"]
    assert "GetObject" in grants.granted_actions("s3", found["s3"])
    assert "PutObject" not in grants.granted_actions("s3", found["s3"])
    everything_but = json.dumps(
        {"Statement": {"Effect": "Allow", "NotAction": ["iam:*", "s3:GetObject"], "Resource": "*"}}
    )
    others = grants.granted([everything_but])
    assert "iam" not in others and "s3" in others and "kms" in others
    assert "getobject" not in others["s3"] and "putobject" in others["s3"]
    assert grants.granted(["not json", "[]", json.dumps({"Statement": 3})]) == {}
