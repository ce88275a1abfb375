"""Every IAM call is authorized by the engine against the caller's policies, with AWS's AccessDenied."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import delete

from ostiary.store.accounts import bump_epoch
from ostiary.store.db import Database
from ostiary.store.tables import managed_policies
from tests.conftest import Server


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _user(server: Server, iam: Any, name: str, path: str = "/", **create: Any) -> tuple[Any, str]:
    """A new user with an access key: (its boto3 IAM client, its ARN)."""
    arn = iam.create_user(UserName=name, Path=path, **create)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("iam", key["AccessKeyId"], key["SecretAccessKey"]), arn


def _denied(exc: pytest.ExceptionInfo[ClientError]) -> str:
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return str(exc.value.response["Error"]["Message"])


def test_user_without_policies_is_refused_with_awss_message(server: Server, iam: Any, unique: str) -> None:
    client, arn = _user(server, iam, f"alice-{unique}")
    with pytest.raises(ClientError) as exc:
        client.create_user(UserName=f"bob-{unique}")
    assert _denied(exc) == (
        f"User: {arn} is not authorized to perform: iam:CreateUser on resource: "
        f"arn:aws:iam::{server.account_id}:user/bob-{unique} "
        "because no identity-based policy allows the iam:CreateUser action"
    )


def test_list_is_refused_on_the_path_prefix(server: Server, iam: Any, unique: str) -> None:
    client, arn = _user(server, iam, f"alice-{unique}")
    with pytest.raises(ClientError) as exc:
        client.list_users()
    assert _denied(exc) == (
        f"User: {arn} is not authorized to perform: iam:ListUsers on resource: "
        f"arn:aws:iam::{server.account_id}:user/ "
        "because no identity-based policy allows the iam:ListUsers action"
    )


def test_inline_policy_allowing_list_users_lets_the_user_list(server: Server, iam: Any, unique: str) -> None:
    name = f"lister-{unique}"
    client, _ = _user(server, iam, name)
    iam.put_user_policy(UserName=name, PolicyName="list", PolicyDocument=_doc(_allow("iam:ListUsers")))
    names = [u["UserName"] for u in client.list_users(MaxItems=1000)["Users"]]
    assert name in names


def test_group_and_managed_policies_apply(server: Server, iam: Any, unique: str) -> None:
    name, group = f"member-{unique}", f"readers-{unique}"
    client, arn = _user(server, iam, name)
    policy_arn = iam.create_policy(PolicyName=f"get-{unique}", PolicyDocument=_doc(_allow("iam:GetUser")))[
        "Policy"
    ]["Arn"]
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn=policy_arn)
    with pytest.raises(ClientError) as exc:
        client.get_user(UserName=name)
    _denied(exc)
    iam.add_user_to_group(GroupName=group, UserName=name)
    assert client.get_user(UserName=name)["User"]["Arn"] == arn


def test_explicit_deny_wins_over_allow(server: Server, iam: Any, unique: str) -> None:
    name = f"denied-{unique}"
    client, arn = _user(server, iam, name)
    iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=_doc(_allow("iam:*")))
    iam.put_user_policy(
        UserName=name,
        PolicyName="deny",
        PolicyDocument=_doc({"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}),
    )
    client.get_user(UserName=name)
    with pytest.raises(ClientError) as exc:
        client.create_user(UserName=f"other-{unique}")
    assert _denied(exc) == (
        f"User: {arn} is not authorized to perform: iam:CreateUser on resource: "
        f"arn:aws:iam::{server.account_id}:user/other-{unique} "
        "with an explicit deny in an identity-based policy"
    )


def test_permissions_boundary_caps_identity_policies(server: Server, iam: Any, unique: str) -> None:
    name = f"bounded-{unique}"
    boundary = iam.create_policy(PolicyName=f"cap-{unique}", PolicyDocument=_doc(_allow("iam:GetUser")))[
        "Policy"
    ]["Arn"]
    client, arn = _user(server, iam, name, PermissionsBoundary=boundary)
    iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=_doc(_allow("iam:*")))
    client.get_user(UserName=name)
    with pytest.raises(ClientError) as exc:
        client.list_users()
    assert _denied(exc) == (
        f"User: {arn} is not authorized to perform: iam:ListUsers on resource: "
        f"arn:aws:iam::{server.account_id}:user/ "
        "because no permissions boundary allows the iam:ListUsers action"
    )


def test_a_boundary_whose_policy_the_store_lost_bounds_everything(
    server: Server, iam: Any, unique: str
) -> None:
    """No call leaves a boundary naming a policy the store does not hold (DeletePolicy refuses a
    boundary's policy); a store out of step all the same (a restore, a hand edit) must fail closed: the
    user is refused everything, never left unbounded with its identity policies' iam:*."""
    name = f"lost-bound-{unique}"
    boundary = iam.create_policy(PolicyName=f"lost-{unique}", PolicyDocument=_doc(_allow("iam:GetUser")))[
        "Policy"
    ]["Arn"]
    client, arn = _user(server, iam, name, PermissionsBoundary=boundary)
    iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=_doc(_allow("iam:*")))
    client.get_user(UserName=name)
    db = Database(server.database_url, pool=False)
    try:
        with db.transaction() as conn:  # the policy gone behind IAM's back, the account's epoch moved on
            conn.execute(delete(managed_policies).where(managed_policies.c.arn == boundary))
            bump_epoch(conn, server.account_id)
    finally:
        db.dispose()
    for call in (lambda: client.get_user(UserName=name), client.list_users):
        with pytest.raises(ClientError) as exc:
            call()
        assert "because no permissions boundary allows the" in _denied(exc)
    assert iam.get_user(UserName=name)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary


def test_resource_tag_condition(server: Server, iam: Any, unique: str) -> None:
    name = f"tagreader-{unique}"
    client, _ = _user(server, iam, name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="tagged",
        PolicyDocument=_doc(
            _allow("iam:GetUser", Condition={"StringEquals": {"aws:ResourceTag/team": "red"}})
        ),
    )
    iam.create_user(UserName=f"red-{unique}", Tags=[{"Key": "team", "Value": "red"}])
    iam.create_user(UserName=f"blue-{unique}", Tags=[{"Key": "team", "Value": "blue"}])
    assert client.get_user(UserName=f"red-{unique}")["User"]["UserName"] == f"red-{unique}"
    with pytest.raises(ClientError) as exc:
        client.get_user(UserName=f"blue-{unique}")
    assert "iam:GetUser on resource: arn:aws:iam::" in _denied(exc)


def test_request_tag_condition(server: Server, iam: Any, unique: str) -> None:
    name = f"creator-{unique}"
    client, _ = _user(server, iam, name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="create-tagged",
        PolicyDocument=_doc(
            _allow("iam:CreateUser", Condition={"StringEquals": {"aws:RequestTag/team": "red"}})
        ),
    )
    client.create_user(UserName=f"made-{unique}", Tags=[{"Key": "team", "Value": "red"}])
    with pytest.raises(ClientError) as exc:
        client.create_user(UserName=f"untagged-{unique}")
    _denied(exc)
    with pytest.raises(ClientError) as exc:
        client.create_user(UserName=f"wrongtag-{unique}", Tags=[{"Key": "team", "Value": "blue"}])
    _denied(exc)


def test_policy_change_takes_effect_on_the_next_call(server: Server, iam: Any, unique: str) -> None:
    name = f"changing-{unique}"
    client, _ = _user(server, iam, name)
    with pytest.raises(ClientError) as exc:
        client.get_user(UserName=name)
    _denied(exc)
    iam.put_user_policy(UserName=name, PolicyName="get", PolicyDocument=_doc(_allow("iam:GetUser")))
    client.get_user(UserName=name)
    iam.delete_user_policy(UserName=name, PolicyName="get")
    with pytest.raises(ClientError) as exc:
        client.get_user(UserName=name)
    _denied(exc)


def test_resource_arn_carries_the_stored_path(server: Server, iam: Any, unique: str) -> None:
    name = f"pathed-{unique}"
    client, _ = _user(server, iam, f"caller-{unique}")
    iam.put_user_policy(
        UserName=f"caller-{unique}",
        PolicyName="eng",
        PolicyDocument=_doc(_allow("iam:GetUser", f"arn:aws:iam::{server.account_id}:user/eng/*")),
    )
    iam.create_user(UserName=name, Path="/eng/")
    iam.create_user(UserName=f"plain-{unique}")
    assert client.get_user(UserName=name)["User"]["Path"] == "/eng/"
    with pytest.raises(ClientError) as exc:
        client.get_user(UserName=f"plain-{unique}")
    _denied(exc)


def test_policy_variable_username_scopes_self_service(server: Server, iam: Any, unique: str) -> None:
    name = f"self-{unique}"
    client, _ = _user(server, iam, name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="self",
        PolicyDocument=_doc(
            _allow("iam:ListAccessKeys", f"arn:aws:iam::{server.account_id}:user/${{aws:username}}")
        ),
    )
    assert len(client.list_access_keys()["AccessKeyMetadata"]) == 1
    with pytest.raises(ClientError) as exc:
        client.list_access_keys(UserName=f"caller-{unique}")
    _denied(exc)


def _role_session(
    server: Server, iam: Any, unique: str, role_policy: dict[str, Any], session_policy: str | None = None
) -> tuple[Any, str, str]:
    """A user assumes a new role: (the session's IAM client, the session ARN, the role name)."""
    user, role = f"assumer-{unique}", f"role-{unique}"
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.put_user_policy(UserName=user, PolicyName="assume", PolicyDocument=_doc(_allow("sts:AssumeRole")))
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole"}],
        }
    )
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName=role, PolicyName="perm", PolicyDocument=_doc(role_policy))
    keys = server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    extra = {"Policy": session_policy} if session_policy else {}
    creds = keys.assume_role(
        RoleArn=f"arn:aws:iam::{server.account_id}:role/{role}", RoleSessionName="s1", **extra
    )
    found = creds["Credentials"]
    session = server.client("iam", found["AccessKeyId"], found["SecretAccessKey"], found["SessionToken"])
    return session, creds["AssumedRoleUser"]["Arn"], role


def test_role_session_gets_the_roles_permissions(server: Server, iam: Any, unique: str) -> None:
    session, session_arn, role = _role_session(server, iam, unique, _allow("iam:ListRoles"))
    assert session_arn == f"arn:aws:sts::{server.account_id}:assumed-role/{role}/s1"
    session.list_roles()
    with pytest.raises(ClientError) as exc:
        session.list_users()
    assert _denied(exc) == (
        f"User: {session_arn} is not authorized to perform: iam:ListUsers on resource: "
        f"arn:aws:iam::{server.account_id}:user/ "
        "because no identity-based policy allows the iam:ListUsers action"
    )


def test_session_policy_narrows_the_session(server: Server, iam: Any, unique: str) -> None:
    session, session_arn, _ = _role_session(
        server,
        iam,
        unique,
        _allow(["iam:ListRoles", "iam:ListUsers"]),
        session_policy=_doc(_allow("iam:ListRoles")),
    )
    session.list_roles()
    with pytest.raises(ClientError) as exc:
        session.list_users()
    assert _denied(exc) == (
        f"User: {session_arn} is not authorized to perform: iam:ListUsers on resource: "
        f"arn:aws:iam::{server.account_id}:user/ "
        "because no session policy allows the iam:ListUsers action"
    )


def test_principal_tag_condition_follows_the_callers_tags(server: Server, iam: Any, unique: str) -> None:
    name = f"tagged-{unique}"
    client, _ = _user(server, iam, name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="by-tag",
        PolicyDocument=_doc(
            _allow("iam:ListUsers", Condition={"StringEquals": {"aws:PrincipalTag/team": "red"}})
        ),
    )
    with pytest.raises(ClientError) as exc:
        client.list_users()
    _denied(exc)
    iam.tag_user(UserName=name, Tags=[{"Key": "team", "Value": "red"}])
    client.list_users()
