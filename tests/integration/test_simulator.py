"""The policy simulator answers from the engine and the stored policies, in AWS's shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server

LIST_AND_DENY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "List", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": "*"},
            {
                "Sid": "NoSecrets",
                "Effect": "Deny",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::secret/*",
            },
        ],
    },
    indent=2,
)

TAGGED = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "ec2:StartInstances",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:PrincipalTag/team": "red"},
                    "Bool": {"aws:MultiFactorAuthPresent": "true"},
                },
            }
        ],
    }
)


def _by_action(response: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["EvalActionName"], r["EvalResourceName"]): r for r in response["EvaluationResults"]}


def test_custom_policy_allowed_explicit_and_implicit_deny(iam: Any) -> None:
    out = _by_action(
        iam.simulate_custom_policy(
            PolicyInputList=[LIST_AND_DENY],
            ActionNames=["s3:ListBucket", "s3:GetObject", "s3:PutObject"],
            ResourceArns=["arn:aws:s3:::secret/key"],
        )
    )
    listed = out[("s3:ListBucket", "arn:aws:s3:::secret/key")]
    assert listed["EvalDecision"] == "allowed"
    assert listed["MatchedStatements"] == [
        {
            "SourcePolicyId": "PolicyInputList.1",
            "SourcePolicyType": "IAM Policy",
            "StartPosition": {"Line": 4, "Column": 5},
            "EndPosition": {"Line": 12, "Column": 6},
        }
    ]
    assert listed["ResourceSpecificResults"][0]["EvalResourceDecision"] == "allowed"
    denied = out[("s3:GetObject", "arn:aws:s3:::secret/key")]
    assert denied["EvalDecision"] == "explicitDeny"
    assert [m["StartPosition"]["Line"] for m in denied["MatchedStatements"]] == [13]
    implicit = out[("s3:PutObject", "arn:aws:s3:::secret/key")]
    assert implicit["EvalDecision"] == "implicitDeny" and implicit["MatchedStatements"] == []


def test_missing_context_values_and_context_entries(iam: Any) -> None:
    result = iam.simulate_custom_policy(PolicyInputList=[TAGGED], ActionNames=["ec2:StartInstances"])
    first = result["EvaluationResults"][0]
    assert first["EvalDecision"] == "implicitDeny"
    assert first["EvalResourceName"] == "*"
    assert sorted(first["MissingContextValues"]) == ["aws:MultiFactorAuthPresent", "aws:PrincipalTag/team"]
    entries = [
        {"ContextKeyName": "aws:PrincipalTag/team", "ContextKeyValues": ["red"], "ContextKeyType": "string"},
        {
            "ContextKeyName": "aws:MultiFactorAuthPresent",
            "ContextKeyValues": ["true"],
            "ContextKeyType": "boolean",
        },
    ]
    allowed = iam.simulate_custom_policy(
        PolicyInputList=[TAGGED], ActionNames=["ec2:StartInstances"], ContextEntries=entries
    )["EvaluationResults"][0]
    assert allowed["EvalDecision"] == "allowed" and allowed["MissingContextValues"] == []


def test_principal_policy_uses_stored_user_and_group_policies(iam: Any, unique: str) -> None:
    user, group = f"sim-{unique}", f"simgroup-{unique}"
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.put_user_policy(UserName=user, PolicyName="inline-list", PolicyDocument=LIST_AND_DENY)
    iam.create_group(GroupName=group)
    iam.put_group_policy(
        GroupName=group,
        PolicyName="group-put",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}],
            }
        ),
    )
    iam.add_user_to_group(GroupName=group, UserName=user)
    out = _by_action(
        iam.simulate_principal_policy(
            PolicySourceArn=arn, ActionNames=["s3:ListBucket", "s3:PutObject", "s3:DeleteObject"]
        )
    )
    assert out[("s3:ListBucket", "*")]["EvalDecision"] == "allowed"
    assert out[("s3:ListBucket", "*")]["MatchedStatements"][0]["SourcePolicyId"] == "inline-list"
    assert out[("s3:PutObject", "*")]["MatchedStatements"][0]["SourcePolicyId"] == "group-put"
    assert out[("s3:DeleteObject", "*")]["EvalDecision"] == "implicitDeny"


def test_principal_policy_reports_the_permissions_boundary(iam: Any, unique: str) -> None:
    user = f"simbound-{unique}"
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.put_user_policy(UserName=user, PolicyName="list", PolicyDocument=LIST_AND_DENY)
    boundary = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    out = _by_action(
        iam.simulate_principal_policy(
            PolicySourceArn=arn,
            ActionNames=["s3:ListBucket", "s3:GetObject"],
            PermissionsBoundaryPolicyInputList=[boundary],
        )
    )
    assert out[("s3:ListBucket", "*")]["EvalDecision"] == "implicitDeny"
    assert out[("s3:ListBucket", "*")]["PermissionsBoundaryDecisionDetail"] == {
        "AllowedByPermissionsBoundary": False
    }
    assert out[("s3:GetObject", "*")]["EvalDecision"] == "allowed"
    assert out[("s3:GetObject", "*")]["PermissionsBoundaryDecisionDetail"] == {
        "AllowedByPermissionsBoundary": True
    }


def test_resource_policy_can_allow_for_the_caller(iam: Any, server: Server) -> None:
    caller = f"arn:aws:iam::{server.account_id}:user/somebody"
    bucket_policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": caller},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::b/*",
                }
            ],
        }
    )
    nothing = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
        }
    )
    result = iam.simulate_custom_policy(
        PolicyInputList=[nothing],
        ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::b/k"],
        ResourcePolicy=bucket_policy,
        CallerArn=caller,
        ResourceOwner=f"arn:aws:iam::{server.account_id}:root",
    )["EvaluationResults"][0]
    assert result["EvalDecision"] == "allowed"
    assert result["MatchedStatements"][0]["SourcePolicyType"] == "Resource Policy"


def test_pagination_of_results(iam: Any) -> None:
    actions = ["s3:ListBucket", "s3:GetObject", "s3:PutObject"]
    first = iam.simulate_custom_policy(PolicyInputList=[LIST_AND_DENY], ActionNames=actions, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["EvaluationResults"]) == 2
    rest = iam.simulate_custom_policy(
        PolicyInputList=[LIST_AND_DENY], ActionNames=actions, MaxItems=2, Marker=first["Marker"]
    )
    assert rest["IsTruncated"] is False
    assert [r["EvalActionName"] for r in first["EvaluationResults"] + rest["EvaluationResults"]] == actions


def test_context_keys_for_custom_and_principal_policies(iam: Any, unique: str) -> None:
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[TAGGED, LIST_AND_DENY])["ContextKeyNames"]
    assert sorted(keys) == ["aws:MultiFactorAuthPresent", "aws:PrincipalTag/team"]
    user = f"simkeys-{unique}"
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.put_user_policy(UserName=user, PolicyName="tagged", PolicyDocument=TAGGED)
    keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=arn)["ContextKeyNames"]
    assert sorted(keys) == ["aws:MultiFactorAuthPresent", "aws:PrincipalTag/team"]


def test_unknown_principal_is_no_such_entity(iam: Any, server: Server, unique: str) -> None:
    with pytest.raises(ClientError) as exc:
        iam.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{server.account_id}:user/nobody-{unique}",
            ActionNames=["s3:GetObject"],
        )
    assert exc.value.response["Error"]["Code"] == "NoSuchEntity"


def test_malformed_input_policy_is_refused(iam: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iam.simulate_custom_policy(PolicyInputList=["{not json"], ActionNames=["s3:GetObject"])
    assert exc.value.response["Error"]["Code"] == "MalformedPolicyDocument"


def test_another_accounts_principals_are_not_found(iam: Any, server: Server, unique: str) -> None:
    name = f"sim-private-{unique}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="private", PolicyDocument=LIST_AND_DENY)
    other = server.new_account()
    outsider = server.client("iam", other["AccessKeyId"], other["SecretAccessKey"])
    source = f"arn:aws:iam::{server.account_id}:user/{name}"
    for call in (
        lambda: outsider.simulate_principal_policy(PolicySourceArn=source, ActionNames=["s3:ListBucket"]),
        lambda: outsider.get_context_keys_for_principal_policy(PolicySourceArn=source),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["Error"]["Code"] == "NoSuchEntity"


def test_eval_decision_details_follow_awss_three_cases(iam: Any, server: Server) -> None:
    """AWS: not returned for all resources within one account; present and empty with a resource ARN
    (recorded, 376); present for a resource of another account."""
    every = iam.simulate_custom_policy(PolicyInputList=[LIST_AND_DENY], ActionNames=["s3:ListBucket"])
    assert "EvalDecisionDetails" not in every["EvaluationResults"][0]
    named = iam.simulate_custom_policy(
        PolicyInputList=[LIST_AND_DENY], ActionNames=["s3:ListBucket"], ResourceArns=["arn:aws:s3:::b"]
    )
    assert named["EvaluationResults"][0]["EvalDecisionDetails"] == {}
    caller = f"arn:aws:iam::{server.account_id}:user/somebody"
    other = iam.simulate_custom_policy(
        PolicyInputList=[LIST_AND_DENY],
        ActionNames=["s3:ListBucket"],
        CallerArn=caller,
        ResourceOwner="arn:aws:iam::210987654321:root",
    )
    assert other["EvaluationResults"][0]["EvalDecisionDetails"] == {}
