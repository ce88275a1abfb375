"""Login profiles through boto3: argon2id hashes, the password policy, AWS's errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import create_engine, text

from tests.conftest import Server

GOOD = "Correct-Horse-9"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def test_login_profile_lifecycle(iam, unique: str) -> None:
    name = f"lp-{unique}"
    iam.create_user(UserName=name)
    created = iam.create_login_profile(UserName=name, Password=GOOD, PasswordResetRequired=False)[
        "LoginProfile"
    ]
    assert created["UserName"] == name and created["PasswordResetRequired"] is False
    got = iam.get_login_profile(UserName=name)["LoginProfile"]
    assert got["UserName"] == name and got["CreateDate"].tzinfo is not None
    iam.update_login_profile(UserName=name, PasswordResetRequired=True)
    assert iam.get_login_profile(UserName=name)["LoginProfile"]["PasswordResetRequired"] is True
    iam.delete_login_profile(UserName=name)
    with pytest.raises(ClientError) as exc:
        iam.get_login_profile(UserName=name)
    assert _error(exc) == ("NoSuchEntity", f"Login Profile for User {name} cannot be found.", 404)


def test_second_login_profile_is_refused(iam, unique: str) -> None:
    name = f"lp2-{unique}"
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password=GOOD)
    with pytest.raises(ClientError) as exc:
        iam.create_login_profile(UserName=name, Password=GOOD + "x")
    assert _error(exc) == ("EntityAlreadyExists", f"Login Profile for user {name} already exists.", 409)


def test_login_profile_of_unknown_user_is_no_such_entity(iam, unique: str) -> None:
    with pytest.raises(ClientError) as exc:
        iam.create_login_profile(UserName=f"ghost-{unique}", Password=GOOD)
    assert _error(exc) == ("NoSuchEntity", f"The user with name ghost-{unique} cannot be found.", 404)
    with pytest.raises(ClientError) as exc:
        iam.delete_login_profile(UserName=f"ghost-{unique}")
    assert _error(exc) == ("NoSuchEntity", f"The user with name ghost-{unique} cannot be found.", 404)


def test_password_is_stored_as_argon2id_hash(iam, server: Server, unique: str) -> None:
    name = f"lph-{unique}"
    user_id = iam.create_user(UserName=name)["User"]["UserId"]
    iam.create_login_profile(UserName=name, Password=GOOD)
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT password_hash FROM login_profiles WHERE user_id = :u"), {"u": user_id}
            ).scalar_one()
    finally:
        engine.dispose()
    assert stored.startswith("$argon2id$") and GOOD not in stored


def test_weak_password_breaks_the_default_policy(iam, unique: str) -> None:
    name = f"lpw-{unique}"
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as exc:
        iam.create_login_profile(UserName=name, Password="password")
    assert _error(exc) == (
        "PasswordPolicyViolation",
        "Password does not conform to the account password policy.",
        400,
    )
    with pytest.raises(ClientError) as exc:
        iam.get_login_profile(UserName=name)
    assert _error(exc)[0] == "NoSuchEntity"


def test_update_login_profile_checks_the_password_and_needs_a_profile(iam, unique: str) -> None:
    name = f"lpu-{unique}"
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as exc:
        iam.update_login_profile(UserName=name, Password=GOOD)
    assert _error(exc) == ("NoSuchEntity", f"Login Profile for User {name} cannot be found.", 404)
    iam.create_login_profile(UserName=name, Password=GOOD)
    with pytest.raises(ClientError) as exc:
        iam.update_login_profile(UserName=name, Password="short")
    assert _error(exc)[0] == "PasswordPolicyViolation"
    iam.update_login_profile(UserName=name, Password="Another-Good-1")
