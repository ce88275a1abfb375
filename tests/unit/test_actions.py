"""The action, resource ARN and request keys of API calls, as AWS's authorization reference names them."""

from __future__ import annotations

import pytest

from ostiary import actions

ACCT = "123456789012"


def _arn(
    service: str,
    operation: str,
    params: dict[str, object],
    self_user: tuple[str, str] | None = None,
    stored_path: str | None = None,
) -> str:
    target = actions.target_of(service, operation, params, self_user)
    return actions.arn_of(service, target, ACCT, stored_path)


def test_action_is_service_and_operation() -> None:
    assert actions.action_of("iam", "CreateUser") == "iam:CreateUser"
    assert actions.action_of("sts", "AssumeRole") == "sts:AssumeRole"


@pytest.mark.parametrize(
    ("operation", "params", "stored_path", "expected"),
    [
        ("CreateUser", {"UserName": "bob"}, None, f"arn:aws:iam::{ACCT}:user/bob"),
        ("CreateUser", {"UserName": "bob", "Path": "/eng/"}, None, f"arn:aws:iam::{ACCT}:user/eng/bob"),
        ("GetUser", {"UserName": "bob"}, "/ops/", f"arn:aws:iam::{ACCT}:user/ops/bob"),
        ("AddUserToGroup", {"GroupName": "devs", "UserName": "bob"}, None, f"arn:aws:iam::{ACCT}:group/devs"),
        ("CreateRole", {"RoleName": "app", "Path": "/svc/"}, None, f"arn:aws:iam::{ACCT}:role/svc/app"),
        (
            "AttachRolePolicy",
            {"RoleName": "app", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
            None,
            f"arn:aws:iam::{ACCT}:role/app",
        ),
        ("CreatePolicy", {"PolicyName": "p", "Path": "/a/"}, None, f"arn:aws:iam::{ACCT}:policy/a/p"),
        (
            "GetPolicy",
            {"PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
            None,
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
        ),
        (
            "AddRoleToInstanceProfile",
            {"InstanceProfileName": "ip", "RoleName": "r"},
            None,
            f"arn:aws:iam::{ACCT}:instance-profile/ip",
        ),
        (
            "CreateOpenIDConnectProvider",
            {"Url": "https://token.example.com/x"},
            None,
            f"arn:aws:iam::{ACCT}:oidc-provider/token.example.com/x",
        ),
        ("CreateSAMLProvider", {"Name": "corp"}, None, f"arn:aws:iam::{ACCT}:saml-provider/corp"),
        ("CreateVirtualMFADevice", {"VirtualMFADeviceName": "m"}, None, f"arn:aws:iam::{ACCT}:mfa/m"),
        (
            "SimulatePrincipalPolicy",
            {"PolicySourceArn": f"arn:aws:iam::{ACCT}:role/r"},
            None,
            f"arn:aws:iam::{ACCT}:role/r",
        ),
        ("ListUsers", {}, None, f"arn:aws:iam::{ACCT}:user/"),
        ("ListRoles", {"PathPrefix": "/svc/"}, None, f"arn:aws:iam::{ACCT}:role/svc/"),
        ("GetAccountSummary", {}, None, "*"),
        (
            "CreateServiceLinkedRole",
            {"AWSServiceName": "elasticbeanstalk.amazonaws.com"},
            None,
            f"arn:aws:iam::{ACCT}:role/aws-service-role/elasticbeanstalk.amazonaws.com/AWSServiceRoleForElasticbeanstalk",
        ),
    ],
)
def test_iam_resource_arn_follows_the_reference(
    operation: str, params: dict[str, object], stored_path: str | None, expected: str
) -> None:
    assert _arn("iam", operation, params, stored_path=stored_path) == expected


def test_user_operations_without_user_name_act_on_the_caller() -> None:
    assert _arn("iam", "CreateAccessKey", {}, ("alice", "/t/")) == f"arn:aws:iam::{ACCT}:user/t/alice"
    arn = _arn("iam", "ChangePassword", {"OldPassword": "x"}, ("alice", "/"))
    assert arn == f"arn:aws:iam::{ACCT}:user/alice"


def test_access_key_last_used_targets_the_key_owner() -> None:
    target = actions.target_of("iam", "GetAccessKeyLastUsed", {"AccessKeyId": "AKIAX"}, ("alice", "/"))
    assert target.kind == "user" and target.access_key_id == "AKIAX" and target.name is None


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        (
            "AssumeRole",
            {"RoleArn": f"arn:aws:iam::{ACCT}:role/r", "RoleSessionName": "s"},
            f"arn:aws:iam::{ACCT}:role/r",
        ),
        ("GetFederationToken", {"Name": "fed"}, f"arn:aws:sts::{ACCT}:federated-user/fed"),
        ("GetCallerIdentity", {}, "*"),
        ("GetSessionToken", {}, "*"),
        ("AssumeRoot", {"TargetPrincipal": "111122223333"}, "arn:aws:iam::111122223333:root"),
    ],
)
def test_sts_resource_arn_follows_the_reference(
    operation: str, params: dict[str, object], expected: str
) -> None:
    assert _arn("sts", operation, params) == expected


def test_request_tags_and_tag_keys_come_from_tags() -> None:
    keys = actions.request_keys(
        "iam",
        "CreateUser",
        {
            "UserName": "bob",
            "Tags": [{"Key": "team", "Value": "red"}, {"Key": "cc", "Value": "1"}],
            "PermissionsBoundary": "arn:aws:iam::aws:policy/ReadOnlyAccess",
        },
    )
    assert keys == {
        "aws:RequestTag/team": "red",
        "aws:RequestTag/cc": "1",
        "aws:TagKeys": ["team", "cc"],
        "iam:PermissionsBoundary": "arn:aws:iam::aws:policy/ReadOnlyAccess",
    }


def test_untag_supplies_tag_keys() -> None:
    assert actions.request_keys("iam", "UntagRole", {"RoleName": "r", "TagKeys": ["a", "b"]}) == {
        "aws:TagKeys": ["a", "b"]
    }


def test_policy_arn_key_only_where_the_reference_lists_it() -> None:
    arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert actions.request_keys("iam", "AttachUserPolicy", {"UserName": "u", "PolicyArn": arn}) == {
        "iam:PolicyARN": arn
    }
    assert actions.request_keys("iam", "GetPolicy", {"PolicyArn": arn}) == {}


def test_assume_role_keys() -> None:
    keys = actions.request_keys(
        "sts",
        "AssumeRole",
        {
            "RoleArn": "arn:aws:iam::1:role/r",
            "RoleSessionName": "s",
            "ExternalId": "x",
            "SourceIdentity": "me",
            "TransitiveTagKeys": ["t"],
            "Tags": [{"Key": "t", "Value": "v"}],
        },
    )
    assert keys == {
        "sts:RoleSessionName": "s",
        "sts:ExternalId": "x",
        "sts:SourceIdentity": "me",
        "sts:TransitiveTagKeys": ["t"],
        "aws:RequestTag/t": "v",
        "aws:TagKeys": ["t"],
    }


def test_every_iam_operation_has_a_target() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("iam")
    for name in model.operation_names:
        target = actions.target_of("iam", name, {}, ("alice", "/"))
        assert isinstance(actions.arn_of("iam", target, ACCT), str)
