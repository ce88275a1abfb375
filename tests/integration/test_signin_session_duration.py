"""MaxSigninSessionDuration of roles and login profiles (botocore 1.44.8's model): set, replaced, reset,
left out of every shape while unset, and the length of a user's `ostiary signin` session."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ostiary.signin import CONSOLE_SESSION_SECONDS
from tests.conftest import Server
from tests.integration.newer_helpers import new_account, newer_client
from tests.integration.test_signin import signin

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
PASSWORD = "Correct-Horse-Battery-9"


@pytest.fixture(scope="module")
def account(server: Server) -> dict[str, str]:
    return new_account(server)


@pytest.fixture(scope="module")
def iam(server: Server, account: dict[str, str]) -> Any:
    return newer_client(server, "iam", account)


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _listed(iam: Any, name: str) -> dict[str, Any]:
    return next(r for r in iam.list_roles()["Roles"] if r["RoleName"] == name)


def test_a_roles_duration_is_set_replaced_and_reset(iam: Any, unique: str) -> None:
    name = f"si-{unique}"
    created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST, MaxSigninSessionDuration=7200)[
        "Role"
    ]
    assert created["MaxSigninSessionDuration"] == 7200
    assert iam.get_role(RoleName=name)["Role"]["MaxSigninSessionDuration"] == 7200
    iam.update_role(RoleName=name, MaxSigninSessionDuration=86400)
    assert _listed(iam, name)["MaxSigninSessionDuration"] == 86400
    iam.update_role(RoleName=name, Description="kept")  # neither member: unchanged
    assert iam.get_role(RoleName=name)["Role"]["MaxSigninSessionDuration"] == 86400
    iam.update_role(RoleName=name, ResetMaxSigninSessionDuration=True)
    assert "MaxSigninSessionDuration" not in iam.get_role(RoleName=name)["Role"]
    assert "MaxSigninSessionDuration" not in _listed(iam, name)
    iam.update_role(RoleName=name, ResetMaxSigninSessionDuration=True)  # already unset: no effect


def test_a_role_without_it_shows_none(iam: Any, unique: str) -> None:
    created = iam.create_role(RoleName=f"no-{unique}", AssumeRolePolicyDocument=TRUST)["Role"]
    assert "MaxSigninSessionDuration" not in created
    assert "MaxSigninSessionDuration" not in iam.get_role(RoleName=f"no-{unique}")["Role"]


def test_a_login_profiles_duration_is_set_replaced_and_reset_without_touching_the_password(
    iam: Any, unique: str
) -> None:
    name = f"lp-{unique}"
    iam.create_user(UserName=name)
    made = iam.create_login_profile(UserName=name, Password=PASSWORD, MaxSigninSessionDuration=3600)
    assert made["LoginProfile"]["MaxSigninSessionDuration"] == 3600
    iam.update_login_profile(UserName=name, PasswordResetRequired=True)
    iam.update_login_profile(UserName=name, MaxSigninSessionDuration=7776000)
    got = iam.get_login_profile(UserName=name)["LoginProfile"]
    assert (got["MaxSigninSessionDuration"], got["PasswordResetRequired"]) == (7776000, True)
    iam.update_login_profile(UserName=name, ResetMaxSigninSessionDuration=True)
    assert "MaxSigninSessionDuration" not in iam.get_login_profile(UserName=name)["LoginProfile"]


@pytest.mark.parametrize("seconds", [3599, 7776001, -1])
def test_a_duration_out_of_range_is_refused_and_changes_nothing(
    server: Server, account: dict[str, str], iam: Any, unique: str, seconds: int
) -> None:
    name = f"or-{unique}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST, MaxSigninSessionDuration=7200)
    hostile = newer_client(server, "iam", account, validate=False)
    with pytest.raises(ClientError) as exc:
        hostile.update_role(RoleName=name, MaxSigninSessionDuration=seconds)
    assert _error(exc) == ("ValidationError", 400)
    with pytest.raises(ClientError) as exc:
        hostile.create_role(
            RoleName=f"{name}-new", AssumeRolePolicyDocument=TRUST, MaxSigninSessionDuration=seconds
        )
    assert _error(exc) == ("ValidationError", 400)
    assert iam.get_role(RoleName=name)["Role"]["MaxSigninSessionDuration"] == 7200


def test_a_value_and_a_reset_together_are_refused(iam: Any, unique: str) -> None:
    name = f"both-{unique}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST, MaxSigninSessionDuration=7200)
    with pytest.raises(ClientError) as exc:
        iam.update_role(RoleName=name, MaxSigninSessionDuration=3600, ResetMaxSigninSessionDuration=True)
    assert _error(exc) == ("InvalidInput", 400)
    assert iam.get_role(RoleName=name)["Role"]["MaxSigninSessionDuration"] == 7200
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password=PASSWORD)
    with pytest.raises(ClientError) as exc:
        iam.update_login_profile(
            UserName=name, MaxSigninSessionDuration=3600, ResetMaxSigninSessionDuration=True
        )
    assert _error(exc) == ("InvalidInput", 400)
    assert "MaxSigninSessionDuration" not in iam.get_login_profile(UserName=name)["LoginProfile"]


def test_it_cannot_be_reset_on_a_service_linked_role(iam: Any) -> None:
    role = iam.create_service_linked_role(AWSServiceName="elasticbeanstalk.amazonaws.com")["Role"]
    with pytest.raises(ClientError) as exc:
        iam.update_role(RoleName=role["RoleName"], ResetMaxSigninSessionDuration=True)
    assert _error(exc) == ("UnmodifiableEntity", 400)


def test_a_console_session_lasts_the_users_sign_in_duration(
    server: Server, account: dict[str, str], iam: Any, unique: str
) -> None:
    for name, extra, seconds in (
        (f"one-{unique}", {"MaxSigninSessionDuration": 3600}, 3600),
        (f"std-{unique}", {}, CONSOLE_SESSION_SECONDS),
    ):
        iam.create_user(UserName=name)
        iam.create_login_profile(UserName=name, Password=PASSWORD, **extra)
        before = datetime.now(UTC).replace(microsecond=0)
        done = signin(server, account["AccountId"], name, PASSWORD)
        assert done.returncode == 0, done.stderr
        expires = datetime.fromisoformat(json.loads(done.stdout)["Expiration"].replace("Z", "+00:00"))
        assert (
            before + timedelta(seconds=seconds) <= expires <= datetime.now(UTC) + timedelta(seconds=seconds)
        )
