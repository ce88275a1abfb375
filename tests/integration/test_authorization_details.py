"""GetAccountAuthorizationDetails through boto3: every section, filters and pagination."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Server

_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
_DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
}


def _all(iam: Any, **params: Any) -> dict[str, list[dict[str, Any]]]:
    """Every page of GetAccountAuthorizationDetails, merged."""
    merged: dict[str, list[dict[str, Any]]] = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }
    for page in iam.get_paginator("get_account_authorization_details").paginate(**params):
        for member, items in merged.items():
            items.extend(page[member])
    return merged


def _named(items: list[dict[str, Any]], key: str, name: str) -> dict[str, Any]:
    return next(i for i in items if i[key] == name)


def test_users_with_groups_policies_boundary_and_tags(iam: Any, server: Server, unique: str) -> None:
    user, group = f"adu-{unique}", f"adg-{unique}"
    policy = iam.create_policy(PolicyName=f"adp-{unique}", PolicyDocument=json.dumps(_DOC))["Policy"]
    iam.create_user(UserName=user, PermissionsBoundary=policy["Arn"], Tags=[{"Key": "team", "Value": "a"}])
    iam.create_group(GroupName=group)
    iam.add_user_to_group(UserName=user, GroupName=group)
    iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=json.dumps(_DOC))
    iam.attach_user_policy(UserName=user, PolicyArn=policy["Arn"])
    details = _all(iam, Filter=["User"])
    assert details["GroupDetailList"] == [] and details["RoleDetailList"] == [] and details["Policies"] == []
    found = _named(details["UserDetailList"], "UserName", user)
    assert found["Arn"] == f"arn:aws:iam::{server.account_id}:user/{user}" and found["Path"] == "/"
    assert found["GroupList"] == [group]
    assert found["UserPolicyList"] == [{"PolicyName": "inline", "PolicyDocument": _DOC}]
    assert found["AttachedManagedPolicies"] == [{"PolicyName": f"adp-{unique}", "PolicyArn": policy["Arn"]}]
    assert found["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": policy["Arn"],
    }
    assert found["Tags"] == [{"Key": "team", "Value": "a"}]


def test_groups_and_roles(iam: Any, server: Server, unique: str) -> None:
    group, role, profile = f"adg2-{unique}", f"adr-{unique}", f"adip-{unique}"
    policy = iam.create_policy(PolicyName=f"adp2-{unique}", PolicyDocument=json.dumps(_DOC))["Policy"]
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="g-inline", PolicyDocument=json.dumps(_DOC))
    iam.attach_group_policy(GroupName=group, PolicyArn=policy["Arn"])
    iam.create_role(RoleName=role, Path="/my-path/", AssumeRolePolicyDocument=json.dumps(_TRUST))
    iam.put_role_policy(RoleName=role, PolicyName="r-inline", PolicyDocument=json.dumps(_DOC))
    iam.attach_role_policy(RoleName=role, PolicyArn=policy["Arn"])
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    details = _all(iam, Filter=["Group", "Role"])
    assert details["UserDetailList"] == [] and details["Policies"] == []
    found_group = _named(details["GroupDetailList"], "GroupName", group)
    assert found_group["GroupPolicyList"] == [{"PolicyName": "g-inline", "PolicyDocument": _DOC}]
    assert found_group["AttachedManagedPolicies"] == [
        {"PolicyName": f"adp2-{unique}", "PolicyArn": policy["Arn"]}
    ]
    found_role = _named(details["RoleDetailList"], "RoleName", role)
    assert found_role["Arn"] == f"arn:aws:iam::{server.account_id}:role/my-path/{role}"
    assert found_role["AssumeRolePolicyDocument"] == _TRUST
    assert found_role["RolePolicyList"] == [{"PolicyName": "r-inline", "PolicyDocument": _DOC}]
    assert found_role["RoleLastUsed"] == {} and found_role["Tags"] == []
    [found_profile] = found_role["InstanceProfileList"]
    assert found_profile["InstanceProfileName"] == profile
    assert [r["RoleName"] for r in found_profile["Roles"]] == [role]
    assert found_profile["Roles"][0]["AssumeRolePolicyDocument"] == _TRUST


def test_policies_with_every_version(iam: Any, unique: str) -> None:
    arn = iam.create_policy(PolicyName=f"adv-{unique}", PolicyDocument=json.dumps(_DOC))["Policy"]["Arn"]
    second = {**_DOC, "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(second), SetAsDefault=True)
    details = _all(iam, Filter=["LocalManagedPolicy"])
    found = _named(details["Policies"], "Arn", arn)
    assert found["DefaultVersionId"] == "v2" and found["AttachmentCount"] == 0
    assert [(v["VersionId"], v["IsDefaultVersion"], v["Document"]) for v in found["PolicyVersionList"]] == [
        ("v2", True, second),
        ("v1", False, _DOC),
    ]
    assert all(not p["Arn"].startswith("arn:aws:iam::aws:") for p in details["Policies"])


def test_pages_cover_everything_once(iam: Any, unique: str) -> None:
    names = [f"adpg{i}-{unique}" for i in range(3)]
    for name in names:
        iam.create_user(UserName=name)
    first = iam.get_account_authorization_details(Filter=["User"], MaxItems=1)
    assert first["IsTruncated"] is True and len(first["UserDetailList"]) == 1
    listed = [
        u["UserName"] for u in _all(iam, Filter=["User"], PaginationConfig={"PageSize": 2})["UserDetailList"]
    ]
    assert len(listed) == len(set(listed))
    assert set(names) <= set(listed)
