"""Server certificates through boto3: upload with chain and key, the key checked against the certificate
and sealed at rest, expiry, paths, renaming, tags, AWS's quota and recorded refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import create_engine, text

from tests.conftest import Server
from tests.integration.credential_helpers import (
    certificate,
    denied_text,
    error,
    private_pem,
    rsa_key,
    unprivileged,
)
from tests.integration.test_accounts import client


def _material() -> tuple[str, str]:
    key = rsa_key()
    return certificate(key), private_pem(key)


def _upload(iam: Any, name: str, **extra: Any) -> dict[str, Any]:
    body, key = _material()
    made = iam.upload_server_certificate(
        ServerCertificateName=name, CertificateBody=body, PrivateKey=key, **extra
    )
    return dict(made)


def test_upload_get_list_delete_as_aws_recorded(server: Server, iam: Any, unique: str) -> None:
    name = f"cert-{unique}"
    key = rsa_key()
    body = certificate(key, days=100)
    made = iam.upload_server_certificate(
        ServerCertificateName=name, CertificateBody=body, PrivateKey=private_pem(key)
    )
    meta = made["ServerCertificateMetadata"]
    assert meta["Arn"] == f"arn:aws:iam::{server.account_id}:server-certificate/{name}"
    assert meta["Path"] == "/" and meta["ServerCertificateName"] == name
    assert meta["ServerCertificateId"].startswith("ASCA") and "Tags" not in made
    assert 99 <= (meta["Expiration"] - meta["UploadDate"]).days <= 100
    got = iam.get_server_certificate(ServerCertificateName=name)["ServerCertificate"]
    assert got["ServerCertificateMetadata"] == meta and got["CertificateBody"] == body.strip()
    assert got["Tags"] == [] and "CertificateChain" not in got and "PrivateKey" not in got
    listed = iam.list_server_certificates()["ServerCertificateMetadataList"]
    assert meta in listed
    iam.delete_server_certificate(ServerCertificateName=name)
    with pytest.raises(ClientError) as exc:
        iam.get_server_certificate(ServerCertificateName=name)
    assert error(exc) == ("NoSuchEntity", f"The Server Certificate with name {name} cannot be found.", 404)


def test_path_and_path_prefix(server: Server, iam: Any, unique: str) -> None:
    name = f"cert-{unique}"
    meta = _upload(iam, name, Path=f"/p{unique}/")["ServerCertificateMetadata"]
    assert meta["Arn"] == f"arn:aws:iam::{server.account_id}:server-certificate/p{unique}/{name}"
    listed = iam.list_server_certificates(PathPrefix=f"/p{unique}/")["ServerCertificateMetadataList"]
    assert [m["ServerCertificateName"] for m in listed] == [name]


def test_a_chain_is_kept_and_checked(iam: Any, unique: str) -> None:
    ca_key, leaf_key = rsa_key(), rsa_key()
    ca = certificate(ca_key, "Test CA")
    leaf = certificate(leaf_key, "example.com", issuer=(ca_key, "Test CA"))
    iam.upload_server_certificate(
        ServerCertificateName=f"chain-{unique}",
        CertificateBody=leaf,
        PrivateKey=private_pem(leaf_key),
        CertificateChain=ca,
    )
    got = iam.get_server_certificate(ServerCertificateName=f"chain-{unique}")["ServerCertificate"]
    assert got["CertificateChain"] == ca.strip()
    other = certificate(rsa_key(), "Other CA")
    with pytest.raises(ClientError) as exc:
        iam.upload_server_certificate(
            ServerCertificateName=f"bad-{unique}",
            CertificateBody=leaf,
            PrivateKey=private_pem(leaf_key),
            CertificateChain=other,
        )
    code, message, status = error(exc)
    assert (code, status) == ("MalformedCertificate", 400)
    assert message.startswith("Unable to validate certificate chain.")


def test_a_private_key_of_another_certificate_is_a_mismatch(iam: Any, unique: str) -> None:
    body, _ = _material()
    with pytest.raises(ClientError) as exc:
        iam.upload_server_certificate(
            ServerCertificateName=f"cert-{unique}", CertificateBody=body, PrivateKey=private_pem(rsa_key())
        )
    assert error(exc)[0::2] == ("KeyPairMismatch", 400)


def test_a_malformed_body_gets_awss_text(iam: Any, unique: str) -> None:
    _, key = _material()
    with pytest.raises(ClientError) as exc:
        iam.upload_server_certificate(
            ServerCertificateName=f"cert-{unique}", CertificateBody="garbage", PrivateKey=key
        )
    assert error(exc) == (
        "MalformedCertificate",
        "Unable to parse certificate. Please ensure the certificate is in PEM format.",
        400,
    )


def test_an_expired_certificate_or_a_malformed_key_is_refused(iam: Any, unique: str) -> None:
    key = rsa_key()
    expired = certificate(key, days=-1, not_before_days=-30)
    with pytest.raises(ClientError) as exc:
        iam.upload_server_certificate(
            ServerCertificateName=f"e-{unique}", CertificateBody=expired, PrivateKey=private_pem(key)
        )
    assert error(exc)[0::2] == ("MalformedCertificate", 400)
    with pytest.raises(ClientError) as exc:
        iam.upload_server_certificate(
            ServerCertificateName=f"k-{unique}", CertificateBody=certificate(key), PrivateKey="nope"
        )
    assert error(exc)[0::2] == ("MalformedCertificate", 400)


def test_the_same_name_twice_gets_awss_recorded_text(iam: Any, unique: str) -> None:
    name = f"cert-{unique}"
    _upload(iam, name)
    with pytest.raises(ClientError) as exc:
        _upload(iam, name.upper())
    assert error(exc) == (
        "EntityAlreadyExists",
        f"The Server Certificate with name {name.upper()} already exists.",
        409,
    )


def test_unknown_names_get_awss_recorded_text(iam: Any) -> None:
    expected = (
        "NoSuchEntity",
        "The Server Certificate with name nonexistent-certificate cannot be found.",
        404,
    )
    for call in (iam.get_server_certificate, iam.delete_server_certificate, iam.list_server_certificate_tags):
        with pytest.raises(ClientError) as exc:
            call(ServerCertificateName="nonexistent-certificate")
        assert error(exc) == expected


def test_rename_and_move_keep_the_certificate_and_its_tags(server: Server, iam: Any, unique: str) -> None:
    name = f"cert-{unique}"
    made = _upload(iam, name, Tags=[{"Key": "team", "Value": "web"}])
    assert made["Tags"] == [{"Key": "team", "Value": "web"}]
    iam.update_server_certificate(
        ServerCertificateName=name, NewServerCertificateName=f"{name}-new", NewPath="/moved/"
    )
    meta = iam.get_server_certificate(ServerCertificateName=f"{name}-new")["ServerCertificate"]
    assert (
        meta["ServerCertificateMetadata"]["ServerCertificateId"]
        == made["ServerCertificateMetadata"]["ServerCertificateId"]
    )
    assert (
        meta["ServerCertificateMetadata"]["Arn"]
        == f"arn:aws:iam::{server.account_id}:server-certificate/moved/{name}-new"
    )
    assert meta["Tags"] == [{"Key": "team", "Value": "web"}]
    _upload(iam, name)
    with pytest.raises(ClientError) as exc:
        iam.update_server_certificate(ServerCertificateName=name, NewServerCertificateName=f"{name}-new")
    assert error(exc) == (
        "EntityAlreadyExists",
        f"The Server Certificate with name {name}-new already exists.",
        409,
    )


def test_tag_untag_list_tags(iam: Any, unique: str) -> None:
    name = f"cert-{unique}"
    _upload(iam, name)
    iam.tag_server_certificate(
        ServerCertificateName=name, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    )
    assert iam.list_server_certificate_tags(ServerCertificateName=name)["Tags"] == [
        {"Key": "a", "Value": "1"},
        {"Key": "b", "Value": "2"},
    ]
    page = iam.list_server_certificate_tags(ServerCertificateName=name, MaxItems=1)
    assert page["IsTruncated"] is True and page["Tags"] == [{"Key": "a", "Value": "1"}]
    iam.untag_server_certificate(ServerCertificateName=name, TagKeys=["A"])
    assert iam.list_server_certificate_tags(ServerCertificateName=name)["Tags"] == [
        {"Key": "b", "Value": "2"}
    ]
    with pytest.raises(ClientError) as exc:
        iam.tag_server_certificate(ServerCertificateName=name, Tags=[{"Key": "aws:x", "Value": "1"}])
    assert error(exc) == ("InvalidInput", "Tag keys beginning with aws: are reserved for system use.", 400)


def test_the_private_key_is_sealed_at_rest(server: Server, iam: Any, unique: str) -> None:
    name = f"cert-{unique}"
    body, key = _material()
    iam.upload_server_certificate(ServerCertificateName=name, CertificateBody=body, PrivateKey=key)
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT * FROM server_certificates WHERE name = :n"), {"n": name}).one()
    finally:
        engine.dispose()
    secret_line = key.splitlines()[1].encode()
    assert all(secret_line not in (v if isinstance(v, bytes) else str(v).encode()) for v in row)


def test_at_most_twenty_per_account(server: Server) -> None:
    root = server.new_account()
    iam = client(server, "iam", root)
    body, key = _material()
    for i in range(20):
        iam.upload_server_certificate(ServerCertificateName=f"c{i}", CertificateBody=body, PrivateKey=key)
    with pytest.raises(ClientError) as exc:
        iam.upload_server_certificate(ServerCertificateName="c20", CertificateBody=body, PrivateKey=key)
    assert error(exc) == ("LimitExceeded", "Cannot exceed quota for ServerCertificatesPerAccount: 20", 409)


def test_a_user_without_permission_is_denied(server: Server, iam: Any, unique: str) -> None:
    client, arn = unprivileged(server, iam, f"nop-{unique}")
    body, key = _material()
    with pytest.raises(ClientError) as exc:
        client.upload_server_certificate(
            ServerCertificateName=f"cert-{unique}", CertificateBody=body, PrivateKey=key
        )
    resource = f"arn:aws:iam::{server.account_id}:server-certificate/cert-{unique}"
    assert error(exc) == ("AccessDenied", denied_text(arn, "UploadServerCertificate", resource), 403)


def _allowed_user(server: Server, iam: Any, name: str, statement: dict[str, Any]) -> Any:
    own, _ = unprivileged(server, iam, name)
    document = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]})
    iam.put_user_policy(UserName=name, PolicyName="certs", PolicyDocument=document)
    return own


def test_a_policy_sees_the_stored_path_and_tags(server: Server, iam: Any, unique: str) -> None:
    moved, tagged, plain = f"m-{unique}", f"t-{unique}", f"p-{unique}"
    _upload(iam, moved, Path=f"/moved{unique}/")
    _upload(iam, tagged, Tags=[{"Key": "team", "Value": "web"}])
    _upload(iam, plain)
    by_path = _allowed_user(
        server,
        iam,
        f"path-{unique}",
        {
            "Action": "iam:GetServerCertificate",
            "Resource": f"arn:aws:iam::*:server-certificate/moved{unique}/*",
        },
    )
    by_tag = _allowed_user(
        server,
        iam,
        f"tag-{unique}",
        {
            "Action": "iam:GetServerCertificate",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "web"}},
        },
    )
    assert by_path.get_server_certificate(ServerCertificateName=moved)["ServerCertificate"]
    assert by_tag.get_server_certificate(ServerCertificateName=tagged)["ServerCertificate"]
    for caller in (by_path, by_tag):
        with pytest.raises(ClientError) as exc:
            caller.get_server_certificate(ServerCertificateName=plain)
        assert error(exc)[0::2] == ("AccessDenied", 403)
