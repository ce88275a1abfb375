"""Issue 10's privilege bypasses, each as the attacker ran it, through boto3 against the real server.

Boundary swap (1), case-variant ARNs (2), a role's tags on AssumeRole (4), resource tags read by a
session policy (5), iam:PassRole on AddRoleToInstanceProfile (6).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.integration.authz_helpers import (
    ADMIN_POLICY,
    Principal,
    account_trust,
    allow,
    denied,
    deny,
    doc,
    role_clients,
)


def _boundary(iam: Any, name: str) -> str:
    return str(iam.create_policy(PolicyName=name, PolicyDocument=doc(allow("iam:Get*")))["Policy"]["Arn"])


def _delegate(server: Server, iam: Any, unique: str, boundary: str) -> Principal:
    """AWS's documented delegation: boundary actions only when iam:PermissionsBoundary is `boundary`."""
    actions = [
        "iam:CreateUser",
        "iam:CreateRole",
        "iam:PutUserPermissionsBoundary",
        "iam:PutRolePermissionsBoundary",
    ]
    only_ours = {"StringEquals": {"iam:PermissionsBoundary": boundary}}
    return Principal(server, iam, f"delegate-{unique}", allow(actions, Condition=only_ours))


def test_put_user_boundary_is_decided_on_the_boundary_being_set(
    server: Server, iam: Any, unique: str
) -> None:
    boundary = _boundary(iam, f"team-{unique}")
    delegate = _delegate(server, iam, unique, boundary)
    target = f"junior-{unique}"
    iam.create_user(UserName=target, PermissionsBoundary=boundary)
    with pytest.raises(ClientError) as exc:
        delegate.iam.put_user_permissions_boundary(UserName=target, PermissionsBoundary=ADMIN_POLICY)
    assert denied(exc) == (
        f"User: {delegate.arn} is not authorized to perform: iam:PutUserPermissionsBoundary on resource: "
        f"arn:aws:iam::{server.account_id}:user/{target} "
        "because no identity-based policy allows the iam:PutUserPermissionsBoundary action"
    )
    got = iam.get_user(UserName=target)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
    assert got == boundary
    delegate.iam.put_user_permissions_boundary(UserName=target, PermissionsBoundary=boundary)


def test_put_role_boundary_is_decided_on_the_boundary_being_set(
    server: Server, iam: Any, unique: str
) -> None:
    boundary = _boundary(iam, f"team-{unique}")
    delegate = _delegate(server, iam, unique, boundary)
    role = f"junior-{unique}"
    iam.create_role(
        RoleName=role, AssumeRolePolicyDocument=account_trust(server.account_id), PermissionsBoundary=boundary
    )
    with pytest.raises(ClientError) as exc:
        delegate.iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=ADMIN_POLICY)
    assert "iam:PutRolePermissionsBoundary" in denied(exc)
    got = iam.get_role(RoleName=role)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
    assert got == boundary
    delegate.iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=boundary)


def test_create_user_over_an_existing_one_is_decided_on_the_requested_boundary(
    server: Server, iam: Any, unique: str
) -> None:
    """The stored user's boundary never stands in for the request's (absent or different) one."""
    boundary = _boundary(iam, f"team-{unique}")
    delegate = _delegate(server, iam, unique, boundary)
    existing = f"existing-{unique}"
    iam.create_user(UserName=existing, PermissionsBoundary=boundary)
    for extra in ({}, {"PermissionsBoundary": ADMIN_POLICY}):
        with pytest.raises(ClientError) as exc:
            delegate.iam.create_user(UserName=existing, **extra)
        assert "iam:CreateUser" in denied(exc)
    with pytest.raises(ClientError) as exc:
        delegate.iam.create_user(UserName=f"new-{unique}", PermissionsBoundary=ADMIN_POLICY)
    denied(exc)
    delegate.iam.create_user(UserName=f"new-{unique}", PermissionsBoundary=boundary)


def _prod_admin(server: Server, iam: Any, unique: str, **extra: Any) -> str:
    name = f"ProdAdmin{unique}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=account_trust(server.account_id), **extra)
    return f"arn:aws:iam::{server.account_id}:role/{name}"


def test_a_case_variant_role_arn_does_not_escape_an_explicit_deny(
    server: Server, iam: Any, unique: str
) -> None:
    arn = _prod_admin(server, iam, unique)
    caller = Principal(server, iam, f"dev-{unique}", allow("sts:AssumeRole"), deny("sts:AssumeRole", arn))
    for spelling in (arn, arn.lower(), arn.replace("ProdAdmin", "PRODADMIN")):
        with pytest.raises(ClientError) as exc:
            caller.sts.assume_role(RoleArn=spelling, RoleSessionName="s1")
        assert denied(exc) == (
            f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {arn}"
        )


def test_a_case_variant_role_arn_does_not_escape_a_boundary_deny(
    server: Server, iam: Any, unique: str
) -> None:
    arn = _prod_admin(server, iam, unique)
    cap = iam.create_policy(
        PolicyName=f"cap-{unique}",
        PolicyDocument=doc(
            allow("sts:AssumeRole"), deny("sts:AssumeRole", f"arn:aws:iam::{server.account_id}:role/Prod*")
        ),
    )["Policy"]["Arn"]
    caller = Principal(server, iam, f"dev-{unique}", allow("sts:AssumeRole"), PermissionsBoundary=cap)
    with pytest.raises(ClientError) as exc:
        caller.sts.assume_role(RoleArn=arn.replace("ProdAdmin", "prodadmin"), RoleSessionName="s1")
    assert arn in denied(exc)


def test_a_case_variant_source_arn_does_not_escape_a_deny_on_the_simulator(
    server: Server, iam: Any, unique: str
) -> None:
    target = f"Admin-{unique}"
    arn = iam.create_user(UserName=target)["User"]["Arn"]
    caller = Principal(
        server, iam, f"auditor-{unique}", allow("iam:SimulatePrincipalPolicy"), deny("iam:*", arn)
    )
    with pytest.raises(ClientError) as exc:
        caller.iam.simulate_principal_policy(PolicySourceArn=arn.lower(), ActionNames=["iam:GetUser"])
    assert denied(exc) == (
        f"User: {caller.arn} is not authorized to perform: iam:SimulatePrincipalPolicy on resource: {arn} "
        "with an explicit deny in an identity-based policy"
    )


@pytest.mark.parametrize("key", ["aws:ResourceTag/env", "iam:ResourceTag/env"])
def test_assume_role_is_decided_with_the_roles_tags(server: Server, iam: Any, unique: str, key: str) -> None:
    prod = _prod_admin(server, iam, unique, Tags=[{"Key": "env", "Value": "prod"}])
    dev = _prod_admin(server, iam, f"dev{unique}", Tags=[{"Key": "env", "Value": "dev"}])
    no_prod = deny("sts:AssumeRole", Condition={"StringEquals": {key: "prod"}})
    caller = Principal(server, iam, f"dev-{unique}", allow("sts:AssumeRole"), no_prod)
    with pytest.raises(ClientError) as exc:
        caller.sts.assume_role(RoleArn=prod, RoleSessionName="s1")
    assert (
        denied(exc) == f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {prod}"
    )
    caller.sts.assume_role(RoleArn=dev, RoleSessionName="s1")


def test_a_resource_tag_read_only_by_the_trust_policy_is_there(server: Server, iam: Any, unique: str) -> None:
    trust = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:ResourceTag/open": "yes"}},
        }
    )
    name = f"tagged-{unique}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    caller = Principal(server, iam, f"dev-{unique}", allow("sts:AssumeRole"))
    with pytest.raises(ClientError) as exc:
        caller.sts.assume_role(RoleArn=arn, RoleSessionName="s1")
    denied(exc)
    iam.tag_role(RoleName=name, Tags=[{"Key": "open", "Value": "yes"}])
    caller.sts.assume_role(RoleArn=arn, RoleSessionName="s1")


def test_a_session_policys_resource_tag_deny_is_applied(server: Server, iam: Any, unique: str) -> None:
    """Only the session policy reads aws:ResourceTag: the tags are loaded all the same."""
    worker = f"worker-{unique}"
    arn = iam.create_role(RoleName=worker, AssumeRolePolicyDocument=account_trust(server.account_id))["Role"][
        "Arn"
    ]
    iam.put_role_policy(RoleName=worker, PolicyName="read", PolicyDocument=doc(allow("iam:GetRole")))
    secret = f"secret-{unique}"
    iam.create_role(
        RoleName=secret,
        AssumeRolePolicyDocument=account_trust(server.account_id),
        Tags=[{"Key": "env", "Value": "prod"}],
    )
    session_policy = doc(
        allow("iam:GetRole"), deny("iam:GetRole", Condition={"StringEquals": {"aws:ResourceTag/env": "prod"}})
    )
    caller = Principal(server, iam, f"dev-{unique}", allow("sts:AssumeRole"))
    creds = caller.sts.assume_role(RoleArn=arn, RoleSessionName="s1", Policy=session_policy)["Credentials"]
    session_iam, _ = role_clients(server, creds)
    session_iam.get_role(RoleName=worker)
    with pytest.raises(ClientError) as exc:
        session_iam.get_role(RoleName=secret)
    assert denied(exc).endswith("with an explicit deny in a session policy")


def _profile_operator(server: Server, iam: Any, unique: str, *extra: dict[str, Any]) -> Principal:
    rights = allow(["iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:GetInstanceProfile"])
    return Principal(server, iam, f"ops-{unique}", rights, *extra)


def test_add_role_to_instance_profile_requires_pass_role(server: Server, iam: Any, unique: str) -> None:
    admin = f"admin-{unique}"
    arn = iam.create_role(RoleName=admin, AssumeRolePolicyDocument=account_trust(server.account_id))["Role"][
        "Arn"
    ]
    iam.attach_role_policy(RoleName=admin, PolicyArn=ADMIN_POLICY)
    ops = _profile_operator(server, iam, unique)
    profile = f"box-{unique}"
    ops.iam.create_instance_profile(InstanceProfileName=profile)
    with pytest.raises(ClientError) as exc:
        ops.iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=admin)
    assert denied(exc) == (
        f"User: {ops.arn} is not authorized to perform: iam:PassRole on resource: {arn} "
        "because no identity-based policy allows the iam:PassRole action"
    )
    assert iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"] == []


@pytest.mark.parametrize(
    ("condition", "is_allowed"),
    [
        ({"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}, True),
        ({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}, False),
        ({"ArnLike": {"iam:AssociatedResourceArn": "arn:aws:ec2:*:123456789012:instance/*"}}, True),
        ({"ArnLike": {"iam:AssociatedResourceArn": "arn:aws:lambda:*:*:function/*"}}, False),
    ],
)
def test_pass_role_for_an_instance_profile_carries_awss_context(
    server: Server, iam: Any, unique: str, condition: dict[str, Any], is_allowed: bool
) -> None:
    role = f"app-{unique}"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=account_trust(server.account_id))
    ops = _profile_operator(server, iam, unique, allow("iam:PassRole", Condition=condition))
    profile = f"box-{unique}"
    ops.iam.create_instance_profile(InstanceProfileName=profile)
    if is_allowed:
        ops.iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role.upper())
        roles = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"]
        assert [r["RoleName"] for r in roles] == [role]
        return
    with pytest.raises(ClientError) as exc:
        ops.iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role.upper())
    assert f"iam:PassRole on resource: arn:aws:iam::{server.account_id}:role/{role} " in denied(exc)


def test_update_user_needs_the_permission_on_the_new_name_and_path(
    server: Server, iam: Any, unique: str
) -> None:
    """AWS: renaming or moving a user needs the permission on the source and on the target."""
    team = f"arn:aws:iam::{server.account_id}:user/team/*"
    mover = Principal(server, iam, f"mover-{unique}", allow("iam:UpdateUser", team))
    name = f"bob-{unique}"
    iam.create_user(UserName=name, Path="/team/")
    with pytest.raises(ClientError) as exc:
        mover.iam.update_user(UserName=name, NewPath="/admins/")
    assert denied(exc) == (
        f"User: {mover.arn} is not authorized to perform: iam:UpdateUser on resource: "
        f"arn:aws:iam::{server.account_id}:user/admins/{name} "
        "because no identity-based policy allows the iam:UpdateUser action"
    )
    assert iam.get_user(UserName=name)["User"]["Path"] == "/team/"
    mover.iam.update_user(UserName=name, NewUserName=f"robert-{unique}")
    assert iam.get_user(UserName=f"robert-{unique}")["User"]["Path"] == "/team/"


def test_update_group_needs_the_permission_on_the_new_name_and_path(
    server: Server, iam: Any, unique: str
) -> None:
    """AWS: renaming or moving a group needs the permission on the source and on the target."""
    team = f"arn:aws:iam::{server.account_id}:group/team/*"
    mover = Principal(server, iam, f"gmover-{unique}", allow("iam:UpdateGroup", team))
    name = f"devs-{unique}"
    iam.create_group(GroupName=name, Path="/team/")
    with pytest.raises(ClientError) as exc:
        mover.iam.update_group(GroupName=name, NewPath="/admins/")
    assert denied(exc) == (
        f"User: {mover.arn} is not authorized to perform: iam:UpdateGroup on resource: "
        f"arn:aws:iam::{server.account_id}:group/admins/{name} "
        "because no identity-based policy allows the iam:UpdateGroup action"
    )
    assert iam.get_group(GroupName=name)["Group"]["Path"] == "/team/"
    mover.iam.update_group(GroupName=name, NewGroupName=f"developers-{unique}")
    assert iam.get_group(GroupName=f"developers-{unique}")["Group"]["Path"] == "/team/"
