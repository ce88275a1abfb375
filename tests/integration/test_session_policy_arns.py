"""Managed session policies (PolicyArns) on AssumeRole and GetFederationToken, through boto3.

The session may do what both the role's policies and the session policies allow; an ARN that names no
policy of the session's account (or AWS's) is refused with NoSuchEntity before any credentials exist.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.integration.authz_helpers import (
    Principal,
    account_trust,
    allow,
    denied,
    deny,
    doc,
    error_of,
    role_clients,
)
from tests.integration.test_web_identity import Issuer, issuer, setup  # noqa: F401 - the issuer's fixtures

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _managed(iam: Any, name: str, *statements: dict[str, Any]) -> str:
    return str(iam.create_policy(PolicyName=name, PolicyDocument=doc(*statements))["Policy"]["Arn"])


def _worker(server: Server, iam: Any, unique: str, *statements: dict[str, Any]) -> tuple[str, Principal]:
    """A role with these identity policies, and a user who may assume it."""
    name = f"worker-{unique}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=account_trust(server.account_id))["Role"][
        "Arn"
    ]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=doc(*statements))
    return str(arn), Principal(server, iam, f"caller-{unique}", allow("sts:AssumeRole"))


def _session(server: Server, caller: Principal, role_arn: str, **extra: Any) -> tuple[Any, dict[str, Any]]:
    out = caller.sts.assume_role(RoleArn=role_arn, RoleSessionName="session", **extra)
    return role_clients(server, out["Credentials"])[0], out


def test_a_managed_session_policy_narrows_the_roles_permissions(
    server: Server, iam: Any, unique: str
) -> None:
    role_arn, caller = _worker(server, iam, unique, allow("iam:*"))
    only_get = _managed(iam, f"get-{unique}", allow("iam:GetRole"))
    session, out = _session(server, caller, role_arn, PolicyArns=[{"arn": only_get}])
    assert out["PackedPolicySize"] >= 1
    session.get_role(RoleName=f"worker-{unique}")
    with pytest.raises(ClientError) as exc:
        session.list_roles()
    assert denied(exc).endswith("because no session policy allows the iam:ListRoles action")


def test_a_managed_session_policy_grants_nothing_the_role_lacks(
    server: Server, iam: Any, unique: str
) -> None:
    role_arn, caller = _worker(server, iam, unique, allow("iam:GetRole"))
    everything = _managed(iam, f"all-{unique}", allow("iam:*"))
    session, _ = _session(server, caller, role_arn, PolicyArns=[{"arn": everything}])
    session.get_role(RoleName=f"worker-{unique}")
    with pytest.raises(ClientError) as exc:
        session.list_roles()
    assert denied(exc).endswith("because no identity-based policy allows the iam:ListRoles action")


def test_a_deny_in_a_managed_session_policy_beats_the_inline_one(
    server: Server, iam: Any, unique: str
) -> None:
    role_arn, caller = _worker(server, iam, unique, allow("iam:*"))
    no_get = _managed(iam, f"noget-{unique}", deny("iam:GetRole"))
    inline = doc(allow(["iam:GetRole", "iam:ListRoles"]))
    session, _ = _session(server, caller, role_arn, Policy=inline, PolicyArns=[{"arn": no_get}])
    session.list_roles(MaxItems=1)
    with pytest.raises(ClientError) as exc:
        session.get_role(RoleName=f"worker-{unique}")
    assert denied(exc).endswith("with an explicit deny in a session policy")


def test_an_aws_managed_session_policy_applies(server: Server, iam: Any, unique: str) -> None:
    role_arn, caller = _worker(server, iam, unique, allow("iam:*"))
    session, _ = _session(server, caller, role_arn, PolicyArns=[{"arn": READ_ONLY}])
    session.list_roles(MaxItems=1)
    with pytest.raises(ClientError) as exc:
        session.create_user(UserName=f"new-{unique}")
    assert denied(exc).endswith("because no session policy allows the iam:CreateUser action")


def test_a_changed_managed_session_policy_applies_to_open_sessions(
    server: Server, iam: Any, unique: str
) -> None:
    role_arn, caller = _worker(server, iam, unique, allow("iam:*"))
    policy = _managed(iam, f"changing-{unique}", allow("iam:GetRole"))
    session, _ = _session(server, caller, role_arn, PolicyArns=[{"arn": policy}])
    with pytest.raises(ClientError) as exc:
        session.list_roles()
    denied(exc)
    iam.create_policy_version(
        PolicyArn=policy, PolicyDocument=doc(allow(["iam:GetRole", "iam:ListRoles"])), SetAsDefault=True
    )
    session.list_roles(MaxItems=1)


def _missing(server: Server, unique: str) -> list[str]:
    return [
        f"arn:aws:iam::{server.account_id}:policy/missing-{unique}",
        "arn:aws:iam::210987654321:policy/elsewhere",
        f"arn:aws:iam::aws:policy/NoSuchAwsPolicy{unique}",
    ]


def test_assume_role_refuses_a_policy_arn_that_names_no_policy(server: Server, iam: Any, unique: str) -> None:
    role_arn, caller = _worker(server, iam, unique, allow("iam:*"))
    for arn in _missing(server, unique):
        with pytest.raises(ClientError) as exc:
            _session(server, caller, role_arn, PolicyArns=[{"arn": READ_ONLY}, {"arn": arn}])
        assert error_of(exc) == ("NoSuchEntity", f"Policy {arn} does not exist or is not attachable.", 404)


def test_get_federation_token_applies_and_checks_policy_arns(server: Server, iam: Any, unique: str) -> None:
    user = Principal(server, iam, f"broker-{unique}", allow("sts:GetFederationToken"))
    out = user.sts.get_federation_token(Name=f"fed-{unique}", PolicyArns=[{"arn": READ_ONLY}])
    assert out["PackedPolicySize"] >= 1
    assert out["FederatedUser"]["Arn"] == f"arn:aws:sts::{server.account_id}:federated-user/fed-{unique}"
    for arn in _missing(server, unique):
        with pytest.raises(ClientError) as exc:
            user.sts.get_federation_token(Name=f"fed-{unique}", PolicyArns=[{"arn": arn}])
        assert error_of(exc) == ("NoSuchEntity", f"Policy {arn} does not exist or is not attachable.", 404)


def test_a_web_identity_session_takes_managed_session_policies(
    server: Server,
    iam: Any,
    sts: Any,
    issuer: Issuer,  # noqa: F811 - the fixture imported above
    setup: dict[str, str],  # noqa: F811 - the fixture imported above
    unique: str,
) -> None:
    iam.put_role_policy(RoleName=setup["role_name"], PolicyName="all", PolicyDocument=doc(allow("iam:*")))
    only_get = _managed(iam, f"get-{unique}", allow("iam:GetRole"))
    token = issuer.token(setup["path"])
    missing = f"arn:aws:iam::{server.account_id}:policy/missing-{unique}"
    with pytest.raises(ClientError) as exc:
        sts.assume_role_with_web_identity(
            RoleArn=setup["role_arn"],
            RoleSessionName="app",
            WebIdentityToken=token,
            PolicyArns=[{"arn": missing}],
        )
    assert error_of(exc) == ("NoSuchEntity", f"Policy {missing} does not exist or is not attachable.", 404)
    out = sts.assume_role_with_web_identity(
        RoleArn=setup["role_arn"].lower(),
        RoleSessionName="app",
        WebIdentityToken=token,
        PolicyArns=[{"arn": only_get}],
    )
    assert out["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{setup['role_name']}/app")
    session, _ = role_clients(server, out["Credentials"])
    session.get_role(RoleName=setup["role_name"])
    with pytest.raises(ClientError) as exc:
        session.list_roles()
    assert denied(exc).endswith("because no session policy allows the iam:ListRoles action")
