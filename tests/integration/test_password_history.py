"""PasswordReusePrevention over the user's last N passwords, and AllowUsersToChangePassword in enforce."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import create_engine, text

from tests.conftest import Server

PASSWORDS = [f"History-Passw0rd-{n}!" for n in range(6)]
VIOLATION = {
    "Type": "Sender",
    "Code": "PasswordPolicyViolation",
    "Message": "Password does not conform to the account password policy.",
}


@pytest.fixture
def account(server: Server) -> dict[str, Any]:
    """A fresh account (its password policy is its own), with the root's IAM client."""
    created = server.new_account()
    iam = server.client("iam", created["AccessKeyId"], created["SecretAccessKey"])
    return {"id": created["AccountId"], "iam": iam}


def _user_client(server: Server, iam: Any, name: str) -> Any:
    """An IAM client of a new user with a login profile (PASSWORDS[0]) and no policies at all."""
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password=PASSWORDS[0])
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])


def _history_size(server: Server, iam: Any, name: str) -> int:
    user_id = iam.get_user(UserName=name)["User"]["UserId"]
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            query = text("SELECT COUNT(*) FROM password_history WHERE user_id = :u")
            return int(conn.execute(query, {"u": user_id}).scalar_one())
    finally:
        engine.dispose()


def test_change_password_refuses_each_of_the_last_n(
    server: Server, account: dict[str, Any], unique: str
) -> None:
    iam = account["iam"]
    name = f"reuse-{unique}"
    user = _user_client(server, iam, name)
    iam.update_account_password_policy(PasswordReusePrevention=3, AllowUsersToChangePassword=True)
    user.change_password(OldPassword=PASSWORDS[0], NewPassword=PASSWORDS[1])
    user.change_password(OldPassword=PASSWORDS[1], NewPassword=PASSWORDS[2])
    assert _history_size(server, iam, name) == 2
    for old in PASSWORDS[:3]:  # the current one and the two before it
        with pytest.raises(ClientError) as reused:
            user.change_password(OldPassword=PASSWORDS[2], NewPassword=old)
        assert reused.value.response["Error"] == VIOLATION
    assert _history_size(server, iam, name) == 2  # the refused changes changed nothing
    user.change_password(OldPassword=PASSWORDS[2], NewPassword=PASSWORDS[3])
    with pytest.raises(ClientError) as reused:
        user.change_password(OldPassword=PASSWORDS[3], NewPassword=PASSWORDS[1])
    assert reused.value.response["Error"] == VIOLATION
    user.change_password(OldPassword=PASSWORDS[3], NewPassword=PASSWORDS[0])  # the 4th-last: allowed again


def test_login_profile_paths_check_the_history(server: Server, account: dict[str, Any], unique: str) -> None:
    iam = account["iam"]
    name = f"admin-reuse-{unique}"
    _user_client(server, iam, name)
    iam.update_account_password_policy(PasswordReusePrevention=2)
    iam.update_login_profile(UserName=name, Password=PASSWORDS[1])
    for old in PASSWORDS[:2]:
        with pytest.raises(ClientError) as reused:
            iam.update_login_profile(UserName=name, Password=old, PasswordResetRequired=True)
        assert reused.value.response["Error"] == VIOLATION
    assert iam.get_login_profile(UserName=name)["LoginProfile"]["PasswordResetRequired"] is False
    iam.delete_login_profile(UserName=name)
    with pytest.raises(ClientError) as recreated:
        iam.create_login_profile(UserName=name, Password=PASSWORDS[1])
    assert recreated.value.response["Error"] == VIOLATION
    with pytest.raises(ClientError) as missing:
        iam.get_login_profile(UserName=name)
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"
    iam.create_login_profile(UserName=name, Password=PASSWORDS[2])
    iam.update_login_profile(UserName=name, Password=PASSWORDS[0])  # 3rd-last with N=2: allowed


def test_history_keeps_at_most_24(server: Server, account: dict[str, Any], unique: str) -> None:
    iam = account["iam"]
    name = f"long-history-{unique}"
    _user_client(server, iam, name)
    for n in range(26):
        iam.update_login_profile(UserName=name, Password=f"{PASSWORDS[0]}{n}")
    assert _history_size(server, iam, name) == 24


def test_users_change_their_own_password_only_when_the_policy_allows(
    server: Server, account: dict[str, Any], unique: str
) -> None:
    iam = account["iam"]
    name = f"self-service-{unique}"
    user = _user_client(server, iam, name)
    arn = f"arn:aws:iam::{account['id']}:user/{name}"
    for allow in (None, False):
        if allow is not None:
            iam.update_account_password_policy(AllowUsersToChangePassword=allow)
        with pytest.raises(ClientError) as denied:
            user.change_password(OldPassword=PASSWORDS[0], NewPassword=PASSWORDS[1])
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        assert denied.value.response["Error"]["Message"] == (
            f"User: {arn} is not authorized to perform: iam:ChangePassword on resource: {arn}"
            " because no identity-based policy allows the iam:ChangePassword action"
        )
        with pytest.raises(ClientError) as policy_denied:
            user.get_account_password_policy()
        assert policy_denied.value.response["Error"]["Code"] == "AccessDenied"
    iam.update_account_password_policy(AllowUsersToChangePassword=True)
    user.change_password(OldPassword=PASSWORDS[0], NewPassword=PASSWORDS[1])
    assert user.get_account_password_policy()["PasswordPolicy"]["AllowUsersToChangePassword"] is True
    with pytest.raises(ClientError) as other:
        user.get_user(UserName=name)
    assert other.value.response["Error"]["Code"] == "AccessDenied"
