"""Access keys through boto3: the quota, status, deletion, last use, and secrets sealed at rest."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import create_engine, text

from tests.conftest import Server

_IAM_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
)


def _grant_iam(iam, name: str) -> None:  # type: ignore[no-untyped-def]  # boto3 client
    """Let the user call IAM with its own keys (every call is authorized by its policies)."""
    iam.put_user_policy(UserName=name, PolicyName="iam-all", PolicyDocument=_IAM_ALL)


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def _user_with_key(iam, unique: str) -> tuple[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    name = f"k-{unique}"
    iam.create_user(UserName=name)
    return name, iam.create_access_key(UserName=name)["AccessKey"]


def test_create_access_key_returns_aws_shape(iam, unique: str) -> None:
    name, key = _user_with_key(iam, unique)
    assert key["UserName"] == name and key["Status"] == "Active"
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert len(key["SecretAccessKey"]) == 40
    assert key["CreateDate"].tzinfo is not None


def test_a_new_key_signs_requests(iam, server: Server, unique: str) -> None:
    name, key = _user_with_key(iam, unique)
    _grant_iam(iam, name)
    own = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    assert own.get_user()["User"]["UserName"] == name  # type: ignore[attr-defined]  # boto3 client


def test_at_most_two_keys_per_user(iam, unique: str) -> None:
    name, _ = _user_with_key(iam, unique)
    iam.create_access_key(UserName=name)
    with pytest.raises(ClientError) as exc:
        iam.create_access_key(UserName=name)
    assert _error(exc) == ("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", 409)
    assert len(iam.list_access_keys(UserName=name)["AccessKeyMetadata"]) == 2


def test_keys_page_in_creation_order_when_the_newer_id_sorts_first(iam, unique: str) -> None:
    # a Marker held the next key's id, compared against keys in creation order: the same page came back
    name = f"pager-{unique}"
    iam.create_user(UserName=name)
    for _ in range(60):
        first, second = (iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] for _ in range(2))
        if second < first:
            break
        for key in (first, second):
            iam.delete_access_key(UserName=name, AccessKeyId=key)
    assert second < first
    listed, pages = [], iam.get_paginator("list_access_keys").paginate(UserName=name, MaxItems=1)
    for page in pages.build_full_result()["AccessKeyMetadata"]:
        listed.append(page["AccessKeyId"])
    assert listed == [first, second]


def test_create_key_for_unknown_user_is_no_such_entity(iam, unique: str) -> None:
    with pytest.raises(ClientError) as exc:
        iam.create_access_key(UserName=f"ghost-{unique}")
    assert _error(exc) == ("NoSuchEntity", f"The user with name ghost-{unique} cannot be found.", 404)


def test_list_access_keys_shows_metadata_without_secrets(iam, unique: str) -> None:
    name, key = _user_with_key(iam, unique)
    listed = iam.list_access_keys(UserName=name)
    assert listed["IsTruncated"] is False
    (meta,) = listed["AccessKeyMetadata"]
    assert set(meta) == {"UserName", "AccessKeyId", "Status", "CreateDate"}
    assert meta["AccessKeyId"] == key["AccessKeyId"] and meta["Status"] == "Active"


def test_a_deactivated_key_is_refused_and_can_be_reactivated(iam, server: Server, unique: str) -> None:
    name, key = _user_with_key(iam, unique)
    _grant_iam(iam, name)
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"][0]["Status"] == "Inactive"
    own = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as exc:
        own.get_user()  # type: ignore[attr-defined]  # boto3 client
    assert _error(exc)[0] == "InvalidClientTokenId"
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Active")
    assert own.get_user()["User"]["UserName"] == name  # type: ignore[attr-defined]


def test_a_deleted_key_is_refused(iam, server: Server, unique: str) -> None:
    name, key = _user_with_key(iam, unique)
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"] == []
    own = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as exc:
        own.get_user()  # type: ignore[attr-defined]  # boto3 client
    assert _error(exc)[0] == "InvalidClientTokenId"


def test_update_unknown_key_is_no_such_entity(iam, unique: str) -> None:
    name, _ = _user_with_key(iam, unique)
    with pytest.raises(ClientError) as exc:
        iam.update_access_key(UserName=name, AccessKeyId="AKIAIOSFODNN7EXAMPLE", Status="Inactive")
    assert _error(exc) == (
        "NoSuchEntity",
        "The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found.",
        404,
    )


def test_another_users_key_is_not_found_under_this_user(iam, unique: str) -> None:
    _, key = _user_with_key(iam, unique)
    iam.create_user(UserName=f"other-{unique}")
    with pytest.raises(ClientError) as exc:
        iam.delete_access_key(UserName=f"other-{unique}", AccessKeyId=key["AccessKeyId"])
    assert _error(exc)[0] == "NoSuchEntity"


def test_a_user_manages_its_own_keys_without_naming_itself(iam, server: Server, unique: str) -> None:
    name, key = _user_with_key(iam, unique)
    _grant_iam(iam, name)
    own = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    second = own.create_access_key()["AccessKey"]  # type: ignore[attr-defined]  # boto3 client
    assert second["UserName"] == name
    listed = own.list_access_keys()["AccessKeyMetadata"]  # type: ignore[attr-defined]
    assert {k["AccessKeyId"] for k in listed} == {key["AccessKeyId"], second["AccessKeyId"]}
    own.delete_access_key(AccessKeyId=second["AccessKeyId"])  # type: ignore[attr-defined]
    assert len(iam.list_access_keys(UserName=name)["AccessKeyMetadata"]) == 1


def test_root_creates_and_deletes_a_root_key(iam, server: Server) -> None:
    key = iam.create_access_key()["AccessKey"]
    try:
        assert "UserName" not in key
        root = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
        assert root.get_user()["User"]["Arn"] == f"arn:aws:iam::{server.account_id}:root"  # type: ignore[attr-defined]
        ids = {k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]}
        assert {server.access_key_id, key["AccessKeyId"]} <= ids
    finally:
        iam.delete_access_key(AccessKeyId=key["AccessKeyId"])


def test_last_used_of_an_unused_key_is_not_applicable(iam, unique: str) -> None:
    name, key = _user_with_key(iam, unique)
    got = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    assert got["UserName"] == name
    assert got["AccessKeyLastUsed"] == {"ServiceName": "N/A", "Region": "N/A"}


def test_last_used_of_an_unknown_key_is_access_denied(iam, server: Server) -> None:
    with pytest.raises(ClientError) as exc:
        iam.get_access_key_last_used(AccessKeyId="AKIAIOSFODNN7EXAMPLE")
    assert _error(exc) == (
        "AccessDenied",
        f"User: arn:aws:iam::{server.account_id}:root is not authorized to perform iam:GetAccessKeyLastUsed "
        "on resource: access key AKIAIOSFODNN7EXAMPLE",
        403,
    )


def test_the_store_holds_no_clear_secret(iam, server: Server, unique: str) -> None:
    _, key = _user_with_key(iam, unique)
    secret = key["SecretAccessKey"].encode()
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT * FROM access_keys WHERE access_key_id = :k"), {"k": key["AccessKeyId"]}
            ).one()
    finally:
        engine.dispose()
    assert all(secret not in (v if isinstance(v, bytes) else str(v).encode()) for v in row)
    if server.backend == "sqlite":
        for path in server.data_dir.glob("ostiary.db*"):
            assert secret not in path.read_bytes()
