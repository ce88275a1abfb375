"""SSH public keys of users (CodeCommit's): ssh-rsa and ssh-ed25519, in SSH or PEM encoding.

A key's fingerprint is the MD5 digest of its SSH wire blob in colon-separated hex, as `ssh-keygen -E md5
-l` shows it (AWS's SSHPublicKey.Fingerprint: "The MD5 message digest of the SSH public key").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ostiary import ids
from ostiary.errors import (
    DuplicateSSHPublicKeyException,
    InvalidPublicKeyException,
    LimitExceededException,
    NoSuchEntityException,
    UnrecognizedPublicKeyEncodingException,
)
from ostiary.services import Context, operation
from ostiary.services.users import own_name
from ostiary.services.users import require as require_user
from ostiary.store import ssh_public_keys as store
from ostiary.store.pages import page_list
from ostiary.store.users import utc

KEYS_PER_USER = 5  # AWS's IAM quotas page: SSH public keys per user, 5
_MIN_RSA_BITS = 2048  # UploadSSHPublicKey: "The minimum bit-length of the public key is 2048 bits"
_SSH_TYPES = ("ssh-rsa", "ssh-ed25519")
# Texts not recorded from AWS: the model's descriptions of these errors.
_UNRECOGNIZED = (
    "The request was rejected because the public key encoding format is unsupported or unrecognized."
)
_INVALID = "The request was rejected because the public key is malformed or otherwise invalid."
_DUPLICATE = (
    "The request was rejected because the SSH public key is already associated with the specified IAM user."
)

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey


def _not_found(key_id: str) -> NoSuchEntityException:
    return NoSuchEntityException(f"The Public Key with id {key_id} cannot be found.")


def _load(body: str) -> tuple[PublicKey, str]:
    """The key and the body to keep (SSH encoding: as given, or converted from PEM)."""
    text = body.strip()
    if text.startswith("-----BEGIN"):
        try:
            key: Any = serialization.load_pem_public_key(text.encode())
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise InvalidPublicKeyException(_INVALID) from exc
        if not isinstance(key, PublicKey):
            raise UnrecognizedPublicKeyEncodingException(_UNRECOGNIZED)
        return key, _ssh_text(key)
    words = text.split()
    if len(words) < 2 or words[0] not in _SSH_TYPES:
        raise UnrecognizedPublicKeyEncodingException(_UNRECOGNIZED)
    try:
        key = serialization.load_ssh_public_key(" ".join(words[:2]).encode())
    except (ValueError, UnsupportedAlgorithm, binascii.Error) as exc:
        raise InvalidPublicKeyException(_INVALID) from exc
    return key, text


def _ssh_text(key: PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def parse(body: str) -> tuple[str, str]:
    """(body in SSH encoding, MD5 fingerprint) of an uploaded key, or AWS's refusal."""
    key, text = _load(body)
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < _MIN_RSA_BITS:
        raise InvalidPublicKeyException(_INVALID)
    blob = base64.b64decode(_ssh_text(key).split()[1])
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return text, ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _pem(body: str) -> str:
    key = serialization.load_ssh_public_key(" ".join(body.split()[:2]).encode())
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode()


def _metadata(row: Any, user_name: str) -> dict[str, Any]:
    return {
        "UserName": user_name,
        "SSHPublicKeyId": row.ssh_public_key_id,
        "Status": row.status,
        "UploadDate": utc(row.uploaded_at),
    }


@operation("UploadSSHPublicKey")
def upload_ssh_public_key(ctx: Context, user_name: str, ssh_public_key_body: str) -> dict[str, Any]:
    body, fingerprint = parse(ssh_public_key_body)
    key_id = ids.access_key_id("APKA")
    with ctx.db.transaction(on_conflict=DuplicateSSHPublicKeyException(_DUPLICATE)) as conn:
        user = require_user(conn, ctx.account_id, user_name, lock=True)
        if store.has_fingerprint(conn, user.user_id, fingerprint):
            raise DuplicateSSHPublicKeyException(_DUPLICATE)
        if store.count_of_user(conn, user.user_id) >= KEYS_PER_USER:
            # AWS's text pattern (CertificatesPerUser, AccessKeysPerUser); this quota's name not recorded
            raise LimitExceededException(f"Cannot exceed quota for PublicKeysPerUser: {KEYS_PER_USER}")
        store.insert(
            conn,
            key_id=key_id,
            account_id=ctx.account_id,
            user_id=user.user_id,
            body=body,
            fingerprint=fingerprint,
            now=ctx.now,
        )
        user_name = user.name
    shape = {"UserName": user_name, "SSHPublicKeyId": key_id, "Fingerprint": fingerprint}
    return {"SSHPublicKey": {**shape, "SSHPublicKeyBody": body, "Status": "Active", "UploadDate": ctx.now}}


@operation("GetSSHPublicKey")
def get_ssh_public_key(ctx: Context, user_name: str, ssh_public_key_id: str, encoding: str) -> dict[str, Any]:
    with ctx.db.read() as conn:
        user = require_user(conn, ctx.account_id, user_name)
        row = store.get(conn, user.user_id, ssh_public_key_id)
    if row is None:
        raise _not_found(ssh_public_key_id)
    body = row.body if encoding == "SSH" else _pem(row.body)
    shape = {**_metadata(row, user.name), "Fingerprint": row.fingerprint, "SSHPublicKeyBody": body}
    return {"SSHPublicKey": shape}


@operation("ListSSHPublicKeys")
def list_ssh_public_keys(
    ctx: Context, user_name: str | None = None, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        user = require_user(conn, ctx.account_id, own_name(ctx, user_name))
        rows = store.of_user(conn, user.user_id)
    items, fields = page_list(rows, marker, max_items, key=_creation_key)
    return {"SSHPublicKeys": [_metadata(r, user.name) for r in items], **fields}


def _creation_key(row: Any) -> str:
    return f"{utc(row.uploaded_at):%Y%m%d%H%M%S%f}{row.ssh_public_key_id}"


@operation("UpdateSSHPublicKey")
def update_ssh_public_key(
    ctx: Context, user_name: str, ssh_public_key_id: str, status: str
) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        user = require_user(conn, ctx.account_id, user_name)
        if store.get(conn, user.user_id, ssh_public_key_id) is None:
            raise _not_found(ssh_public_key_id)
        store.set_status(conn, ssh_public_key_id, status)
    return {}


@operation("DeleteSSHPublicKey")
def delete_ssh_public_key(ctx: Context, user_name: str, ssh_public_key_id: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        user = require_user(conn, ctx.account_id, user_name)
        if store.get(conn, user.user_id, ssh_public_key_id) is None:
            raise _not_found(ssh_public_key_id)
        store.delete_key(conn, ssh_public_key_id)
    return {}
