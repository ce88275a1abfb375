"""Server certificates (for load balancers and CloudFront): uploaded with their chain and private key,
the key checked against the certificate and sealed at rest, never returned; 20 per account."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from ostiary import enforce, ids
from ostiary.errors import (
    EntityAlreadyExistsException,
    KeyPairMismatchException,
    LimitExceededException,
    MalformedCertificateException,
    NoSuchEntityException,
)
from ostiary.services import Context, operation
from ostiary.services import tags as tagging
from ostiary.services.signing_certificates import load_certificate
from ostiary.store import accounts
from ostiary.store import server_certificates as store
from ostiary.store import tags as tag_store
from ostiary.store.db import Connection
from ostiary.store.pages import page_list
from ostiary.store.users import utc

CERTIFICATES_PER_ACCOUNT = (
    20  # "Cannot exceed quota for ServerCertificatesPerAccount: 20" (AWS, as users report it)
)
_TAGGED = "server-certificate"
_UNPARSABLE = "Unable to parse certificate. Please ensure the certificate is in PEM format."  # AWS's
_BAD_CHAIN = (  # AWS's text, as users report it; which index AWS names for which fault is not recorded
    "Unable to validate certificate chain. The certificate chain must start with the immediate signing "
    "certificate, followed by any intermediaries in order. The index within the chain of the invalid "
    "certificate is: {index}"
)
# Not recorded from AWS: our reading of the model's descriptions.
_BAD_KEY = "Unable to parse private key. Please ensure the private key is in PEM format and not encrypted."
_EXPIRED = "The certificate is expired or not yet valid."
_MISMATCH = "The request was rejected because the public key certificate and the private key do not match."


def _not_found(name: str) -> NoSuchEntityException:
    return NoSuchEntityException(f"The Server Certificate with name {name} cannot be found.")


def _already_exists(name: str) -> EntityAlreadyExistsException:
    return EntityAlreadyExistsException(f"The Server Certificate with name {name} already exists.")


def _arn(account_id: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:server-certificate{path}{name}"


def _check_key(cert: x509.Certificate, private_key: str) -> None:
    try:
        key = serialization.load_pem_private_key(private_key.strip().encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise MalformedCertificateException(_BAD_KEY) from exc
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        raise KeyPairMismatchException(_MISMATCH)


def _check_chain(cert: x509.Certificate, chain: str) -> None:
    """Each certificate must be issued by the next: the body by the chain's first, and so on."""
    try:
        issuers = x509.load_pem_x509_certificates(chain.strip().encode())
    except ValueError as exc:
        raise MalformedCertificateException(_BAD_CHAIN.format(index=0)) from exc
    subject = cert
    for index, issuer in enumerate(issuers):
        try:
            subject.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise MalformedCertificateException(_BAD_CHAIN.format(index=index)) from exc
        subject = issuer


def _checked(body: str, private_key: str, chain: str | None, now: datetime) -> datetime:
    """The certificate's expiry, once body, key and chain passed AWS's checks."""
    cert = load_certificate(body, _UNPARSABLE)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise MalformedCertificateException(_EXPIRED)
    _check_key(cert, private_key)
    if chain:
        _check_chain(cert, chain)
    return cert.not_valid_after_utc


def _metadata(row: Any) -> dict[str, Any]:
    return {
        "Path": row.path,
        "ServerCertificateName": row.name,
        "ServerCertificateId": row.server_certificate_id,
        "Arn": _arn(row.account_id, row.path, row.name),
        "UploadDate": utc(row.uploaded_at),
        "Expiration": utc(row.expires_at),
    }


@operation("UploadServerCertificate")
def upload_server_certificate(
    ctx: Context,
    server_certificate_name: str,
    certificate_body: str,
    private_key: str,
    path: str = "/",
    certificate_chain: str | None = None,
    tags: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    expires_at = _checked(certificate_body, private_key, certificate_chain, ctx.now)
    if tags:
        tagging.check_tags(tags, _TAGGED)
    certificate_id = ids.unique_id("ASCA")
    with ctx.db.transaction(on_conflict=_already_exists(server_certificate_name)) as conn:
        accounts.get(conn, ctx.account_id, lock=True)  # serialises the per-account quota
        if store.find(conn, ctx.account_id, server_certificate_name) is not None:
            raise _already_exists(server_certificate_name)
        if store.count(conn, ctx.account_id) >= CERTIFICATES_PER_ACCOUNT:
            raise LimitExceededException(
                f"Cannot exceed quota for ServerCertificatesPerAccount: {CERTIFICATES_PER_ACCOUNT}"
            )
        store.insert(
            conn,
            ctx.keyring,
            certificate_id=certificate_id,
            account_id=ctx.account_id,
            name=server_certificate_name,
            path=path,
            body=certificate_body.strip(),
            chain=certificate_chain.strip() if certificate_chain else None,
            private_key=private_key,
            expires_at=expires_at,
            now=ctx.now,
        )
        if tags:
            tagging.apply_tags(conn, _TAGGED, certificate_id, tags)
        shape = {
            "ServerCertificateMetadata": _metadata(store.find(conn, ctx.account_id, server_certificate_name))
        }
        return tagging.with_tags(conn, _TAGGED, certificate_id, shape)


def _require(conn: Connection, ctx: Context, name: str, *, with_bodies: bool = False) -> Any:
    row = store.find(conn, ctx.account_id, name, with_bodies=with_bodies)
    if row is None:
        raise _not_found(name)
    return row


@operation("GetServerCertificate")
def get_server_certificate(ctx: Context, server_certificate_name: str) -> dict[str, Any]:
    with ctx.db.read() as conn:
        row = _require(conn, ctx, server_certificate_name, with_bodies=True)
        found_tags = tagging.tag_list(conn, _TAGGED, row.server_certificate_id)
    shape: dict[str, Any] = {"ServerCertificateMetadata": _metadata(row), "CertificateBody": row.body}
    if row.chain:
        shape["CertificateChain"] = row.chain
    return {"ServerCertificate": {**shape, "Tags": found_tags}}  # AWS sends Tags even empty (recorded)


@operation("ListServerCertificates")
def list_server_certificates(
    ctx: Context, path_prefix: str | None = None, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        rows = store.listed(conn, ctx.account_id, path_prefix)
    items, fields = page_list(rows, marker, max_items, key=lambda r: r.name_key)
    return {"ServerCertificateMetadataList": [_metadata(r) for r in items], **fields}


@operation("UpdateServerCertificate")
def update_server_certificate(
    ctx: Context,
    server_certificate_name: str,
    new_path: str | None = None,
    new_server_certificate_name: str | None = None,
) -> dict[str, Any]:
    conflict = _already_exists(new_server_certificate_name or server_certificate_name)
    if new_path is not None or new_server_certificate_name is not None:
        with ctx.db.read() as conn:
            row = _require(conn, ctx, server_certificate_name)
        # as for users: a rename or move needs the permission on the source and on the target alike
        target = _arn(ctx.account_id, new_path or row.path, new_server_certificate_name or row.name)
        enforce.require(ctx, "iam:UpdateServerCertificate", target, {})
    with ctx.db.transaction(on_conflict=conflict) as conn:
        row = _require(conn, ctx, server_certificate_name)
        name = new_server_certificate_name or row.name
        if name.lower() != row.name_key and store.find(conn, ctx.account_id, name) is not None:
            raise conflict
        store.rename(conn, row.server_certificate_id, name=name, path=new_path or row.path)
    return {}


@operation("DeleteServerCertificate")
def delete_server_certificate(ctx: Context, server_certificate_name: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        store.delete_certificate(conn, _require(conn, ctx, server_certificate_name).server_certificate_id)
    return {}


@operation("TagServerCertificate")
def tag_server_certificate(
    ctx: Context, server_certificate_name: str, tags: list[dict[str, Any]]
) -> dict[str, Any]:
    tagging.check_tags(tags, _TAGGED)
    with ctx.db.transaction() as conn:
        row = _require(conn, ctx, server_certificate_name)
        tagging.apply_tags(conn, _TAGGED, row.server_certificate_id, tags)
    return {}


@operation("UntagServerCertificate")
def untag_server_certificate(
    ctx: Context, server_certificate_name: str, tag_keys: list[str]
) -> dict[str, Any]:
    tagging.check_tag_keys(tag_keys)
    with ctx.db.transaction() as conn:
        row = _require(conn, ctx, server_certificate_name)
        tag_store.remove(conn, _TAGGED, row.server_certificate_id, tag_keys)
    return {}


@operation("ListServerCertificateTags")
def list_server_certificate_tags(
    ctx: Context, server_certificate_name: str, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        row = _require(conn, ctx, server_certificate_name)
        found = tagging.tag_list(conn, _TAGGED, row.server_certificate_id)
    numbered = [(f"{i:06d}", t) for i, t in enumerate(found)]
    items, fields = page_list(numbered, marker, max_items, key=lambda item: item[0])
    return {"Tags": [t for _, t in items], **fields}
