"""Roles through boto3 against the real server: shapes, AWS's errors, and failed calls changing nothing."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
TRUST_JSON = json.dumps(TRUST)
BOUNDARY_DOC = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
)


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def assert_no_role(iam, name: str) -> None:  # type: ignore[no-untyped-def]  # boto3 client
    with pytest.raises(ClientError) as exc:
        iam.get_role(RoleName=name)
    assert error(exc) == ("NoSuchEntity", f"The role with name {name} cannot be found.")


def test_create_role_returns_the_create_shape_with_path_and_tags(iam, server, unique):
    name = f"role-{unique}"
    role = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=TRUST_JSON,
        Path=f"/p-{unique}/",
        Description="testing role",
        Tags=[{"Key": "test", "Value": "value"}],
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::{server.account_id}:role/p-{unique}/{name}"
    assert role["RoleId"].startswith("AROA") and len(role["RoleId"]) == 21
    assert role["Path"] == f"/p-{unique}/"
    assert role["AssumeRolePolicyDocument"] == TRUST
    assert role["Tags"] == [{"Key": "test", "Value": "value"}]
    assert "MaxSessionDuration" not in role and "RoleLastUsed" not in role and "Description" not in role


def test_get_role_shows_every_field(iam, unique):
    name = f"role-{unique}"
    iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=TRUST_JSON, Description="d1", MaxSessionDuration=7200
    )
    role = iam.get_role(RoleName=name.upper())["Role"]
    assert role["RoleName"] == name
    assert role["Description"] == "d1"
    assert role["MaxSessionDuration"] == 7200
    assert role["RoleLastUsed"] == {}
    assert role["AssumeRolePolicyDocument"] == TRUST
    assert "Tags" not in role and "PermissionsBoundary" not in role


def test_trust_policy_is_returned_as_submitted(iam, unique):
    name = f"role-{unique}"
    spaced = json.dumps(TRUST, indent=2)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=spaced)
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == TRUST


def test_duplicate_name_differing_in_case_is_refused(iam, unique):
    name = f"role-{unique}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_JSON)
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=name.upper(), AssumeRolePolicyDocument=TRUST_JSON)
    assert error(exc) == ("EntityAlreadyExists", f"Role with name {name.upper()} already exists.")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            '{"Version": "2012-10-17", "Statement": [{"Action": "sts:AssumeRole", "Principal": "*", '
            '"Effect": "Allow",}]}',
            "This policy contains invalid Json",
        ),
        (
            json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:InvalidAction",
                        }
                    ],
                }
            ),
            "AssumeRole policy may only specify STS AssumeRole actions.",
        ),
        (
            json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Resource": "arn:aws:s3:::example_bucket",
                        }
                    ],
                }
            ),
            "Has prohibited field Resource",
        ),
    ],
)
def test_bad_trust_policy_is_refused_and_creates_no_role(iam, unique, document, message):
    name = f"role-{unique}"
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=document)
    assert error(exc) == ("MalformedPolicyDocument", message)
    assert_no_role(iam, name)


def test_oversized_trust_policy_is_refused(iam, unique):
    name = f"role-{unique}"
    services = [f"svc{i:04d}.amazonaws.com" for i in range(100)]
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": services}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=document)
    assert error(exc) == ("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048")
    assert_no_role(iam, name)


def test_bad_tag_creates_no_role(iam, unique):
    name = f"role-{unique}"
    with pytest.raises(ClientError) as exc:
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=TRUST_JSON,
            Tags=[{"Key": "mykey", "Value": "1"}, {"Key": "MyKey", "Value": "2"}],
        )
    assert error(exc) == (
        "InvalidInput",
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
    )
    assert_no_role(iam, name)


@pytest.mark.parametrize(
    ("duration", "constraint"),
    [
        (3599, "Member must have value greater than or equal to 3600"),
        (43201, "Member must have value less than or equal to 43200"),
    ],
)
def test_max_session_duration_out_of_range_is_refused(server, unique, duration, constraint):
    iam = server.client("iam", parameter_validation=False)  # boto3 would refuse it before sending
    name = f"role-{unique}"
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_JSON, MaxSessionDuration=duration)
    code, message = error(exc)
    assert code == "ValidationError"
    assert "'maxSessionDuration'" in message and constraint in message
    assert_no_role(iam, name)


def test_missing_role_errors(iam, unique):
    name = f"nonexistent-{unique}"
    for call in (
        lambda: iam.get_role(RoleName=name),
        lambda: iam.update_role(RoleName=name, Description="x"),
        lambda: iam.delete_role(RoleName=name),
        lambda: iam.update_assume_role_policy(RoleName=name, PolicyDocument=TRUST_JSON),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc) == ("NoSuchEntity", f"The role with name {name} cannot be found.")


def test_update_role_and_description(iam, unique):
    name = f"role-{unique}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_JSON, Description="initial")
    iam.update_role(RoleName=name, Description="updated", MaxSessionDuration=7200)
    role = iam.get_role(RoleName=name)["Role"]
    assert (role["Description"], role["MaxSessionDuration"]) == ("updated", 7200)
    shown = iam.update_role_description(RoleName=name, Description="via description")["Role"]
    assert shown["Description"] == "via description" and shown["RoleName"] == name
    iam.update_role(RoleName=name)
    role = iam.get_role(RoleName=name)["Role"]
    assert (role["Description"], role["MaxSessionDuration"]) == ("via description", 7200)


def test_update_assume_role_policy(iam, unique):
    name = f"role-{unique}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_JSON)
    new = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com"]},
                "Action": ["sts:AssumeRole"],
            }
        ],
    }
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(new))
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == new


def test_bad_update_assume_role_policy_keeps_the_old_one(iam, unique):
    name = f"role-{unique}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_JSON)
    with pytest.raises(ClientError) as exc:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument="not valid json")
    assert error(exc) == ("MalformedPolicyDocument", "This policy contains invalid Json")
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == TRUST


def test_delete_role(iam, unique):
    name = f"role-{unique}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_JSON, Tags=[{"Key": "k", "Value": "v"}])
    iam.delete_role(RoleName=name)
    assert_no_role(iam, name)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_JSON)
    assert iam.list_role_tags(RoleName=name)["Tags"] == []


def test_delete_role_in_an_instance_profile_conflicts(iam, unique):
    name = f"role-{unique}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_JSON)
    iam.create_instance_profile(InstanceProfileName=f"profile-{unique}")
    iam.add_role_to_instance_profile(InstanceProfileName=f"profile-{unique}", RoleName=name)
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName=name)
    assert error(exc) == (
        "DeleteConflict",
        "Cannot delete entity, must remove roles from instance profile first.",
    )
    iam.remove_role_from_instance_profile(InstanceProfileName=f"profile-{unique}", RoleName=name)
    iam.delete_role(RoleName=name)
    assert_no_role(iam, name)


def test_delete_role_with_attached_policy_conflicts(iam, unique):
    name = f"role-{unique}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_JSON)
    arn = iam.create_policy(PolicyName=f"policy-{unique}", PolicyDocument=BOUNDARY_DOC)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName=name)
    assert error(exc) == ("DeleteConflict", "Cannot delete entity, must detach all policies first.")
    iam.detach_role_policy(RoleName=name, PolicyArn=arn)
    iam.delete_role(RoleName=name)
    assert_no_role(iam, name)


def test_delete_role_with_inline_policy_conflicts(iam, unique):
    name = f"role-{unique}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_JSON)
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=BOUNDARY_DOC)
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName=name)
    assert error(exc) == ("DeleteConflict", "Cannot delete entity, must delete policies first.")
    iam.delete_role_policy(RoleName=name, PolicyName="inline")
    iam.delete_role(RoleName=name)


def test_list_roles_by_path_prefix_and_pages(iam, unique):
    path = f"/page-{unique}/"
    names = [f"role-{i}-{unique}" for i in range(5)]
    for i, name in enumerate(names):
        iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=TRUST_JSON, Path=path, Description=f"Role {i}"
        )
    first = iam.list_roles(PathPrefix=path, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["Roles"]) == 2
    rest = iam.list_roles(PathPrefix=path, Marker=first["Marker"])
    assert rest["IsTruncated"] is False
    listed = first["Roles"] + rest["Roles"]
    assert [r["RoleName"] for r in listed] == names
    assert listed[0]["Description"] == "Role 0" and listed[0]["MaxSessionDuration"] == 3600
    assert "Tags" not in listed[0] and "RoleLastUsed" not in listed[0]
    assert iam.list_roles(PathPrefix=f"/page-{unique}")["Roles"][0]["Path"] == path  # a string prefix
    assert iam.list_roles(PathPrefix="/nonexistent-path/")["Roles"] == []


def test_permissions_boundary_lifecycle(iam, unique):
    arn = iam.create_policy(PolicyName=f"boundary-{unique}", PolicyDocument=BOUNDARY_DOC)["Policy"]["Arn"]
    name = f"role-{unique}"
    created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_JSON, PermissionsBoundary=arn)
    expected = {"PermissionsBoundaryArn": arn, "PermissionsBoundaryType": "Policy"}
    assert created["Role"]["PermissionsBoundary"] == expected
    assert iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"] == expected
    iam.delete_role_permissions_boundary(RoleName=name)
    assert "PermissionsBoundary" not in iam.get_role(RoleName=name)["Role"]
    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=arn)
    assert iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"] == expected


def test_aws_managed_policy_can_be_a_boundary(iam, unique):
    name = f"role-{unique}"
    arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Arn"] == arn  # seeded at start
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_JSON)
    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=arn)
    assert iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == arn


def test_bad_boundaries_are_refused_and_change_nothing(iam, server, unique):
    name = f"role-{unique}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_JSON)
    invalid = f"arn:aws:iam::{server.account_id}:not_a_policy/invalid"
    missing = f"arn:aws:iam::{server.account_id}:policy/nonexistent-{unique}"
    with pytest.raises(ClientError) as exc:
        iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=invalid)
    assert error(exc) == ("InvalidInput", f"ARN {invalid} is not valid.")
    with pytest.raises(ClientError) as exc:
        iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=missing)
    assert error(exc) == ("NoSuchEntity", f"Scope ARN: {missing} does not exist or is not attachable.")
    assert "PermissionsBoundary" not in iam.get_role(RoleName=name)["Role"]
    with pytest.raises(ClientError) as exc:
        iam.create_role(
            RoleName=f"other-{unique}", AssumeRolePolicyDocument=TRUST_JSON, PermissionsBoundary=missing
        )
    assert error(exc)[0] == "NoSuchEntity"
    assert_no_role(iam, f"other-{unique}")


def test_concurrent_creates_of_one_role_leave_one(server, unique):
    name = f"race-{unique}"
    clients = [server.client("iam") for _ in range(8)]

    def create(client):  # type: ignore[no-untyped-def]  # boto3 client
        try:
            client.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_JSON)
            return "created"
        except ClientError as exc:
            return exc.response["Error"]["Code"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(create, clients))
    assert sorted(outcomes) == ["EntityAlreadyExists"] * 7 + ["created"]
    listed = clients[0].list_roles(PathPrefix="/")["Roles"]
    assert [r["RoleName"] for r in listed].count(name) == 1


def test_role_last_used_after_assume_role(iam, server, unique):
    name = f"role-{unique}"
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    assert iam.get_role(RoleName=name)["Role"]["RoleLastUsed"] == {}
    user = f"assumer-{unique}"
    iam.create_user(UserName=user)
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": arn}],
    }
    iam.put_user_policy(UserName=user, PolicyName="assume", PolicyDocument=json.dumps(allow))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    sts = server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    session = sts.assume_role(RoleArn=arn, RoleSessionName="s1")
    assert session["AssumedRoleUser"]["Arn"].endswith(f"/{name}/s1")
    used = iam.get_role(RoleName=name)["Role"]["RoleLastUsed"]
    assert used["Region"] == "us-east-1" and used["LastUsedDate"].tzinfo is not None
