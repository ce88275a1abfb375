"""Service-linked roles through boto3 against the real server: the catalogue, suffixes, deletion tasks and
the refusals of ordinary edits."""

from __future__ import annotations

import json
import re

import pytest
from botocore.exceptions import ClientError

COMMON = {
    "autoscaling.amazonaws.com": ("AWSServiceRoleForAutoScaling", "AutoScalingServiceRolePolicy"),
    "elasticloadbalancing.amazonaws.com": (
        "AWSServiceRoleForElasticLoadBalancing",
        "AWSElasticLoadBalancingServiceRolePolicy",
    ),
    "ecs.amazonaws.com": ("AWSServiceRoleForECS", "AmazonECSServiceRolePolicy"),
    "rds.amazonaws.com": ("AWSServiceRoleForRDS", "AmazonRDSServiceRolePolicy"),
    "elasticbeanstalk.amazonaws.com": (
        "AWSServiceRoleForElasticBeanstalk",
        "AWSElasticBeanstalkServiceRolePolicy",
    ),
    "replicator.lambda.amazonaws.com": ("AWSServiceRoleForLambdaReplicator", "AWSLambdaReplicator"),
    "dynamodb.application-autoscaling.amazonaws.com": (
        "AWSServiceRoleForApplicationAutoScaling_DynamoDBTable",
        "AWSApplicationAutoscalingDynamoDBTablePolicy",
    ),
    "organizations.amazonaws.com": ("AWSServiceRoleForOrganizations", "AWSOrganizationsServiceTrustPolicy"),
    "sso.amazonaws.com": ("AWSServiceRoleForSSO", "AWSSSOServiceRolePolicy"),
    "guardduty.amazonaws.com": ("AWSServiceRoleForAmazonGuardDuty", "AmazonGuardDutyServiceRolePolicy"),
    "config.amazonaws.com": ("AWSServiceRoleForConfig", "AWSConfigServiceRolePolicy"),
    "support.amazonaws.com": ("AWSServiceRoleForSupport", "AWSSupportServiceRolePolicy"),
}


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def protected(name: str) -> tuple[str, str]:
    return (
        "UnmodifiableEntity",
        f"Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS",
    )


def delete(iam, name: str) -> None:  # type: ignore[no-untyped-def]  # boto3 client
    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"


@pytest.mark.parametrize("service", sorted(COMMON))
def test_catalogue_creates_the_services_role(iam, server, service):
    name, policy = COMMON[service]
    role = iam.create_service_linked_role(AWSServiceName=service)["Role"]
    try:
        assert role["RoleName"] == name and role["Path"] == f"/aws-service-role/{service}/"
        assert role["Arn"] == f"arn:aws:iam::{server.account_id}:role/aws-service-role/{service}/{name}"
        assert role["AssumeRolePolicyDocument"] == {
            "Version": "2012-10-17",
            "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": service}}],
        }
        got = iam.get_role(RoleName=name)["Role"]
        assert got["RoleId"] == role["RoleId"] and got["MaxSessionDuration"] == 3600
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        assert attached == [
            {"PolicyName": policy, "PolicyArn": f"arn:aws:iam::aws:policy/aws-service-role/{policy}"}
        ]
        assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []
    finally:
        delete(iam, name)


def test_custom_suffix_and_description(iam, unique):
    role = iam.create_service_linked_role(
        AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=unique, Description="scales the fleet"
    )["Role"]
    try:
        assert role["RoleName"] == f"AWSServiceRoleForAutoScaling_{unique}"
        assert role["Description"] == "scales the fleet"
        assert iam.get_role(RoleName=role["RoleName"])["Role"]["Description"] == "scales the fleet"
    finally:
        delete(iam, role["RoleName"])
    with pytest.raises(ClientError) as exc:
        iam.create_service_linked_role(
            AWSServiceName="elasticloadbalancing.amazonaws.com", CustomSuffix=unique
        )
    assert error(exc) == (
        "InvalidInput",
        "Custom suffix is not allowed for elasticloadbalancing.amazonaws.com",
    )


def test_role_name_taken_and_deletion_task(iam, server):
    iam.create_service_linked_role(AWSServiceName="batch.amazonaws.com")
    with pytest.raises(ClientError) as exc:
        iam.create_service_linked_role(AWSServiceName="batch.amazonaws.com")
    assert error(exc) == (
        "InvalidInput",
        "Service role name AWSServiceRoleForBatch has been taken in this "
        "account, please try a different suffix.",
    )
    task = iam.delete_service_linked_role(RoleName="AWSServiceRoleForBatch")["DeletionTaskId"]
    assert re.fullmatch(
        r"task/aws-service-role/batch\.amazonaws\.com/AWSServiceRoleForBatch/[0-9a-f-]{36}", task
    )
    status = iam.get_service_linked_role_deletion_status(DeletionTaskId=task)
    assert status["Status"] == "SUCCEEDED" and "Reason" not in status
    with pytest.raises(ClientError) as exc:
        iam.get_role(RoleName="AWSServiceRoleForBatch")
    assert error(exc) == ("NoSuchEntity", "The role with name AWSServiceRoleForBatch cannot be found.")


def test_ordinary_edits_of_a_service_linked_role_are_refused(iam, unique):
    name = iam.create_service_linked_role(AWSServiceName="connect.amazonaws.com", CustomSuffix=unique)[
        "Role"
    ]["RoleName"]
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    refused = [
        lambda: iam.delete_role(RoleName=name),
        lambda: iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust),
        lambda: iam.put_role_permissions_boundary(
            RoleName=name, PermissionsBoundary="arn:aws:iam::aws:policy/ReadOnlyAccess"
        ),
        lambda: iam.delete_role_permissions_boundary(RoleName=name),
        lambda: iam.update_role(RoleName=name, MaxSessionDuration=7200),
    ]
    try:
        for call in refused:
            with pytest.raises(ClientError) as exc:
                call()
            assert error(exc) == protected(name)
        iam.update_role_description(RoleName=name, Description="edited")  # AWS lets the description change
        assert iam.get_role(RoleName=name)["Role"]["Description"] == "edited"
    finally:
        delete(iam, name)


def test_policies_of_a_service_linked_role_are_refused(iam, unique):
    name = iam.create_service_linked_role(AWSServiceName="connect.amazonaws.com", CustomSuffix=unique)[
        "Role"
    ]["RoleName"]
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert attached  # CreateServiceLinkedRole attaches the service's own policy
    document = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    )
    refused = [
        lambda: iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"),
        lambda: iam.detach_role_policy(RoleName=name, PolicyArn=attached[0]["PolicyArn"]),
        lambda: iam.put_role_policy(RoleName=name, PolicyName="extra", PolicyDocument=document),
        lambda: iam.delete_role_policy(RoleName=name, PolicyName="extra"),
    ]
    try:
        for call in refused:
            with pytest.raises(ClientError) as exc:
                call()
            assert error(exc) == protected(name)
        assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == attached
        assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []
    finally:
        delete(iam, name)


def test_unknown_service_and_ordinary_role(iam, unique):
    with pytest.raises(ClientError) as exc:
        iam.create_service_linked_role(AWSServiceName=f"nothing-{unique}.amazonaws.com")
    assert error(exc)[0] == "InvalidInput"
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    iam.create_role(RoleName=f"plain-{unique}", AssumeRolePolicyDocument=trust)
    with pytest.raises(ClientError) as exc:
        iam.delete_service_linked_role(RoleName=f"plain-{unique}")
    assert error(exc)[0] == "InvalidInput"
    iam.get_role(RoleName=f"plain-{unique}")


def test_custom_suffix_too_long_for_a_role_name_is_refused(iam, unique):
    # AWSServiceRoleForAutoScaling_ leaves 35 of roleNameType's 64 characters; PostgreSQL answered 500
    suffix = unique + "s" * 50
    with pytest.raises(ClientError) as exc:
        iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=suffix)
    assert error(exc) == (
        "ValidationError",
        "1 validation error detected: Value at 'customSuffix' failed to satisfy constraint: "
        "Member must have length less than or equal to 35",
    )
    names = [
        r["RoleName"]
        for r in iam.list_roles(PathPrefix="/aws-service-role/autoscaling.amazonaws.com/")["Roles"]
    ]
    assert f"AWSServiceRoleForAutoScaling_{suffix}" not in names
    longest = iam.create_service_linked_role(
        AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=unique + "s" * 25
    )["Role"]["RoleName"]
    try:
        assert len(longest) == 64
    finally:
        delete(iam, longest)
