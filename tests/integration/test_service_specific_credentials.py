"""Service-specific credentials through boto3: CodeCommit, Keyspaces and Bedrock, AWS's user-name and
password formats, status, reset, expiry, the quota, AWS's recorded refusals, renaming and DeleteUser."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import create_engine, text

from tests.conftest import Server
from tests.integration.credential_helpers import denied_text, error, unprivileged

_PASSWORD = re.compile(r"[A-Za-z0-9+/]{43}=")


def _user(iam: Any, unique: str) -> str:
    name = f"ssc-{unique}"
    iam.create_user(UserName=name)
    return name


def _create(iam: Any, name: str, service: str = "codecommit.amazonaws.com", **extra: Any) -> dict[str, Any]:
    made = iam.create_service_specific_credential(UserName=name, ServiceName=service, **extra)
    return dict(made["ServiceSpecificCredential"])


@pytest.mark.parametrize("service", ["codecommit.amazonaws.com", "cassandra.amazonaws.com"])
def test_create_returns_awss_user_name_and_password(
    server: Server, iam: Any, unique: str, service: str
) -> None:
    name = _user(iam, unique)
    cred = _create(iam, name, service)
    assert cred["ServiceUserName"] == f"{name}-at-{server.account_id}"
    assert _PASSWORD.fullmatch(cred["ServicePassword"])
    assert cred["ServiceName"] == service and cred["Status"] == "Active" and cred["UserName"] == name
    assert (
        cred["ServiceSpecificCredentialId"].startswith("ACCA")
        and len(cred["ServiceSpecificCredentialId"]) == 21
    )
    assert "ExpirationDate" not in cred


def test_bedrock_api_key_has_an_alias_a_secret_and_an_expiry(server: Server, iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    cred = _create(iam, name, "bedrock.amazonaws.com", CredentialAgeDays=30)
    alias = f"{name}-at-{server.account_id}"
    assert cred["ServiceCredentialAlias"] == alias and "ServiceUserName" not in cred
    secret = cred["ServiceCredentialSecret"]
    assert secret.startswith("ABSK") and base64.b64decode(secret[4:]).decode().startswith(f"{alias}:")
    assert (cred["ExpirationDate"] - cred["CreateDate"]).days == 30
    listed = iam.list_service_specific_credentials(UserName=name, ServiceName="bedrock.amazonaws.com")
    (meta,) = listed["ServiceSpecificCredentials"]
    assert meta["ServiceCredentialAlias"] == alias and "ServiceCredentialSecret" not in meta
    assert meta["ExpirationDate"] == cred["ExpirationDate"]


def test_list_update_reset_delete_as_aws_recorded(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    cred = _create(iam, name)
    cred_id = cred["ServiceSpecificCredentialId"]
    listed = iam.list_service_specific_credentials(UserName=name, ServiceName="codecommit.amazonaws.com")
    assert listed["IsTruncated"] is False
    (meta,) = listed["ServiceSpecificCredentials"]
    assert "ServicePassword" not in meta and meta["ServiceUserName"] == cred["ServiceUserName"]
    iam.update_service_specific_credential(
        UserName=name, ServiceSpecificCredentialId=cred_id, Status="Inactive"
    )
    assert (
        iam.list_service_specific_credentials(UserName=name)["ServiceSpecificCredentials"][0]["Status"]
        == "Inactive"
    )
    reset = iam.reset_service_specific_credential(UserName=name, ServiceSpecificCredentialId=cred_id)
    reset_cred = reset["ServiceSpecificCredential"]
    assert reset_cred["Status"] == "Inactive" and reset_cred["ServicePassword"] != cred["ServicePassword"]
    assert _PASSWORD.fullmatch(reset_cred["ServicePassword"])
    assert (
        iam.list_service_specific_credentials(UserName=name, ServiceName="cassandra.amazonaws.com")[
            "ServiceSpecificCredentials"
        ]
        == []
    )
    iam.delete_service_specific_credential(UserName=name, ServiceSpecificCredentialId=cred_id)
    assert iam.list_service_specific_credentials(UserName=name)["ServiceSpecificCredentials"] == []


@pytest.mark.parametrize("service", ["nonexistentservice.amazonaws.com", "lambda.amazonaws.com"])
def test_unsupported_service_gets_awss_recorded_text(iam: Any, unique: str, service: str) -> None:
    name = _user(iam, unique)
    expected = (
        "NoSuchEntity",
        f"No such service {service} is supported for Service Specific Credentials",
        404,
    )
    with pytest.raises(ClientError) as exc:
        _create(iam, name, service)
    assert error(exc) == expected
    with pytest.raises(ClientError) as exc:
        iam.list_service_specific_credentials(UserName=name, ServiceName=service)
    assert error(exc) == expected


def test_unknown_user_comes_before_unknown_service(iam: Any) -> None:
    with pytest.raises(ClientError) as exc:
        _create(iam, "non-existent-user", "nonexistentservice.amazonaws.com")
    assert error(exc) == ("NoSuchEntity", "The user with name non-existent-user cannot be found.", 404)


@pytest.mark.parametrize("call", ["update", "reset", "delete"])
def test_unknown_credential_gets_awss_recorded_text(iam: Any, unique: str, call: str) -> None:
    name = _user(iam, unique)
    params = {"UserName": name, "ServiceSpecificCredentialId": "satisfiesregexbutstillinvalid"}
    with pytest.raises(ClientError) as exc:
        getattr(iam, f"{call}_service_specific_credential")(
            **params, **({"Status": "Inactive"} if call == "update" else {})
        )
    assert error(exc) == ("NoSuchEntity", "No such credential satisfiesregexbutstillinvalid exists", 404)


def test_at_most_two_per_user_per_service(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    _create(iam, name)
    _create(iam, name)
    with pytest.raises(ClientError) as exc:
        _create(iam, name)
    assert error(exc)[0::2] == ("LimitExceeded", 409)
    _create(iam, name, "cassandra.amazonaws.com")  # another service has its own two


def test_all_users_lists_every_users_credentials(iam: Any, unique: str) -> None:
    first, second = _user(iam, unique), _user(iam, f"b{unique}")
    ids = {_create(iam, first, "cassandra.amazonaws.com")["ServiceSpecificCredentialId"]}
    ids.add(_create(iam, second, "cassandra.amazonaws.com")["ServiceSpecificCredentialId"])
    listed = iam.list_service_specific_credentials(AllUsers=True, ServiceName="cassandra.amazonaws.com")
    owners = {c["ServiceSpecificCredentialId"]: c["UserName"] for c in listed["ServiceSpecificCredentials"]}
    assert ids <= set(owners) and {owners[i] for i in ids} == {first, second}


def test_a_renamed_user_keeps_its_credentials_and_their_service_user_name(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    cred = _create(iam, name)
    iam.update_user(UserName=name, NewUserName=f"{name}-new")
    (meta,) = iam.list_service_specific_credentials(UserName=f"{name}-new")["ServiceSpecificCredentials"]
    assert meta["UserName"] == f"{name}-new" and meta["ServiceUserName"] == cred["ServiceUserName"]


def test_delete_user_is_refused_while_it_has_a_credential(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    cred = _create(iam, name)
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=name)
    assert error(exc) == (
        "DeleteConflict",
        "Cannot delete entity, must remove referenced objects first.",
        409,
    )
    iam.delete_service_specific_credential(
        UserName=name, ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"]
    )
    iam.delete_user(UserName=name)


def test_the_password_is_sealed_at_rest(server: Server, iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    cred = _create(iam, name)
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            sealed = conn.execute(
                text("SELECT secret_sealed FROM service_specific_credentials WHERE credential_id = :i"),
                {"i": cred["ServiceSpecificCredentialId"]},
            ).scalar_one()
    finally:
        engine.dispose()
    assert cred["ServicePassword"].encode() not in bytes(sealed)


def test_a_user_without_permission_is_denied(server: Server, iam: Any, unique: str) -> None:
    target = _user(iam, unique)
    client, arn = unprivileged(server, iam, f"nop-{unique}")
    with pytest.raises(ClientError) as exc:
        client.create_service_specific_credential(UserName=target, ServiceName="codecommit.amazonaws.com")
    resource = f"arn:aws:iam::{server.account_id}:user/{target}"
    assert error(exc) == ("AccessDenied", denied_text(arn, "CreateServiceSpecificCredential", resource), 403)
