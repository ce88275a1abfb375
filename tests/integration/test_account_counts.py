"""GetAccountSummary's counts kept by triggers (migration 0015): exact through creates, deletes and MFA
assignments on both stores, equal to a count of the rows, and built from the rows a store already had."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import text

from ostiary.store import accounts
from ostiary.store.db import Database
from tests.conftest import Server, migrate

DOCUMENT = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)
KEPT = accounts.KEPT_COUNTS
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def _summary(server: Server) -> dict[str, int]:
    return dict(server.client("iam").get_account_summary()["SummaryMap"])


def _store_agrees(server: Server, account: str) -> None:
    db = Database(server.database_url, pool=False)
    try:
        with db.read() as conn:
            kept = accounts.summary_counts(conn, account)
            counted = accounts.counted_summary(conn, account)
            assert {k: kept[k] for k in KEPT} == counted
            for other in ("aws", account):  # the seeded AWS managed policies are counted too
                assert {k: v for k, v in accounts.summary_counts(conn, other).items() if k in KEPT} == (
                    accounts.counted_summary(conn, other)
                )
    finally:
        db.dispose()


def _codes(seed: str) -> tuple[str, str]:
    totp, step = pyotp.TOTP(seed), int(time.time()) // 30
    return totp.generate_otp(step - 1), totp.generate_otp(step)


def test_the_summary_follows_every_create_delete_and_assignment(server: Server, unique: str) -> None:
    iam = server.client("iam")
    before = _summary(server)
    for i in range(3):
        iam.create_user(UserName=f"{unique}-u{i}")
    for i in range(2):
        iam.create_group(GroupName=f"{unique}-g{i}")
        iam.create_role(
            RoleName=f"{unique}-r{i}",
            AssumeRolePolicyDocument=TRUST,
        )
    iam.create_instance_profile(InstanceProfileName=f"{unique}-ip")
    arns = [
        iam.create_policy(PolicyName=f"{unique}-p{i}", PolicyDocument=DOCUMENT)["Policy"]["Arn"]
        for i in range(2)
    ]
    iam.create_policy_version(PolicyArn=arns[0], PolicyDocument=DOCUMENT)
    iam.create_policy_version(PolicyArn=arns[1], PolicyDocument=DOCUMENT)
    devices = [
        iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{unique}-m{i}")["VirtualMFADevice"]
        for i in range(2)
    ]
    one, two = _codes(devices[0]["Base32StringSeed"].decode())
    iam.enable_mfa_device(
        UserName=f"{unique}-u0",
        SerialNumber=devices[0]["SerialNumber"],
        AuthenticationCode1=one,
        AuthenticationCode2=two,
    )
    middle = _summary(server)
    expected = {"Users": 3, "Groups": 2, "Roles": 2, "InstanceProfiles": 1, "Policies": 2}
    expected |= {"PolicyVersionsInUse": 4, "MFADevices": 2, "MFADevicesInUse": 1}
    assert {k: middle[k] - before[k] for k in expected} == expected
    _store_agrees(server, server.account_id)

    iam.delete_user(UserName=f"{unique}-u2")
    iam.delete_group(GroupName=f"{unique}-g1")
    iam.delete_role(RoleName=f"{unique}-r1")
    iam.delete_instance_profile(InstanceProfileName=f"{unique}-ip")
    iam.delete_policy_version(PolicyArn=arns[0], VersionId="v2")  # v1 stays the default
    iam.delete_policy_version(PolicyArn=arns[1], VersionId="v2")
    iam.delete_policy(PolicyArn=arns[1])
    iam.deactivate_mfa_device(UserName=f"{unique}-u0", SerialNumber=devices[0]["SerialNumber"])
    iam.delete_virtual_mfa_device(SerialNumber=devices[1]["SerialNumber"])
    after = _summary(server)
    expected = {"Users": 2, "Groups": 1, "Roles": 1, "InstanceProfiles": 0, "Policies": 1}
    expected |= {"PolicyVersionsInUse": 1, "MFADevices": 1, "MFADevicesInUse": 0}
    assert {k: after[k] - before[k] for k in expected} == expected
    _store_agrees(server, server.account_id)


def test_a_failed_write_counts_nothing(server: Server, unique: str) -> None:
    iam = server.client("iam")
    iam.create_user(UserName=f"{unique}-dup")
    before = _summary(server)
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException):
        iam.create_user(UserName=f"{unique}-dup")
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
        iam.create_policy(PolicyName=f"{unique}-bad", PolicyDocument="{")
    assert _summary(server) == before


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_counts_the_rows_already_there(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'old.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("module_pg_database")
    )
    db = Database(url, pool=False)
    try:
        migrate(db, "0014")
        with db.transaction() as conn:
            conn.execute(
                text(
                    "INSERT INTO accounts (account_id, policy_epoch, created_at) "
                    "VALUES ('111122223333', 0, CURRENT_TIMESTAMP)"
                )
            )
            for i in range(4):
                conn.execute(
                    text(
                        "INSERT INTO users (user_id, account_id, name, name_key, path, created_at) "
                        f"VALUES ('AIDAOLD{i}', '111122223333', 'u{i}', 'u{i}', '/', CURRENT_TIMESTAMP)"
                    )
                )
        migrate(db, "head")
        with db.read() as conn:
            assert accounts.summary_counts(conn, "111122223333")["Users"] == 4
            assert {
                k: accounts.summary_counts(conn, "111122223333")[k] for k in KEPT
            } == accounts.counted_summary(conn, "111122223333")
        migrate(db, "0014", down=True)  # and back: the table and its triggers go
        with db.transaction() as conn:
            conn.execute(text("DELETE FROM users WHERE user_id = 'AIDAOLD0'"))
    finally:
        db.dispose()
