"""Last-used data kept current by real use: PasswordLastUsed by console sign-in, RoleLastUsed by the
calls of a role's sessions (IAM's, STS's and the gateway's), AccessKeyLastUsed by gateway calls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server, stop_server
from tests.integration.authz_helpers import Principal, account_trust, allow, doc
from tests.integration.gateway_helpers import moto_backend
from tests.integration.test_signin import signin

PASSWORD = "LastUsed-Passw0rd!"


def _recent(value: datetime) -> bool:
    return value.tzinfo is not None and abs(value - datetime.now(UTC)) < timedelta(minutes=5)


def _client(server: Server, service: str, creds: dict[str, Any], region: str) -> Any:
    """A boto3 client of temporary or long-term credentials, signing for `region`."""
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
        config=Config(retries={"max_attempts": 1}),
    )


def _role(iam: Any, name: str, account: str) -> dict[str, Any]:
    return dict(iam.create_role(RoleName=name, AssumeRolePolicyDocument=account_trust(account))["Role"])


def _assume(server: Server, iam: Any, unique: str, role_arn: str) -> dict[str, Any]:
    """Credentials of a session of the role, assumed by a new user allowed to assume it."""
    user = Principal(server, iam, f"assumer-{unique}", allow("sts:AssumeRole", role_arn))
    return dict(user.sts.assume_role(RoleArn=role_arn, RoleSessionName="sess")["Credentials"])


# -- PasswordLastUsed -------------------------------------------------------------------------------


def test_console_sign_in_sets_password_last_used(server: Server, iam: Any, unique: str) -> None:
    name = f"pwd-{unique}"
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password=PASSWORD)
    assert "PasswordLastUsed" not in iam.get_user(UserName=name)["User"]
    done = signin(server, server.account_id, name, PASSWORD)
    assert done.returncode == 0, done.stderr
    used = iam.get_user(UserName=name)["User"]["PasswordLastUsed"]
    assert _recent(used)
    pages = iam.get_paginator("list_users").paginate()
    listed = [u for page in pages for u in page["Users"] if u["UserName"] == name]
    assert listed[0]["PasswordLastUsed"] == used


def test_a_wrong_password_is_no_use(server: Server, iam: Any, unique: str) -> None:
    name = f"pwd-wrong-{unique}"
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password=PASSWORD)
    done = signin(server, server.account_id, name, PASSWORD + "x")
    assert done.returncode != 0
    assert "PasswordLastUsed" not in iam.get_user(UserName=name)["User"]


def test_a_second_sign_in_within_five_minutes_keeps_the_first(server: Server, iam: Any, unique: str) -> None:
    name = f"pwd-twice-{unique}"
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password=PASSWORD)
    assert signin(server, server.account_id, name, PASSWORD).returncode == 0
    first = iam.get_user(UserName=name)["User"]["PasswordLastUsed"]
    assert signin(server, server.account_id, name, PASSWORD).returncode == 0
    assert iam.get_user(UserName=name)["User"]["PasswordLastUsed"] == first


# -- RoleLastUsed -----------------------------------------------------------------------------------


def test_assuming_a_role_is_its_use(server: Server, iam: Any, unique: str) -> None:
    role = _role(iam, f"used-{unique}", server.account_id)
    assert iam.get_role(RoleName=role["RoleName"])["Role"]["RoleLastUsed"] == {}
    _assume(server, iam, unique, role["Arn"])
    used = iam.get_role(RoleName=role["RoleName"])["Role"]["RoleLastUsed"]
    assert _recent(used["LastUsedDate"]) and used["Region"] == "us-east-1"


def test_a_role_sessions_call_records_its_region(server: Server, iam: Any, unique: str) -> None:
    role = _role(iam, f"session-{unique}", server.account_id)
    creds = _assume(server, iam, unique, role["Arn"])
    assumed = iam.get_role(RoleName=role["RoleName"])["Role"]["RoleLastUsed"]
    identity = _client(server, "sts", creds, "eu-west-1").get_caller_identity()
    assert identity["Arn"].endswith(f":assumed-role/{role['RoleName']}/sess")
    used = iam.get_role(RoleName=role["RoleName"])["Role"]["RoleLastUsed"]
    assert used["Region"] == "eu-west-1" and used["LastUsedDate"] >= assumed["LastUsedDate"]
    details = iam.get_account_authorization_details(Filter=["Role"])["RoleDetailList"]
    assert [r["RoleLastUsed"] for r in details if r["RoleName"] == role["RoleName"]] == [used]


def test_an_old_session_never_marks_a_new_role_of_the_same_name(
    server: Server, iam: Any, unique: str
) -> None:
    name = f"reborn-{unique}"
    role = _role(iam, name, server.account_id)
    creds = _assume(server, iam, unique, role["Arn"])
    iam.delete_role(RoleName=name)
    _role(iam, name, server.account_id)
    _client(server, "sts", creds, "eu-west-1").get_caller_identity()  # the sealed token still opens
    assert iam.get_role(RoleName=name)["Role"]["RoleLastUsed"] == {}


def test_a_request_whose_signature_fails_is_no_use(server: Server, iam: Any, unique: str) -> None:
    role = _role(iam, f"forged-{unique}", server.account_id)
    creds = _assume(server, iam, unique, role["Arn"])
    forged = creds | {"SecretAccessKey": "x" * 40}
    with pytest.raises(ClientError) as refused:
        _client(server, "sts", forged, "eu-west-1").get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert iam.get_role(RoleName=role["RoleName"])["Role"]["RoleLastUsed"]["Region"] == "us-east-1"


def test_a_users_session_token_marks_no_role(server: Server, iam: Any, unique: str) -> None:
    role = _role(iam, f"untouched-{unique}", server.account_id)
    user = Principal(server, iam, f"tokens-{unique}", allow("sts:GetSessionToken"))
    creds = user.sts.get_session_token()["Credentials"]
    _client(server, "sts", creds, "eu-west-1").get_caller_identity()
    assert iam.get_role(RoleName=role["RoleName"])["Role"]["RoleLastUsed"] == {}


# -- the gateway ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`ostiary serve` with moto's server as the DynamoDB backend."""
    pytest.importorskip("moto.server", reason="moto's server is the gateway's test backend")
    backends = moto_backend(tmp_path_factory)
    backend = next(backends)
    data_dir = tmp_path_factory.mktemp("ostiary-last-used")
    server = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", "--backend", f"dynamodb={backend}"
    )
    yield server
    stop_server(server)
    backends.close()


def test_gateway_calls_record_key_and_role_use(gateway: Server, unique: str) -> None:
    iam = gateway.client("iam")
    list_tables = doc(allow("dynamodb:ListTables"))
    iam.create_user(UserName=f"gw-{unique}")
    iam.put_user_policy(UserName=f"gw-{unique}", PolicyName="p", PolicyDocument=list_tables)
    key = iam.create_access_key(UserName=f"gw-{unique}")["AccessKey"]
    _client(gateway, "dynamodb", key, "eu-west-1").list_tables()
    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert (used["ServiceName"], used["Region"]) == ("dynamodb", "eu-west-1") and _recent(
        used["LastUsedDate"]
    )

    role = _role(iam, f"gw-role-{unique}", gateway.account_id)
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="p", PolicyDocument=list_tables)
    creds = _assume(gateway, iam, unique, role["Arn"])
    _client(gateway, "dynamodb", creds, "ap-south-1").list_tables()
    assert iam.get_role(RoleName=role["RoleName"])["Role"]["RoleLastUsed"]["Region"] == "ap-south-1"
