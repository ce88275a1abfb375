"""Signing certificates through boto3: upload, list, status, delete, AWS's quota and recorded refusals,
a renamed user keeping its certificates, and DeleteUser refused while one exists."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.integration.credential_helpers import certificate, denied_text, error, rsa_key, unprivileged
from tests.integration.test_accounts import client


def _user(iam: Any, unique: str) -> str:
    name = f"sc-{unique}"
    iam.create_user(UserName=name)
    return name


def _upload(iam: Any, name: str) -> dict[str, Any]:
    return dict(
        iam.upload_signing_certificate(UserName=name, CertificateBody=certificate(rsa_key()))["Certificate"]
    )


def test_upload_returns_awss_shape(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    body = certificate(rsa_key())
    cert = iam.upload_signing_certificate(UserName=name, CertificateBody=body)["Certificate"]
    assert cert["UserName"] == name and cert["CertificateBody"] == body and cert["Status"] == "Active"
    assert len(cert["CertificateId"]) >= 24 and cert["CertificateId"].isalnum()
    assert cert["UploadDate"].tzinfo is not None


def test_list_update_delete_as_aws_recorded(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    cert = _upload(iam, name)
    listed = iam.list_signing_certificates(UserName=name)
    assert listed["IsTruncated"] is False
    assert [(c["CertificateId"], c["Status"], c["UserName"]) for c in listed["Certificates"]] == [
        (cert["CertificateId"], "Active", name)
    ]
    iam.update_signing_certificate(UserName=name, CertificateId=cert["CertificateId"], Status="Inactive")
    assert iam.list_signing_certificates(UserName=name)["Certificates"][0]["Status"] == "Inactive"
    iam.update_signing_certificate(UserName=name, CertificateId=cert["CertificateId"], Status="Active")
    assert iam.list_signing_certificates(UserName=name)["Certificates"][0]["Status"] == "Active"
    iam.delete_signing_certificate(UserName=name, CertificateId=cert["CertificateId"])
    assert iam.list_signing_certificates(UserName=name)["Certificates"] == []


@pytest.mark.parametrize("call", ["upload", "list", "update", "delete"])
def test_unknown_user_gets_awss_recorded_text(iam: Any, call: str) -> None:
    params: dict[str, Any] = {"UserName": "nonexistent-user"}
    params |= {
        "upload": {"CertificateBody": certificate(rsa_key())},
        "list": {},
        "update": {"CertificateId": "NONEXISTENTCERTID12345678901", "Status": "Inactive"},
        "delete": {"CertificateId": "NONEXISTENTCERTID12345678901"},
    }[call]
    with pytest.raises(ClientError) as exc:
        getattr(iam, f"{call}_signing_certificate" + ("s" if call == "list" else ""))(**params)
    assert error(exc) == ("NoSuchEntity", "The user with name nonexistent-user cannot be found.", 404)


@pytest.mark.parametrize("call", ["update", "delete"])
def test_unknown_certificate_gets_awss_recorded_text(iam: Any, unique: str, call: str) -> None:
    name = _user(iam, unique)
    params = {"UserName": name, "CertificateId": "NONEXISTENTCERTID12345678901"}
    with pytest.raises(ClientError) as exc:
        getattr(iam, f"{call}_signing_certificate")(
            **params, **({"Status": "Inactive"} if call == "update" else {})
        )
    assert error(exc) == (
        "NoSuchEntity",
        "The Certificate with id NONEXISTENTCERTID12345678901 cannot be found.",
        404,
    )


def test_malformed_certificate_gets_awss_recorded_text(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    with pytest.raises(ClientError) as exc:
        iam.upload_signing_certificate(UserName=name, CertificateBody="invalid-certificate-body")
    assert error(exc) == ("MalformedCertificate", "Certificate invalid-certificate-body is malformed.", 400)


def test_an_expired_certificate_is_refused(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    with pytest.raises(ClientError) as exc:
        iam.upload_signing_certificate(
            UserName=name, CertificateBody=certificate(rsa_key(), days=-1, not_before_days=-10)
        )
    assert error(exc)[0::2] == ("MalformedCertificate", 400)


def test_at_most_two_certificates_per_user_as_aws_recorded(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    _upload(iam, name)
    _upload(iam, name)
    with pytest.raises(ClientError) as exc:
        _upload(iam, name)
    assert error(exc) == ("LimitExceeded", "Cannot exceed quota for CertificatesPerUser: 2", 409)


def test_the_same_certificate_twice_in_an_account_is_a_duplicate(iam: Any, unique: str) -> None:
    first, second = _user(iam, unique), _user(iam, f"b{unique}")
    body = certificate(rsa_key())
    iam.upload_signing_certificate(UserName=first, CertificateBody=body)
    with pytest.raises(ClientError) as exc:
        iam.upload_signing_certificate(UserName=second, CertificateBody=body)
    assert error(exc)[0::2] == ("DuplicateCertificate", 409)


def test_a_user_manages_its_own_certificates_without_a_user_name(
    server: Server, iam: Any, unique: str
) -> None:
    name = _user(iam, unique)
    iam.put_user_policy(
        UserName=name,
        PolicyName="own",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}',
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    own = server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    cert = own.upload_signing_certificate(CertificateBody=certificate(rsa_key()))["Certificate"]  # type: ignore[attr-defined]
    assert cert["UserName"] == name
    listed = iam.list_signing_certificates(UserName=name)["Certificates"]
    assert [c["CertificateId"] for c in listed] == [cert["CertificateId"]]


def test_a_renamed_user_keeps_its_certificates(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    cert = _upload(iam, name)
    iam.update_user(UserName=name, NewUserName=f"{name}-new")
    listed = iam.list_signing_certificates(UserName=f"{name}-new")["Certificates"]
    assert [(c["CertificateId"], c["UserName"]) for c in listed] == [(cert["CertificateId"], f"{name}-new")]


def test_delete_user_is_refused_while_it_has_a_certificate(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    cert = _upload(iam, name)
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=name)
    assert error(exc) == ("DeleteConflict", "Cannot delete entity, must delete certificates first.", 409)
    iam.delete_signing_certificate(UserName=name, CertificateId=cert["CertificateId"])
    iam.delete_user(UserName=name)


def test_a_user_without_permission_is_denied(server: Server, iam: Any, unique: str) -> None:
    target = _user(iam, unique)
    client, arn = unprivileged(server, iam, f"nop-{unique}")
    with pytest.raises(ClientError) as exc:
        client.list_signing_certificates(UserName=target)
    resource = f"arn:aws:iam::{server.account_id}:user/{target}"
    assert error(exc) == ("AccessDenied", denied_text(arn, "ListSigningCertificates", resource), 403)


def test_the_root_has_its_own_certificates(server: Server) -> None:
    root = server.new_account()
    iam = client(server, "iam", root)
    cert = iam.upload_signing_certificate(CertificateBody=certificate(rsa_key()))["Certificate"]
    listed = iam.list_signing_certificates()["Certificates"]
    assert [c["CertificateId"] for c in listed] == [cert["CertificateId"]]
    iam.update_signing_certificate(CertificateId=cert["CertificateId"], Status="Inactive")
    assert iam.list_signing_certificates()["Certificates"][0]["Status"] == "Inactive"
    iam.delete_signing_certificate(CertificateId=cert["CertificateId"])
    assert iam.list_signing_certificates()["Certificates"] == []
