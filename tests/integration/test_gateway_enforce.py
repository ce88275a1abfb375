"""The gateway's rollout modes end to end: `ostiary serve --enforce enforced|soft|off` (or OSTIARY_ENFORCE)
with moto's server as the backend. Soft mode logs each would-be refusal and forwards the request; off
forwards whatever authenticates; enforced, the default, refuses. IAM and STS are enforced in every mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT, Server, start_server, stop_server
from tests.integration.gateway_helpers import moto_backend

pytest.importorskip(
    "moto.server", reason="moto's server is the gateway's test backend (pip install moto[server])"
)

LET_THROUGH = "soft mode let a refused request through"
KEY = {"Artist": {"S": "Acme"}, "Song": {"S": "Happy Day"}}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server on a free loopback port, shared by the servers of every mode."""
    yield from moto_backend(tmp_path_factory)


def _serve(backend: str, data_dir: Path, *flags: str, env: dict[str, str] | None = None) -> Server:
    return start_server(
        data_dir,
        f"sqlite:///{data_dir / 'ostiary.db'}",
        "sqlite",
        "--backend",
        f"dynamodb={backend}",
        "--backend",
        f"s3={backend}",
        *flags,
        env_extra=env,
    )


@pytest.fixture(scope="module")
def soft(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = _serve(backend, tmp_path_factory.mktemp("ostiary-soft"), "--enforce", "soft")
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def off(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = _serve(backend, tmp_path_factory.mktemp("ostiary-off"), env={"OSTIARY_ENFORCE": "off"})
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def enforced(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = _serve(backend, tmp_path_factory.mktemp("ostiary-enforced"))  # no flag: the default
    yield server
    stop_server(server)


def _table(server: Server) -> str:
    """A new table with one item, created by the account's root; its ARN."""
    name = f"Music-{uuid.uuid4().hex[:8]}"
    dynamodb: Any = server.client("dynamodb")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "Artist", "KeyType": "HASH"},
            {"AttributeName": "Song", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "Artist", "AttributeType": "S"},
            {"AttributeName": "Song", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=name, Item=KEY)
    return f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{name}"


def _user(server: Server, statements: list[dict[str, Any]]) -> tuple[str, tuple[str, str]]:
    """A new IAM user with one inline policy of `statements`: its ARN and its keys."""
    iam: Any = server.client("iam")
    name = f"gw-{uuid.uuid4().hex[:8]}"
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    document = {"Version": "2012-10-17", "Statement": statements}
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, (key["AccessKeyId"], key["SecretAccessKey"])


def _reader(server: Server, table_arn: str) -> tuple[str, tuple[str, str]]:
    return _user(server, [{"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": table_arn}])


def _intruder() -> dict[str, Any]:
    return {"Artist": {"S": "Intruder"}, "Song": {"S": uuid.uuid4().hex}}


def _stored(server: Server, table_arn: str, key: dict[str, Any]) -> bool:
    """Whether the backend holds the item, as the root reads it."""
    dynamodb: Any = server.client("dynamodb")
    return "Item" in dynamodb.get_item(TableName=table_arn.rsplit("/", 1)[1], Key=key)


def _let_through(server: Server) -> list[str]:
    text = (server.data_dir / "server.log").read_text(errors="replace")
    return [line for line in text.splitlines() if LET_THROUGH in line]


def test_soft_mode_forwards_a_refused_put_item_and_logs_one_line_of_who_what_and_why(soft: Server) -> None:
    table_arn = _table(soft)
    arn, keys = _reader(soft, table_arn)
    before = _let_through(soft)
    dynamodb: Any = soft.client("dynamodb", *keys)
    assert dynamodb.get_item(TableName=table_arn.rsplit("/", 1)[1], Key=KEY)["Item"] == KEY  # allowed
    item = _intruder()
    dynamodb.put_item(TableName=table_arn.rsplit("/", 1)[1], Item=item)
    assert _stored(soft, table_arn, item)
    lines = _let_through(soft)[len(before) :]
    assert len(lines) == 1, lines
    reason = "because no identity-based policy allows the dynamodb:PutItem action"
    for part in (f"principal={arn} ", "action=dynamodb:PutItem ", f"resource={table_arn} ", reason):
        assert part in lines[0], (part, lines[0])
    assert "decision=ImplicitDeny" in lines[0]
    assert keys[1] not in lines[0]


def test_soft_mode_deletes_each_refused_object_of_a_delete_objects_and_logs_it(soft: Server) -> None:
    admin: Any = soft.client("s3")
    bucket = f"soft-{uuid.uuid4().hex[:12]}"
    admin.create_bucket(Bucket=bucket)
    for key in ("public/a", "keep/b"):
        admin.put_object(Bucket=bucket, Key=key, Body=b"x")
    public = f"arn:aws:s3:::{bucket}/public/*"
    _, keys = _user(soft, [{"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": public}])
    before = _let_through(soft)
    s3: Any = soft.client("s3", *keys)
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "public/a"}, {"Key": "keep/b"}]})
    assert sorted(d["Key"] for d in answer["Deleted"]) == ["keep/b", "public/a"] and "Errors" not in answer
    assert admin.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    lines = _let_through(soft)[len(before) :]
    assert len(lines) == 1 and f"resource=arn:aws:s3:::{bucket}/keep/b " in lines[0], lines


def test_soft_mode_names_the_deny_statement_and_logs_no_secret_of_a_role_session(soft: Server) -> None:
    table_arn = _table(soft)
    iam: Any = soft.client("iam")
    name = f"gw-role-{uuid.uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
            {"Sid": "NoWrites", "Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": table_arn},
        ],
    }
    iam.put_role_policy(RoleName=name, PolicyName="writes", PolicyDocument=json.dumps(policy))
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    _, keys = _user(soft, [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}])
    sts: Any = soft.client("sts", *keys)
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="job")["Credentials"]
    session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    before = _let_through(soft)
    item = _intruder()
    dynamodb: Any = soft.client("dynamodb", *session)
    dynamodb.put_item(TableName=table_arn.rsplit("/", 1)[1], Item=item)
    assert _stored(soft, table_arn, item)
    (line,) = _let_through(soft)[len(before) :]
    assert f"principal=arn:aws:sts::{ACCOUNT}:assumed-role/{name}/job " in line
    assert "decision=ExplicitDeny" in line and "with an explicit deny in an identity-based policy" in line
    assert ":NoWrites (identity)" in line and "Deny " in line
    for secret in (creds["SecretAccessKey"], creds["SessionToken"], "Signature=", "Credential="):
        assert secret not in line


def test_soft_mode_still_requires_authentication(soft: Server) -> None:
    table_arn = _table(soft)
    _, (key_id, _secret) = _reader(soft, table_arn)
    dynamodb: Any = soft.client("dynamodb", key_id, "not-the-secret")
    with pytest.raises(ClientError) as refused:
        dynamodb.scan(TableName=table_arn.rsplit("/", 1)[1])
    assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_soft_mode_still_enforces_iam(soft: Server) -> None:
    table_arn = _table(soft)
    _, keys = _reader(soft, table_arn)
    iam: Any = soft.client("iam", *keys)
    with pytest.raises(ClientError) as refused:
        iam.create_user(UserName=f"gw-{uuid.uuid4().hex[:8]}")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_soft_mode_reaches_every_worker_process(backend: str, tmp_path: Path) -> None:
    server = _serve(backend, tmp_path / "workers", "--enforce", "soft", "--workers", "2")
    try:
        table_arn = _table(server)
        _, keys = _reader(server, table_arn)
        items = [_intruder() for _ in range(6)]  # new connections: the port's workers share them
        for item in items:
            dynamodb: Any = server.client("dynamodb", *keys)
            dynamodb.put_item(TableName=table_arn.rsplit("/", 1)[1], Item=item)
        assert all(_stored(server, table_arn, item) for item in items)
        assert len(_let_through(server)) == len(items)
    finally:
        stop_server(server)


def test_off_mode_forwards_a_put_item_no_policy_allows_and_logs_nothing(off: Server) -> None:
    table_arn = _table(off)
    _, keys = _reader(off, table_arn)  # GetItem only
    item = _intruder()
    dynamodb: Any = off.client("dynamodb", *keys)
    dynamodb.put_item(TableName=table_arn.rsplit("/", 1)[1], Item=item)
    assert _stored(off, table_arn, item)
    assert _let_through(off) == []
    assert "not authorized" not in (off.data_dir / "server.log").read_text(errors="replace")


def test_off_mode_still_requires_authentication(off: Server) -> None:
    table_arn = _table(off)
    dynamodb: Any = off.client("dynamodb", "AKIANOSUCHKEY0000000", "x")
    with pytest.raises(ClientError) as refused:
        dynamodb.scan(TableName=table_arn.rsplit("/", 1)[1])
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_the_default_mode_refuses_a_put_item_no_policy_allows(enforced: Server) -> None:
    table_arn = _table(enforced)
    arn, keys = _reader(enforced, table_arn)
    item = _intruder()
    dynamodb: Any = enforced.client("dynamodb", *keys)
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName=table_arn.rsplit("/", 1)[1], Item=item)
    error = refused.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"].startswith(f"User: {arn} is not authorized to perform: dynamodb:PutItem")
    assert not _stored(enforced, table_arn, item)
    assert _let_through(enforced) == []


@pytest.mark.parametrize(
    ("flags", "env"),
    [(["--enforce", "strict"], {}), ([], {"OSTIARY_ENFORCE": "Soft"})],
    ids=["flag", "variable"],
)
def test_a_bad_enforce_value_stops_serve_with_a_clear_message(
    tmp_path: Path, flags: list[str], env: dict[str, str]
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ostiary", "serve", "--data-dir", str(tmp_path), *flags],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, **env),
    )
    assert result.returncode == 2
    assert "Invalid value for '--enforce'" in result.stderr
    assert "'enforced', 'soft', 'off'" in result.stderr
    assert not (tmp_path / "ostiary.db").exists()  # stopped before opening a store
