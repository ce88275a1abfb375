"""SSH public keys through boto3: ssh-rsa and ssh-ed25519, MD5 fingerprints, SSH and PEM encodings,
AWS's quota and refusals, a renamed user keeping its keys, and DeleteUser refused while they exist."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.conftest import Server
from tests.integration.credential_helpers import denied_text, error, rsa_key, ssh_text, unprivileged


def _md5(ssh: str) -> str:
    digest = hashlib.md5(base64.b64decode(ssh.split()[1]), usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def _user(iam: Any, unique: str) -> str:
    name = f"ssh-{unique}"
    iam.create_user(UserName=name)
    return name


def test_upload_rsa_key_returns_awss_shape_and_md5_fingerprint(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    body = ssh_text(rsa_key(), "me@example")
    key = iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=body)["SSHPublicKey"]
    assert key["UserName"] == name and key["Status"] == "Active" and key["SSHPublicKeyBody"] == body
    assert key["SSHPublicKeyId"].startswith("APKA") and len(key["SSHPublicKeyId"]) == 20
    assert key["Fingerprint"] == _md5(body) and key["UploadDate"].tzinfo is not None


def test_ed25519_key_is_accepted_and_read_back_in_both_encodings(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    private = ed25519.Ed25519PrivateKey.generate()
    body = ssh_text(private)
    key_id = iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=body)["SSHPublicKey"]["SSHPublicKeyId"]
    ssh = iam.get_ssh_public_key(UserName=name, SSHPublicKeyId=key_id, Encoding="SSH")["SSHPublicKey"]
    assert ssh["SSHPublicKeyBody"] == body and ssh["Fingerprint"] == _md5(body)
    pem = iam.get_ssh_public_key(UserName=name, SSHPublicKeyId=key_id, Encoding="PEM")["SSHPublicKey"]
    expected = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert pem["SSHPublicKeyBody"] == expected.decode()


def test_a_pem_encoded_rsa_key_is_kept_in_ssh_encoding(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    private = rsa_key()
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=pem.decode())["SSHPublicKey"]
    assert key["SSHPublicKeyBody"] == ssh_text(private)
    assert key["Fingerprint"] == _md5(ssh_text(private))


def test_list_update_delete(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    key_id = iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=ssh_text(rsa_key()))["SSHPublicKey"][
        "SSHPublicKeyId"
    ]
    listed = iam.list_ssh_public_keys(UserName=name)
    assert [(k["SSHPublicKeyId"], k["Status"], k["UserName"]) for k in listed["SSHPublicKeys"]] == [
        (key_id, "Active", name)
    ]
    assert listed["IsTruncated"] is False
    iam.update_ssh_public_key(UserName=name, SSHPublicKeyId=key_id, Status="Inactive")
    got = iam.get_ssh_public_key(UserName=name, SSHPublicKeyId=key_id, Encoding="SSH")["SSHPublicKey"]
    assert got["Status"] == "Inactive"
    iam.delete_ssh_public_key(UserName=name, SSHPublicKeyId=key_id)
    assert iam.list_ssh_public_keys(UserName=name)["SSHPublicKeys"] == []


@pytest.mark.parametrize("call", ["get", "update", "delete"])
def test_unknown_key_id_gets_awss_recorded_text(iam: Any, unique: str, call: str) -> None:
    name = _user(iam, unique)
    params = {"UserName": name, "SSHPublicKeyId": "APKAXXXXXXXXXXXXXXXXX"}
    extra = {"get": {"Encoding": "SSH"}, "update": {"Status": "Inactive"}, "delete": {}}[call]
    with pytest.raises(ClientError) as exc:
        getattr(iam, f"{call}_ssh_public_key")(**params, **extra)
    assert error(exc) == (
        "NoSuchEntity",
        "The Public Key with id APKAXXXXXXXXXXXXXXXXX cannot be found.",
        404,
    )


def test_another_users_key_is_not_found(iam: Any, unique: str) -> None:
    owner, other = _user(iam, unique), _user(iam, f"o{unique}")
    key_id = iam.upload_ssh_public_key(UserName=owner, SSHPublicKeyBody=ssh_text(rsa_key()))["SSHPublicKey"][
        "SSHPublicKeyId"
    ]
    with pytest.raises(ClientError) as exc:
        iam.delete_ssh_public_key(UserName=other, SSHPublicKeyId=key_id)
    assert error(exc) == ("NoSuchEntity", f"The Public Key with id {key_id} cannot be found.", 404)


def test_unknown_user_is_refused(iam: Any, unique: str) -> None:
    with pytest.raises(ClientError) as exc:
        iam.upload_ssh_public_key(UserName=f"nobody-{unique}", SSHPublicKeyBody=ssh_text(rsa_key()))
    assert error(exc) == ("NoSuchEntity", f"The user with name nobody-{unique} cannot be found.", 404)


def test_the_same_key_twice_is_a_duplicate(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    body = ssh_text(rsa_key())
    iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=body)
    with pytest.raises(ClientError) as exc:
        iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=body + " other-comment")
    assert error(exc)[0::2] == ("DuplicateSSHPublicKey", 400)


def test_at_most_five_keys_per_user(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    for _ in range(5):
        iam.upload_ssh_public_key(
            UserName=name, SSHPublicKeyBody=ssh_text(ed25519.Ed25519PrivateKey.generate())
        )
    with pytest.raises(ClientError) as exc:
        iam.upload_ssh_public_key(
            UserName=name, SSHPublicKeyBody=ssh_text(ed25519.Ed25519PrivateKey.generate())
        )
    assert error(exc)[0::2] == ("LimitExceeded", 409)
    assert len(iam.list_ssh_public_keys(UserName=name)["SSHPublicKeys"]) == 5


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not a key", "UnrecognizedPublicKeyEncoding"),
        ("ecdsa-sha2-nistp256 AAAAE2VjZHNh", "UnrecognizedPublicKeyEncoding"),
        ("ssh-rsa AAAA!!notbase64", "InvalidPublicKey"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "InvalidPublicKey"),
    ],
)
def test_malformed_keys_are_refused(iam: Any, unique: str, body: str, code: str) -> None:
    name = _user(iam, unique)
    with pytest.raises(ClientError) as exc:
        iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=body)
    assert error(exc)[0::2] == (code, 400)


def test_an_rsa_key_under_2048_bits_is_invalid(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    with pytest.raises(ClientError) as exc:
        iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=ssh_text(rsa_key(1024)))
    assert error(exc)[0::2] == ("InvalidPublicKey", 400)


def test_a_renamed_user_keeps_its_keys(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    key_id = iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=ssh_text(rsa_key()))["SSHPublicKey"][
        "SSHPublicKeyId"
    ]
    iam.update_user(UserName=name, NewUserName=f"{name}-new")
    keys = iam.list_ssh_public_keys(UserName=f"{name}-new")["SSHPublicKeys"]
    assert [(k["SSHPublicKeyId"], k["UserName"]) for k in keys] == [(key_id, f"{name}-new")]


def test_delete_user_is_refused_while_it_has_a_key(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    key_id = iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=ssh_text(rsa_key()))["SSHPublicKey"][
        "SSHPublicKeyId"
    ]
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=name)
    assert error(exc) == (
        "DeleteConflict",
        "Cannot delete entity, must remove referenced objects first.",
        409,
    )
    iam.delete_ssh_public_key(UserName=name, SSHPublicKeyId=key_id)
    iam.delete_user(UserName=name)


def test_a_user_without_permission_is_denied(server: Server, iam: Any, unique: str) -> None:
    target = _user(iam, unique)
    client, arn = unprivileged(server, iam, f"nop-{unique}")
    with pytest.raises(ClientError) as exc:
        client.upload_ssh_public_key(UserName=target, SSHPublicKeyBody=ssh_text(rsa_key()))
    resource = f"arn:aws:iam::{server.account_id}:user/{target}"
    assert error(exc) == ("AccessDenied", denied_text(arn, "UploadSSHPublicKey", resource), 403)


def test_keys_page_in_upload_order(iam: Any, unique: str) -> None:
    name = _user(iam, unique)
    made = [
        iam.upload_ssh_public_key(
            UserName=name, SSHPublicKeyBody=ssh_text(ed25519.Ed25519PrivateKey.generate())
        )["SSHPublicKey"]["SSHPublicKeyId"]
        for _ in range(3)
    ]
    first = iam.list_ssh_public_keys(UserName=name, MaxItems=2)
    assert first["IsTruncated"] is True
    rest = iam.list_ssh_public_keys(UserName=name, Marker=first["Marker"])
    assert [k["SSHPublicKeyId"] for k in first["SSHPublicKeys"] + rest["SSHPublicKeys"]] == made
