"""Guessing MFA codes and passwords through the real server: after a few failures every attempt, the
right one included, is refused with AWS's throttling answer until the pause ends, per user and device."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pyotp
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ostiary.signin import SignInRefused, sign_in
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring
from tests.conftest import PG_ADMIN_URL, Server, start_server, stop_server

FAILURES, DELAY_SECONDS = 5, 10
THROTTLE_ENV = {
    "OSTIARY_THROTTLE_FAILURES": str(FAILURES),
    "OSTIARY_THROTTLE_WINDOW_SECONDS": "60",
    "OSTIARY_THROTTLE_DELAY_SECONDS": str(DELAY_SECONDS),
    "OSTIARY_THROTTLE_MAX_DELAY_SECONDS": str(2 * DELAY_SECONDS),
}
THROTTLED = ("Throttling", "Rate exceeded", 400)
MFA_FAILED = ("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code. ", 403)
INVALID_CODE = ("InvalidAuthenticationCode", "Authentication code for device is not valid.", 403)
OLD_PASSWORD_WRONG = ("InvalidUserType", "The old password is incorrect.", 400)
INCORRECT = "Your authentication information is incorrect. Please try again."
PASSWORD = "Initial-Passw0rd!"
SELF_SERVICE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["iam:ChangePassword", "sts:AssumeRole"], "Resource": "*"}
        ],
    }
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def throttled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose throttle pauses for DELAY_SECONDS after FAILURES failures (a short window).

    Over PostgreSQL it has a database of its own: another server's rows are sealed with its keyring.
    """
    data_dir = tmp_path_factory.mktemp(f"throttled-{request.param}")
    if request.param == "sqlite":
        server = start_server(
            data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", env_extra=THROTTLE_ENV
        )
        yield server
        stop_server(server)
        return
    request.getfixturevalue("pg_database")  # skips, saying why, when PostgreSQL is not reachable
    import psycopg

    name = f"ostiary_throttle_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        try:
            server = start_server(data_dir, f"{base}/{name}", "postgresql", env_extra=THROTTLE_ENV)
            yield server
            stop_server(server)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _refusal(call: Callable[[], Any]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    err = caught.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def _user(server: Server, name: str) -> tuple[Any, dict[str, str]]:
    """A user with a key, a console password and a policy for ChangePassword and AssumeRole."""
    iam = _as(
        server, "iam", {"AccessKeyId": server.access_key_id, "SecretAccessKey": server.secret_access_key}
    )
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="self", PolicyDocument=SELF_SERVICE)
    iam.create_login_profile(UserName=name, Password=PASSWORD)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return iam, key


def _device(iam: Any, user: str | None, name: str) -> tuple[str, pyotp.TOTP]:
    """A virtual device, enabled for `user` when one is named: (serial number, its TOTP)."""
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    totp = pyotp.TOTP(device["Base32StringSeed"].decode())
    if user is not None:
        now = time.time()
        iam.enable_mfa_device(
            UserName=user,
            SerialNumber=device["SerialNumber"],
            AuthenticationCode1=totp.at(now - 30),
            AuthenticationCode2=totp.at(now),
        )
    return device["SerialNumber"], totp


def _wrong_codes(totp: pyotp.TOTP, count: int) -> list[str]:
    """`count` codes that are none of the device's codes of the next minutes."""
    now = time.time()
    valid = {totp.at(now + 30 * offset) for offset in range(-3, 8)}
    return [code for code in (f"{n:06d}" for n in range(100_000, 100_000 + count + 20)) if code not in valid][
        :count
    ]


def _next_code(totp: pyotp.TOTP) -> str:
    """The code of the next time step: newer than the two that enabled the device (no replay)."""
    return str(totp.at(time.time() + 30))


def _as(server: Server, service: str, key: dict[str, str]) -> Any:
    """The user's client, which sends each call once: an SDK retries Throttling, which would hide it."""
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def test_300_wrong_codes_leave_the_right_one_refused_until_the_pause_ends(
    throttled: Server, unique: str
) -> None:
    name = f"guess-{unique}"
    iam, key = _user(throttled, name)
    serial, totp = _device(iam, name, f"guess-{unique}")
    sts = _as(throttled, "sts", key)
    answers: Counter[tuple[str, str, int]] = Counter()
    for code in _wrong_codes(totp, 300):
        answers[_refusal(lambda c=code: sts.get_session_token(SerialNumber=serial, TokenCode=c))] += 1
        if answers[MFA_FAILED] == FAILURES and len(answers) == 1:
            paused_at = time.monotonic()  # the pause began before this answer
    right = _refusal(lambda: sts.get_session_token(SerialNumber=serial, TokenCode=_next_code(totp)))
    assert time.monotonic() - paused_at < DELAY_SECONDS, "too slow to stay within one pause"
    assert answers == {MFA_FAILED: FAILURES, THROTTLED: 300 - FAILURES}
    assert right == THROTTLED  # the right code is refused as a wrong one is: the pause tells nothing
    time.sleep(DELAY_SECONDS - (time.monotonic() - paused_at) + 0.5)
    creds = sts.get_session_token(SerialNumber=serial, TokenCode=_next_code(totp))["Credentials"]
    assert creds["SessionToken"]
    guesses = _wrong_codes(totp, FAILURES)  # the right code cleared the failures: a full count again
    assert [
        _refusal(lambda c=c: sts.get_session_token(SerialNumber=serial, TokenCode=c)) for c in guesses
    ] == [MFA_FAILED] * FAILURES


def test_assume_role_codes_count_on_the_same_user_and_device(throttled: Server, unique: str) -> None:
    name = f"assume-{unique}"
    iam, key = _user(throttled, name)
    serial, totp = _device(iam, name, f"assume-{unique}")
    user_arn = iam.get_user(UserName=name)["User"]["Arn"]
    trust = {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}
    role_arn = iam.create_role(
        RoleName=f"assume-{unique}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
    )["Role"]["Arn"]
    sts = _as(throttled, "sts", key)
    wrong = _wrong_codes(totp, FAILURES + 2)
    for code in wrong[:3]:
        assert _refusal(lambda c=code: sts.get_session_token(SerialNumber=serial, TokenCode=c)) == MFA_FAILED
    answers = [
        _refusal(
            lambda c=code: sts.assume_role(
                RoleArn=role_arn, RoleSessionName="session", SerialNumber=serial, TokenCode=c
            )
        )
        for code in wrong[3:]
    ]
    assert answers == [MFA_FAILED] * (FAILURES - 3) + [THROTTLED] * 2
    assert (
        _refusal(
            lambda: sts.assume_role(
                RoleArn=role_arn, RoleSessionName="session", SerialNumber=serial, TokenCode=_next_code(totp)
            )
        )
        == THROTTLED
    )


def test_a_pause_is_the_users_and_the_devices_alone(throttled: Server, unique: str) -> None:
    iam, key = _user(throttled, f"victim-{unique}")
    serial, totp = _device(iam, f"victim-{unique}", f"victim-{unique}")
    _, other_key = _user(throttled, f"other-{unique}")
    other = _as(throttled, "sts", other_key)
    answers = [  # naming another's device fails, and pauses only oneself
        _refusal(lambda c=code: other.get_session_token(SerialNumber=serial, TokenCode=c))
        for code in _wrong_codes(totp, FAILURES + 3)
    ]
    assert answers == [MFA_FAILED] * FAILURES + [THROTTLED] * 3
    assert (
        _refusal(lambda: other.get_session_token(SerialNumber=serial, TokenCode=_next_code(totp)))
        == THROTTLED
    )
    assert _as(throttled, "sts", key).get_session_token(SerialNumber=serial, TokenCode=_next_code(totp))[
        "Credentials"
    ]


def test_enable_codes_are_throttled(throttled: Server, unique: str) -> None:
    name = f"enable-{unique}"
    iam, _ = _user(throttled, name)
    serial, totp = _device(iam, None, f"enable-{unique}")
    wrong = _wrong_codes(totp, 2 * FAILURES + 4)
    answers = [
        _refusal(
            lambda a=a, b=b: iam.enable_mfa_device(
                UserName=name, SerialNumber=serial, AuthenticationCode1=a, AuthenticationCode2=b
            )
        )
        for a, b in zip(wrong[0::2], wrong[1::2], strict=True)
    ]
    assert answers == [INVALID_CODE] * FAILURES + [THROTTLED] * 2
    now = time.time()
    right = {"AuthenticationCode1": totp.at(now - 30), "AuthenticationCode2": totp.at(now)}
    assert _refusal(lambda: iam.enable_mfa_device(UserName=name, SerialNumber=serial, **right)) == THROTTLED


def test_resync_codes_are_throttled(throttled: Server, unique: str) -> None:
    name = f"resync-{unique}"
    iam, _ = _user(throttled, name)
    serial, totp = _device(iam, name, f"resync-{unique}")
    wrong = _wrong_codes(totp, 2 * FAILURES + 2)
    answers = [
        _refusal(
            lambda a=a, b=b: iam.resync_mfa_device(
                UserName=name, SerialNumber=serial, AuthenticationCode1=a, AuthenticationCode2=b
            )
        )
        for a, b in zip(wrong[0::2], wrong[1::2], strict=True)
    ]
    assert answers == [INVALID_CODE] * FAILURES + [THROTTLED]
    now = time.time()
    right = {"AuthenticationCode1": totp.at(now + 30), "AuthenticationCode2": totp.at(now + 60)}
    assert _refusal(lambda: iam.resync_mfa_device(UserName=name, SerialNumber=serial, **right)) == THROTTLED


def test_change_password_is_no_oracle_for_the_old_password(throttled: Server, unique: str) -> None:
    name = f"oracle-{unique}"
    _, key = _user(throttled, name)
    iam = _as(throttled, "iam", key)
    answers = [
        _refusal(
            lambda n=n: iam.change_password(OldPassword=f"Guess-{n}-Passw0rd!", NewPassword="Next-Passw0rd!1")
        )
        for n in range(FAILURES + 3)
    ]
    assert answers == [OLD_PASSWORD_WRONG] * FAILURES + [THROTTLED] * 3
    assert (
        _refusal(lambda: iam.change_password(OldPassword=PASSWORD, NewPassword="Next-Passw0rd!1"))
        == THROTTLED
    )


def _sign_in(server: Server, user: str, password: str) -> str:
    """`ostiary signin`'s refusal for this password (in process, on the server's own store), or `ok`."""
    db = Database(server.database_url, pool=False)
    try:
        sign_in(db, Keyring.load(server.data_dir), server.account_id, user, password)
    except SignInRefused as exc:
        return str(exc)
    finally:
        db.dispose()
    return "ok"


def test_console_passwords_are_throttled_per_user_and_per_name(
    throttled: Server, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, value in THROTTLE_ENV.items():
        monkeypatch.setenv(variable, value)
    name = f"console-{unique}"
    _user(throttled, name)
    answers = [_sign_in(throttled, name, f"Guess-{n}") for n in range(FAILURES)]
    paused_at = time.monotonic()  # the pause began before the last answer
    answers += [_sign_in(throttled, name, f"Guess-{n}") for n in range(2)]
    assert answers == [INCORRECT] * FAILURES + ["Rate exceeded"] * 2
    assert _sign_in(throttled, name, PASSWORD) == "Rate exceeded"
    nobody = [_sign_in(throttled, f"nobody-{unique}", f"Guess-{n}") for n in range(FAILURES + 1)]
    assert nobody == [INCORRECT] * FAILURES + ["Rate exceeded"]  # a name with no user is answered alike
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ostiary",
            "signin",
            "--user-name",
            name,
            "--account-id",
            throttled.account_id,
        ],
        env=throttled.cli_env() | THROTTLE_ENV | {"OSTIARY_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr.strip()) == (1, "Error: Rate exceeded")
    time.sleep(max(0.0, DELAY_SECONDS - (time.monotonic() - paused_at)) + 0.5)
    assert _sign_in(throttled, name, PASSWORD) == "ok"
