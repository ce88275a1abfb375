"""Console passwords: `ostiary signin` (password, then MFA) yields a session; ChangePassword by the user."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pyotp
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server

PASSWORD = "Initial-Passw0rd!"
NEW_PASSWORD = "Changed-Passw0rd!"
SELF_SERVICE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["iam:ChangePassword", "iam:GetUser"], "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"},
        ],
    }
)


def _new_account(server: Server) -> dict[str, str]:
    return server.new_account()


def signin(
    server: Server, account: str, user: str, password: str, mfa_code: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `ostiary signin`; the password comes from OSTIARY_PASSWORD, as a console backend would pass it."""
    args = [sys.executable, "-m", "ostiary", "signin", "--user-name", user, "--account-id", account]
    if mfa_code is not None:
        args += ["--mfa-code", mfa_code]
    env = server.cli_env() | {"OSTIARY_PASSWORD": password}
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def account(server: Server) -> dict[str, Any]:
    """A fresh account (its password policy is its own), with the root's IAM client."""
    created = _new_account(server)
    iam = server.client("iam", created["AccessKeyId"], created["SecretAccessKey"])
    return {"id": created["AccountId"], "iam": iam}


def _user(iam: Any, name: str, **profile: Any) -> None:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="self", PolicyDocument=SELF_SERVICE)
    iam.create_login_profile(UserName=name, Password=PASSWORD, **profile)


def _session(server: Server, creds: dict[str, Any], service: str = "iam") -> Any:
    return server.client(service, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def test_password_signin_yields_a_session_of_the_user(
    server: Server, account: dict[str, Any], unique: str
) -> None:
    name = f"console-{unique}"
    _user(account["iam"], name)
    done = signin(server, account["id"], name, PASSWORD)
    assert done.returncode == 0, done.stderr
    creds = json.loads(done.stdout)
    assert creds["PasswordResetRequired"] is False and creds["MultiFactorAuthPresent"] is False
    identity = _session(server, creds, "sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{account['id']}:user/{name}"
    wrong = signin(server, account["id"], name, "not-the-password")
    assert wrong.returncode != 0
    assert "Your authentication information is incorrect" in wrong.stderr
    assert signin(server, account["id"], f"nobody-{unique}", PASSWORD).returncode != 0


def test_change_password_checks_old_password_and_policy(
    server: Server, account: dict[str, Any], unique: str
) -> None:
    iam = account["iam"]
    name = f"changer-{unique}"
    _user(iam, name)
    iam.update_account_password_policy(
        MinimumPasswordLength=12,
        RequireNumbers=True,
        PasswordReusePrevention=3,
        AllowUsersToChangePassword=True,
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    user = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as wrong_old:
        user.change_password(OldPassword="wrong-old-password1", NewPassword=NEW_PASSWORD)
    assert wrong_old.value.response["Error"]["Code"] == "InvalidUserType"
    with pytest.raises(ClientError) as weak:
        user.change_password(OldPassword=PASSWORD, NewPassword="short1")
    assert weak.value.response["Error"] == {
        "Type": "Sender",
        "Code": "PasswordPolicyViolation",
        "Message": "Password does not conform to the account password policy.",
    }
    with pytest.raises(ClientError) as reused:
        user.change_password(OldPassword=PASSWORD, NewPassword=PASSWORD)
    assert reused.value.response["Error"]["Code"] == "PasswordPolicyViolation"
    user.change_password(OldPassword=PASSWORD, NewPassword=NEW_PASSWORD)
    assert signin(server, account["id"], name, PASSWORD).returncode != 0
    assert signin(server, account["id"], name, NEW_PASSWORD).returncode == 0


def _enable_mfa(iam: Any, name: str, unique: str) -> pyotp.TOTP:
    """A virtual MFA device enabled for the user with the codes of the two previous time steps."""
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"dev-{unique}")["VirtualMFADevice"]
    seed = device["Base32StringSeed"]
    totp = pyotp.TOTP(seed.decode() if isinstance(seed, bytes) else seed)
    now = time.time()
    iam.enable_mfa_device(
        UserName=name,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp.at(now - 60),
        AuthenticationCode2=totp.at(now - 30),
    )
    return totp


def test_reset_required_session_may_only_change_the_password(
    server: Server, account: dict[str, Any], unique: str
) -> None:
    name = f"reset-{unique}"
    _user(account["iam"], name, PasswordResetRequired=True)
    totp = _enable_mfa(account["iam"], name, unique)
    now = time.time()
    creds = json.loads(signin(server, account["id"], name, PASSWORD, totp.at(now)).stdout)
    assert creds["PasswordResetRequired"] is True
    user = _session(server, creds)  # MFA-authenticated: IAM accepts it
    with pytest.raises(ClientError) as narrowed:
        user.list_users()
    assert narrowed.value.response["Error"]["Code"] == "AccessDenied"
    user.change_password(OldPassword=PASSWORD, NewPassword=NEW_PASSWORD)
    again = json.loads(signin(server, account["id"], name, NEW_PASSWORD, totp.at(now + 30)).stdout)
    assert again["PasswordResetRequired"] is False
    _session(server, again).list_users()


def test_mfa_user_needs_a_fresh_code(server: Server, account: dict[str, Any], unique: str) -> None:
    iam = account["iam"]
    name = f"mfa-{unique}"
    _user(iam, name)
    totp = _enable_mfa(iam, name, unique)
    now = time.time()
    without = signin(server, account["id"], name, PASSWORD)
    assert without.returncode != 0
    code = totp.at(now)
    done = signin(server, account["id"], name, PASSWORD, code)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["MultiFactorAuthPresent"] is True
    replayed = signin(server, account["id"], name, PASSWORD, code)
    assert replayed.returncode != 0
