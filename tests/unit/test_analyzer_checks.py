"""Each issue code Ostiary implements, on the example AWS's check reference gives for it (or the nearest)."""

# ruff: noqa: E501  (a table of cases, one a line)
from __future__ import annotations

import json
from typing import Any

import pytest

from ostiary.analyzer import validate

TRUST = "AWS::IAM::AssumeRolePolicyDocument"
ROLE = "arn:aws:iam::111122223333:role/app"


def statement(**elements: Any) -> dict[str, Any]:
    """An Allow statement on s3:GetObject and every resource, with `elements` replacing or adding."""
    return {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", **elements}


def policy(*statements: dict[str, Any], **top: Any) -> str:
    """A 2012-10-17 document of these statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements), **top})


def found(
    text: str, policy_type: str = "IDENTITY_POLICY", resource_type: str | None = None
) -> dict[str, str]:
    """Issue code → details of each finding."""
    return {f.issue_code: f.details for f in validate(text, policy_type, resource_type)}


def trusted(**elements: Any) -> dict[str, Any]:
    """A trust statement letting EC2 assume the role."""
    return {
        "Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole",
        **elements,
    }


CASES: list[tuple[str, str, str, str | None]] = [
    ("INVALID_POLICY_ELEMENT", policy(statement(Actions="s3:*")), "IDENTITY_POLICY", None),
    ("INVALID_POLICY_ELEMENT", policy(statement(), Bogus="x"), "IDENTITY_POLICY", None),
    ("MISSING_STATEMENT", json.dumps({"Version": "2012-10-17"}), "IDENTITY_POLICY", None),
    ("DATA_TYPE_MISMATCH", policy(statement(Effect=1)), "IDENTITY_POLICY", None),
    ("MISSING_EFFECT", policy({"Action": "s3:GetObject", "Resource": "*"}), "IDENTITY_POLICY", None),
    ("INVALID_EFFECT", policy(statement(Effect="allow")), "IDENTITY_POLICY", None),
    ("MISSING_ACTION", policy({"Effect": "Allow", "Resource": "*"}), "IDENTITY_POLICY", None),
    ("MISSING_RESOURCE", policy({"Effect": "Allow", "Action": "s3:GetObject"}), "IDENTITY_POLICY", None),
    ("MISSING_PRINCIPAL", policy(statement()), "RESOURCE_POLICY", None),
    ("INVALID_VERSION", json.dumps({"Version": "2012-10-18", "Statement": [statement()]}), "IDENTITY_POLICY", None),
    ("UNSUPPORTED_ELEMENT_COMBINATION", policy(statement(NotAction="s3:PutObject")), "IDENTITY_POLICY", None),
    ("UNSUPPORTED_PRINCIPAL", policy(statement(Principal={"AWS": ROLE})), "IDENTITY_POLICY", None),
    ("SCP_SYNTAX_ERROR_PRINCIPAL", policy(statement(Principal="*")), "SERVICE_CONTROL_POLICY", None),
    ("SCP_SYNTAX_ERROR_ACTION_WILDCARD", policy(statement(Action="iam:*role")), "SERVICE_CONTROL_POLICY", None),
    ("UNIQUE_SIDS_REQUIRED", policy(statement(Sid="A"), statement(Sid="A", Action="s3:PutObject")), "IDENTITY_POLICY", None),
    ("UNIQUE_SIDS_RECOMMENDED", policy(statement(Sid="A", Principal="*"), statement(Sid="A", Principal="*", Action="s3:PutObject")), "RESOURCE_POLICY", None),
    ("UNSUPPORTED_SID", policy(statement(Sid="read all")), "IDENTITY_POLICY", None),
    ("EMPTY_SID_VALUE", policy(statement(Sid="")), "IDENTITY_POLICY", None),
    ("INVALID_SERVICE", policy(statement(Resource="arn:aws:s4:::bucket")), "IDENTITY_POLICY", None),
    ("INVALID_SERVICE_CONDITION_KEY", policy(statement(Condition={"StringEquals": {"s3:prefixx": "a"}})), "IDENTITY_POLICY", None),
    ("INVALID_GLOBAL_CONDITION_KEY", policy(statement(Condition={"StringEquals": {"aws:PrincipalTeg": "a"}})), "IDENTITY_POLICY", None),
    ("INVALID_CONDITION_KEY_FORMAT", policy(statement(Condition={"StringEquals": {"prefix": "a"}})), "IDENTITY_POLICY", None),
    ("UNSUPPORTED_GLOBAL_CONDITION_KEY", policy(statement(Condition={"ArnEquals": {"aws:ARN": ROLE}})), "IDENTITY_POLICY", None),
    ("MISSING_TAG_KEY_IN_CONDITION", policy(statement(Condition={"StringEquals": {"aws:ResourceTag": "JaneDoe"}})), "IDENTITY_POLICY", None),
    ("DUPLICATE_KEYS_WITH_DIFFERENT_CASE", policy(statement(Condition={"StringEquals": {"aws:username": "a", "aws:UserName": "b"}})), "IDENTITY_POLICY", None),
    ("INVALID_CONDITION_OPERATOR", policy(statement(Condition={"StringEqualz": {"aws:username": "a"}})), "IDENTITY_POLICY", None),
    ("INVALID_CONDITION_DATA_TYPE", policy(statement(Condition={"NumericLessThan": {"aws:MultiFactorAuthAge": [3600, "7200"]}})), "IDENTITY_POLICY", None),
    ("INVALID_CONDITION_MULTIPLE_BOOLEAN", policy(statement(Condition={"Bool": {"aws:SecureTransport": ["true", "false"]}})), "IDENTITY_POLICY", None),
    ("NULL_WITH_IF_EXISTS", policy(statement(Condition={"NullIfExists": {"aws:TokenIssueTime": "true"}})), "IDENTITY_POLICY", None),
    ("NULL_WITH_QUALIFIER", policy(statement(Condition={"ForAllValues:Null": {"aws:TagKeys": "true"}})), "IDENTITY_POLICY", None),
    ("INVALID_VARIABLE_FOR_OPERATOR", policy(statement(Condition={"NumericEquals": {"aws:MultiFactorAuthAge": "${aws:username}"}})), "IDENTITY_POLICY", None),
    ("VARIABLE_UNSUPPORTED_IN_VERSION", json.dumps({"Statement": [statement(Resource="arn:aws:s3:::bucket/${aws:username}/*")]}), "IDENTITY_POLICY", None),
    ("VARIABLE_UNSUPPORTED_IN_ELEMENT", policy(statement(Action="s3:${aws:username}")), "IDENTITY_POLICY", None),
    ("EMPTY_VARIABLE", policy(statement(Resource="arn:aws:s3:::bucket/${}")), "IDENTITY_POLICY", None),
    ("MISSING_BRACE_IN_VARIABLE", policy(statement(Resource="arn:aws:s3:::bucket/${aws:username")), "IDENTITY_POLICY", None),
    ("UNSUPPORTED_SPACE_IN_VARIABLE", policy(statement(Resource="arn:aws:s3:::bucket/${aws: username}")), "IDENTITY_POLICY", None),
    ("TYPE_MISMATCH_IP_RANGE", policy(statement(Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/33"}})), "IDENTITY_POLICY", None),
    ("PRIVATE_IP_ADDRESS", policy(statement(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})), "IDENTITY_POLICY", None),
    ("PRIVATE_NOT_IP_ADDRESS", policy(statement(Condition={"NotIpAddress": {"aws:SourceIp": "192.168.0.0/16"}})), "IDENTITY_POLICY", None),
    ("PRIVATE_IP_ADDRESS_SUBSET", policy(statement(Condition={"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "54.240.143.0/24"]}})), "IDENTITY_POLICY", None),
    ("PRIVATE_NOT_IP_ADDRESS_SUBSET", policy(statement(Condition={"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "54.240.143.0/24"]}})), "IDENTITY_POLICY", None),
    ("IMPROVE_IP_RANGE", policy(statement(Condition={"IpAddress": {"aws:SourceIp": "203.0.113.7/24"}})), "IDENTITY_POLICY", None),
    ("INVALID_VPC_FORMAT", policy(statement(Condition={"StringEquals": {"aws:SourceVpc": "vpc-1"}})), "IDENTITY_POLICY", None),
    ("INVALID_VPCE_FORMAT", policy(statement(Condition={"StringEquals": {"aws:SourceVpce": "vpce-123"}})), "IDENTITY_POLICY", None),
    ("INVALID_ARN_PREFIX", policy(statement(Resource="aws:s3:::bucket")), "IDENTITY_POLICY", None),
    ("MISSING_ARN_FIELD", policy(statement(Resource="arn:aws:s3")), "IDENTITY_POLICY", None),
    ("INVALID_PARTITION", policy(statement(Resource="arn:aws-moon:s3:::bucket")), "IDENTITY_POLICY", None),
    ("INVALID_ARN_SERVICE_CASE", policy(statement(Resource="arn:aws:S3:::bucket")), "IDENTITY_POLICY", None),
    ("INVALID_ARN_ACCOUNT", policy(statement(Action="dynamodb:GetItem", Resource="arn:aws:dynamodb:us-east-1:1234:table/Books")), "IDENTITY_POLICY", None),
    ("ARN_REGION_NOT_ALLOWED", policy(statement(Action="iam:GetUser", Resource="arn:aws:iam:us-east-1:111122223333:user/jane")), "IDENTITY_POLICY", None),
    ("MISSING_ARN_REGION", policy(statement(Action="dynamodb:GetItem", Resource="arn:aws:dynamodb::111122223333:table/Books")), "IDENTITY_POLICY", None),
    ("INVALID_ARN_RESOURCE", policy(statement(Action="iam:GetUser", Resource="arn:aws:iam::111122223333:usr/jane")), "IDENTITY_POLICY", None),
    ("WILDCARD_IN_SERVICE_NAME", policy(statement(Resource="arn:aws:*code*::111122223333:*")), "IDENTITY_POLICY", None),
    ("INVALID_PRINCIPAL_FORMAT", policy(statement(Principal="123456789012")), "RESOURCE_POLICY", None),
    ("INVALID_PRINCIPAL_KEY", policy(statement(Principal={"Aws": "123456789012"})), "RESOURCE_POLICY", None),
    ("UNSUPPORTED_WILDCARD_IN_PRINCIPAL", policy(statement(Principal={"AWS": "arn:aws:iam::111122223333:user/*"})), "RESOURCE_POLICY", None),
    ("FEDERATED_PRINCIPAL_NOT_SUPPORTED", policy(statement(Principal={"Federated": "accounts.google.com"})), "RESOURCE_POLICY", None),
    ("EMPTY_OBJECT_PRINCIPAL", policy(statement(Principal={})), "RESOURCE_POLICY", None),
    ("EMPTY_ARRAY_PRINCIPAL", policy(statement(Principal={"AWS": []})), "RESOURCE_POLICY", None),
    ("ALLOW_WITH_NOT_PRINCIPAL", policy(statement(NotPrincipal={"AWS": ROLE})), "RESOURCE_POLICY", None),
    ("ROLE_TRUST_POLICY_SYNTAX_ERROR_NOTPRINCIPAL", policy({"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "sts:AssumeRole"}), "RESOURCE_POLICY", TRUST),
    ("ROLE_TRUST_POLICY_UNSUPPORTED_WILDCARD_IN_PRINCIPAL", policy(trusted(Principal="*")), "RESOURCE_POLICY", TRUST),
    ("ROLE_TRUST_POLICY_SYNTAX_ERROR_RESOURCE", policy(trusted(Resource="*")), "RESOURCE_POLICY", TRUST),
    ("UNSUPPORTED_ACTION_IN_POLICY", policy(statement(Principal="*", Action="kms:Decrypt", Resource="arn:aws:s3:::bucket/*")), "RESOURCE_POLICY", "AWS::S3::Bucket"),
    ("UNSUPPORTED_RESOURCE_ARN_IN_POLICY", policy(statement(Principal="*", Resource="arn:aws:kms:us-east-1:111122223333:key/1")), "RESOURCE_POLICY", "AWS::S3::Bucket"),
    ("MISSING_GITHUB_REPO_CONDITION_KEY", policy({"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"}, "Action": "sts:AssumeRoleWithWebIdentity"}), "RESOURCE_POLICY", TRUST),
    ("MISSING_VERSION", json.dumps({"Statement": [statement()]}), "IDENTITY_POLICY", None),
    ("WILDCARD_WITHOUT_LIKE_OPERATOR", policy(statement(Condition={"StringEquals": {"aws:PrincipalTag/job-category": "admin-*"}})), "IDENTITY_POLICY", None),
    ("TYPE_MISMATCH", policy(statement(Condition={"StringEquals": {"aws:MultiFactorAuthPresent": "true"}})), "IDENTITY_POLICY", None),
    ("TYPE_MISMATCH_BOOLEAN", policy(statement(Condition={"Bool": {"aws:MultiFactorAuthPresent": "yes"}})), "IDENTITY_POLICY", None),
    ("TYPE_MISMATCH_DATE", policy(statement(Condition={"DateLessThan": {"aws:CurrentTime": "tomorrow"}})), "IDENTITY_POLICY", None),
    ("TYPE_MISMATCH_NUMBER", policy(statement(Condition={"NumericLessThan": {"aws:MultiFactorAuthAge": "an hour"}})), "IDENTITY_POLICY", None),
    ("TYPE_MISMATCH_STRING", policy(statement(Condition={"BinaryEquals": {"aws:username": "not base64!"}})), "IDENTITY_POLICY", None),
    ("FORALLVALUES_WITH_SINGLE_VALUED_KEY", policy(statement(Condition={"ForAllValues:StringEquals": {"aws:username": ["a"]}})), "IDENTITY_POLICY", None),
    ("STRING_LIKE_OPERATOR_WITH_ARN_CONDITION_KEYS", policy(statement(Condition={"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/x"}})), "IDENTITY_POLICY", None),
    ("POLICY_SIZE_EXCEEDS_IDENTITY_POLICY_QUOTA", policy(statement(Action=[f"s3:GetObject{i:05}" for i in range(400)])), "IDENTITY_POLICY", None),
    ("POLICY_SIZE_EXCEEDS_SCP_QUOTA", policy(statement(Action=[f"s3:GetObject{i:05}" for i in range(400)])), "SERVICE_CONTROL_POLICY", None),
    ("PASS_ROLE_WITH_STAR_IN_RESOURCE", policy(statement(Action="iam:PassRole")), "IDENTITY_POLICY", None),
    ("PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE", policy(statement(Action="iam:*")), "IDENTITY_POLICY", None),
    ("PASS_ROLE_WITH_STAR_IN_RESOURCE_AND_NOT_ACTION", policy({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}), "IDENTITY_POLICY", None),
    ("PASS_ROLE_WITH_NOT_RESOURCE", policy({"Effect": "Allow", "Action": "iam:PassRole", "NotResource": ROLE}), "IDENTITY_POLICY", None),
    ("PASS_ROLE_WITH_STAR_IN_ACTION_AND_NOT_RESOURCE", policy({"Effect": "Allow", "Action": "iam:Pass*", "NotResource": ROLE}), "IDENTITY_POLICY", None),
    ("PASS_ROLE_WITH_NOT_ACTION_AND_NOT_RESOURCE", policy({"Effect": "Allow", "NotAction": "s3:*", "NotResource": ROLE}), "IDENTITY_POLICY", None),
    ("CREATE_SLR_WITH_STAR_IN_RESOURCE", policy(statement(Action="iam:CreateServiceLinkedRole")), "IDENTITY_POLICY", None),
    ("CREATE_SLR_WITH_STAR_IN_ACTION_AND_RESOURCE", policy(statement(Action="iam:Create*")), "IDENTITY_POLICY", None),
    ("ARN_ACCOUNT_NOT_ALLOWED", policy(statement(Resource="arn:aws:s3::111122223333:my-bucket")), "IDENTITY_POLICY", None),
    ("POLICY_SIZE_EXCEEDS_RESOURCE_POLICY_QUOTA", policy(statement(Principal="*", Resource=[f"arn:aws:s3:::bucket/prefix-{i:05}/*" for i in range(700)])), "RESOURCE_POLICY", "AWS::S3::Bucket"),
    ("POLICY_SIZE_EXCEEDS_ROLE_TRUST_POLICY_QUOTA", policy(trusted(Condition={"StringEquals": {"sts:ExternalId": [f"external-id-{i:05}" for i in range(150)]}})), "RESOURCE_POLICY", TRUST),
    ("CREATE_SLR_WITH_STAR_IN_RESOURCE_AND_NOT_ACTION", policy({"Effect": "Allow", "NotAction": "iam:PassRole", "Resource": "*"}), "IDENTITY_POLICY", None),
    ("CREATE_SLR_WITH_NOT_RESOURCE", policy({"Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "NotResource": ROLE}), "IDENTITY_POLICY", None),
    ("CREATE_SLR_WITH_STAR_IN_ACTION_AND_NOT_RESOURCE", policy({"Effect": "Allow", "Action": "iam:Create*", "NotResource": ROLE}), "IDENTITY_POLICY", None),
    ("CREATE_SLR_WITH_NOT_ACTION_AND_NOT_RESOURCE", policy({"Effect": "Allow", "NotAction": "s3:*", "NotResource": ROLE}), "IDENTITY_POLICY", None),
    ("EMPTY_ARRAY_ACTION", policy(statement(Action=[])), "IDENTITY_POLICY", None),
    ("EMPTY_ARRAY_RESOURCE", policy(statement(Resource=[])), "IDENTITY_POLICY", None),
    ("EMPTY_OBJECT_CONDITION", policy(statement(Condition={})), "IDENTITY_POLICY", None),
    ("EMPTY_ARRAY_CONDITION", policy(statement(Condition={"StringEquals": {"aws:username": []}})), "IDENTITY_POLICY", None),
    ("EMPTY_ARRAY_CONDITION_FORALLVALUES", policy(statement(Condition={"ForAllValues:StringEquals": {"aws:TagKeys": []}})), "IDENTITY_POLICY", None),
    ("EMPTY_ARRAY_CONDITION_FORANYVALUE", policy(statement(Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": []}})), "IDENTITY_POLICY", None),
    ("EMPTY_ARRAY_CONDITION_IFEXISTS", policy(statement(Condition={"StringEqualsIfExists": {"aws:username": []}})), "IDENTITY_POLICY", None),
    ("REDUNDANT_ACTION", policy(statement(Action=["iam:Get*", "iam:List*", "iam:GetCredentialReport"])), "IDENTITY_POLICY", None),
    ("REDUNDANT_RESOURCE", policy(statement(Action="iam:GetRole", Resource=["arn:aws:iam::111122223333:role/jane-admin", "arn:aws:iam::111122223333:role/jane-s3only", "arn:aws:iam::111122223333:role/jane*"])), "IDENTITY_POLICY", None),
    ("REDUNDANT_STATEMENT", policy(statement(Sid="One"), statement(Sid="Two")), "IDENTITY_POLICY", None),
]  # fmt: skip


@pytest.mark.parametrize(("code", "text", "policy_type", "resource_type"), CASES, ids=[c[0] for c in CASES])
def test_issue_code_is_found(code: str, text: str, policy_type: str, resource_type: str | None) -> None:
    assert code in found(text, policy_type, resource_type)


def test_aws_examples_texts() -> None:
    text = policy(statement(Action=["iam:Get*", "iam:List*", "iam:GetCredentialReport"]))
    assert found(text)["REDUNDANT_ACTION"] == (
        "The 1 action(s) are redundant because they provide similar permissions. "
        "Update the policy to remove the redundant action such as: iam:GetCredentialReport."
    )
    resources = [f"arn:aws:iam::111122223333:role/{n}" for n in ("jane-admin", "jane-s3only", "jane*")]
    assert found(policy(statement(Action="iam:GetRole", Resource=resources)))[
        "REDUNDANT_RESOURCE"
    ].startswith("The 2 resource ARN(s) are redundant")
    assert found(policy(statement(Condition={"IpAddress": {"aws:SourceIp": "203.0.113.7/24"}})))[
        "IMPROVE_IP_RANGE"
    ].endswith("Replace address with 203.0.113.0/24.")


def test_not_redundant_when_a_pattern_adds_something() -> None:
    text = policy(statement(Action=["iam:Get*", "iam:List*", "iam:*CredentialReport"]))
    assert "REDUNDANT_ACTION" not in found(text)


def test_pass_role_scoped_by_passed_to_service_is_not_flagged() -> None:
    condition = {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    assert "PASS_ROLE_WITH_STAR_IN_RESOURCE" not in found(
        policy(statement(Action="iam:PassRole", Condition=condition))
    )
    assert "PASS_ROLE_WITH_STAR_IN_RESOURCE" not in found(
        policy(statement(Action="iam:PassRole", Resource=ROLE))
    )


def test_deny_statements_raise_no_broad_grant_warnings() -> None:
    assert found(policy(statement(Effect="Deny", Action="iam:PassRole"))) == {}


def test_one_finding_per_problem_all_reported() -> None:
    text = policy(
        statement(Action=["s3:GetObjectt", "ec2:DescribeInstancez"], Resource=["arn:aws:s4:::b"]),
        {"Effect": "Maybe", "Action": "s3:GetObject"},
    )
    assert [f.issue_code for f in validate(text, "IDENTITY_POLICY")] == [
        "INVALID_ACTION",
        "INVALID_ACTION",
        "INVALID_SERVICE",
        "MISSING_RESOURCE",  # located on the whole statement, which starts before its Effect
        "INVALID_EFFECT",
    ]


def test_trust_policy_good_example_is_clean() -> None:
    assert found(policy(trusted()), "RESOURCE_POLICY", TRUST) == {}


def test_federation_claim_keys_are_not_called_unknown() -> None:
    condition = {
        "StringEquals": {"accounts.google.com:aud": "app", "saml:aud": "https://signin.aws.amazon.com/saml"}
    }
    statement_ = {"Effect": "Allow", "Principal": {"Federated": "accounts.google.com"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition}  # fmt: skip
    assert found(policy(statement_), "RESOURCE_POLICY", TRUST) == {}
