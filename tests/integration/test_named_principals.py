"""Users and roles named in role trust policies are bound to their unique ids, as AWS binds them: a user
or role deleted and made again under its name does not inherit the trust (the policy shows the old
unique id), a policy naming one that does not exist is refused, a renamed user keeps the trust under its
new ARN. Through boto3 against the real server, over SQLite and PostgreSQL."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server

ASSUME_ANY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
)


def _trust(*names: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": list(names)}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _user(iam: Any, name: str, path: str = "/") -> tuple[str, str, dict[str, str]]:
    """A user allowed sts:AssumeRole on anything: (ARN, unique id, its access key)."""
    user = iam.create_user(UserName=name, Path=path)["User"]
    iam.put_user_policy(UserName=name, PolicyName="assume", PolicyDocument=ASSUME_ANY)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return (
        user["Arn"],
        user["UserId"],
        {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]},
    )


def _drop_user(iam: Any, name: str) -> None:
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user_policy(UserName=name, PolicyName="assume")
    iam.delete_user(UserName=name)


def _assume(server: Server, creds: dict[str, str], role_arn: str) -> dict[str, str]:
    sts = server.client("sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken"))
    return sts.assume_role(RoleArn=role_arn, RoleSessionName="session")["Credentials"]


def _refused(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def _trust_of(iam: Any, role: str) -> Any:
    return iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]


def test_a_user_made_again_under_a_deleted_users_name_cannot_assume_its_role(iam, server, unique):
    bob_arn, bob_id, bob_keys = _user(iam, f"bob-{unique}")
    role = iam.create_role(RoleName=f"r-{unique}", AssumeRolePolicyDocument=_trust(bob_arn))["Role"]
    _assume(server, bob_keys, role["Arn"])
    _drop_user(iam, f"bob-{unique}")
    new_arn, new_id, new_keys = _user(iam, f"bob-{unique}")
    assert new_arn == bob_arn and new_id != bob_id
    code, message = _refused(_assume, server=server, creds=new_keys, role_arn=role["Arn"])
    assert code == "AccessDenied", message
    # The trust policy names the deleted user's unique id now, wherever it is shown
    assert _trust_of(iam, f"r-{unique}")["Statement"][0]["Principal"] == {"AWS": [bob_id]}
    listed = [r for r in iam.list_roles()["Roles"] if r["RoleName"] == f"r-{unique}"]
    assert listed[0]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"AWS": [bob_id]}
    details = iam.get_account_authorization_details(Filter=["Role"])["RoleDetailList"]
    shown = [r for r in details if r["RoleName"] == f"r-{unique}"][0]["AssumeRolePolicyDocument"]
    assert shown["Statement"][0]["Principal"] == {"AWS": [bob_id]}
    # Saving the trust again with the deleted principal's id is refused, as IAM refuses it
    assert _refused(iam.update_assume_role_policy, RoleName=f"r-{unique}", PolicyDocument=_trust(bob_id)) == (
        "MalformedPolicyDocument",
        f'Invalid principal in policy: "AWS":"{bob_id}"',
    )
    # Naming the new user again binds the new one
    iam.update_assume_role_policy(RoleName=f"r-{unique}", PolicyDocument=_trust(new_arn))
    _assume(server, new_keys, role["Arn"])


def test_a_role_made_again_under_a_deleted_roles_name_cannot_assume_the_role_trusting_it(iam, server, unique):
    _, _, keys = _user(iam, f"u-{unique}")
    inner = iam.create_role(
        RoleName=f"inner-{unique}", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{server.account_id}:root")
    )["Role"]
    iam.put_role_policy(RoleName=f"inner-{unique}", PolicyName="assume", PolicyDocument=ASSUME_ANY)
    outer = iam.create_role(RoleName=f"outer-{unique}", AssumeRolePolicyDocument=_trust(inner["Arn"]))["Role"]
    session = _assume(server, keys, inner["Arn"])
    _assume(server, session, outer["Arn"])
    iam.delete_role_policy(RoleName=f"inner-{unique}", PolicyName="assume")
    iam.delete_role(RoleName=f"inner-{unique}")
    again = iam.create_role(
        RoleName=f"inner-{unique}", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{server.account_id}:root")
    )["Role"]
    iam.put_role_policy(RoleName=f"inner-{unique}", PolicyName="assume", PolicyDocument=ASSUME_ANY)
    assert again["Arn"] == inner["Arn"]
    session = _assume(server, keys, again["Arn"])
    assert _refused(_assume, server=server, creds=session, role_arn=outer["Arn"])[0] == "AccessDenied"
    assert _trust_of(iam, f"outer-{unique}")["Statement"][0]["Principal"] == {"AWS": [inner["RoleId"]]}


def test_a_trust_policy_naming_a_user_that_does_not_exist_is_refused(iam, server, unique):
    missing = f"arn:aws:iam::{server.account_id}:user/nobody-{unique}"
    expected = ("MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{missing}"')
    assert (
        _refused(iam.create_role, RoleName=f"r-{unique}", AssumeRolePolicyDocument=_trust(missing))
        == expected
    )
    with pytest.raises(ClientError):
        iam.get_role(RoleName=f"r-{unique}")
    own = f"arn:aws:iam::{server.account_id}:root"
    iam.create_role(RoleName=f"r-{unique}", AssumeRolePolicyDocument=_trust(own))
    assert (
        _refused(iam.update_assume_role_policy, RoleName=f"r-{unique}", PolicyDocument=_trust(own, missing))
        == expected
    )
    assert _trust_of(iam, f"r-{unique}")["Statement"][0]["Principal"] == {"AWS": [own]}
    # Another account's user that Ostiary does not hold, a role that does not exist: refused alike
    for name in (
        f"arn:aws:iam::210987654321:user/nobody-{unique}",
        f"arn:aws:iam::{server.account_id}:role/no-{unique}",
    ):
        code, _ = _refused(iam.update_assume_role_policy, RoleName=f"r-{unique}", PolicyDocument=_trust(name))
        assert code == "MalformedPolicyDocument"
    # A role's trust naming the role itself is refused at CreateRole (it does not exist yet), not after
    itself = f"arn:aws:iam::{server.account_id}:role/self-{unique}"
    assert _refused(iam.create_role, RoleName=f"self-{unique}", AssumeRolePolicyDocument=_trust(itself)) == (
        "MalformedPolicyDocument",
        f'Invalid principal in policy: "AWS":"{itself}"',
    )
    iam.create_role(RoleName=f"self-{unique}", AssumeRolePolicyDocument=_trust(own))
    iam.update_assume_role_policy(RoleName=f"self-{unique}", PolicyDocument=_trust(itself))
    # Root ARNs, account ids, sessions, services are not principals IAM checks
    session = f"arn:aws:sts::{server.account_id}:assumed-role/gone-{unique}/s"
    iam.update_assume_role_policy(
        RoleName=f"r-{unique}", PolicyDocument=_trust(own, server.account_id, session)
    )


def test_a_name_spelled_in_another_case_or_without_its_path_is_not_the_user(iam, server, unique):
    name = f"Bob-{unique}"
    arn, user_id, keys = _user(iam, name, path=f"/team-{unique}/")
    iam.create_role(
        RoleName=f"r-{unique}", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{server.account_id}:root")
    )
    for spelled in (
        arn.replace(name, name.lower()),
        f"arn:aws:iam::{server.account_id}:user/{name}",
        arn.replace(f"team-{unique}", f"TEAM-{unique}"),
    ):
        expected = ("MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{spelled}"')
        assert (
            _refused(iam.update_assume_role_policy, RoleName=f"r-{unique}", PolicyDocument=_trust(spelled))
            == expected
        )
    iam.update_assume_role_policy(RoleName=f"r-{unique}", PolicyDocument=_trust(arn))
    _drop_user(iam, name)
    # The same name in another case, at the same path, is another user: the trust names the old id
    _, _, lower_keys = _user(iam, name.lower(), path=f"/team-{unique}/")
    role_arn = f"arn:aws:iam::{server.account_id}:role/r-{unique}"
    assert _refused(_assume, server=server, creds=lower_keys, role_arn=role_arn)[0] == "AccessDenied"
    assert _trust_of(iam, f"r-{unique}")["Statement"][0]["Principal"] == {"AWS": [user_id]}


def test_a_renamed_user_keeps_the_trust_and_its_old_name_gets_none(iam, server, unique):
    old_arn, _, keys = _user(iam, f"bob-{unique}")
    role = iam.create_role(RoleName=f"r-{unique}", AssumeRolePolicyDocument=_trust(old_arn))["Role"]
    iam.update_user(UserName=f"bob-{unique}", NewUserName=f"alice-{unique}", NewPath=f"/p-{unique}/")
    new_arn = f"arn:aws:iam::{server.account_id}:user/p-{unique}/alice-{unique}"
    assert _trust_of(iam, f"r-{unique}")["Statement"][0]["Principal"] == {"AWS": [new_arn]}
    _assume(server, keys, role["Arn"])
    _, _, impostor = _user(iam, f"bob-{unique}")
    assert _refused(_assume, server=server, creds=impostor, role_arn=role["Arn"])[0] == "AccessDenied"


def test_deleting_a_user_rewrites_another_accounts_trust_policy(iam, server, unique):
    arn, user_id, _ = _user(iam, f"bob-{unique}")
    other = server.new_account()
    other_iam = server.client("iam", other["AccessKeyId"], other["SecretAccessKey"])
    other_iam.create_role(RoleName=f"r-{unique}", AssumeRolePolicyDocument=_trust(arn))
    _drop_user(iam, f"bob-{unique}")
    assert _trust_of(other_iam, f"r-{unique}")["Statement"][0]["Principal"] == {"AWS": [user_id]}


def test_a_role_deleted_while_a_policy_naming_it_is_saved_is_never_named_by_its_arn(iam, server, unique):
    holder = f"h-{unique}"
    root = f"arn:aws:iam::{server.account_id}:root"
    iam.create_role(RoleName=holder, AssumeRolePolicyDocument=_trust(root))
    for attempt in range(8):
        named = iam.create_role(RoleName=f"n{attempt}-{unique}", AssumeRolePolicyDocument=_trust(root))[
            "Role"
        ]

        def save(arn: str = named["Arn"]) -> str:
            try:
                iam.update_assume_role_policy(RoleName=holder, PolicyDocument=_trust(root, arn))
            except ClientError as exc:
                return str(exc.response["Error"]["Code"])
            return "saved"

        with ThreadPoolExecutor(2) as pool:
            saved = pool.submit(save)
            pool.submit(iam.delete_role, RoleName=f"n{attempt}-{unique}").result()
            assert saved.result() in ("saved", "MalformedPolicyDocument")
        shown = json.dumps(_trust_of(iam, holder))
        assert named["Arn"] not in shown  # named either by its id or not at all


def test_deleting_a_service_linked_role_rewrites_a_trust_policy_naming_it(iam, server, unique):
    linked = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=unique)
    arn, role_id, name = linked["Role"]["Arn"], linked["Role"]["RoleId"], linked["Role"]["RoleName"]
    iam.create_role(RoleName=f"r-{unique}", AssumeRolePolicyDocument=_trust(arn))
    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    assert _trust_of(iam, f"r-{unique}")["Statement"][0]["Principal"] == {"AWS": [role_id]}
