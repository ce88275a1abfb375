"""X.509 signing certificates of users and account roots: two each at most, uploaded (IAM makes none)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ostiary import ids
from ostiary.errors import (
    DuplicateCertificateException,
    LimitExceededException,
    MalformedCertificateException,
    NoSuchEntityException,
)
from ostiary.services import Context, operation
from ostiary.services.users import own_name
from ostiary.services.users import require as require_user
from ostiary.store import accounts
from ostiary.store import signing_certificates as store
from ostiary.store.db import Connection
from ostiary.store.pages import page_list
from ostiary.store.users import utc

CERTIFICATES_PER_USER = 2
# The model's description of the error; AWS's own text for it is not recorded.
_DUPLICATE = (
    "The request was rejected because the same certificate is associated with an IAM user in the account."
)


def load_certificate(body: str, malformed: str) -> x509.Certificate:
    """The first certificate of a PEM text, or MalformedCertificate with the text `malformed`."""
    try:
        return x509.load_pem_x509_certificate(body.strip().encode())
    except ValueError as exc:
        raise MalformedCertificateException(malformed) from exc


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _check_dates(cert: x509.Certificate, body: str, now: datetime) -> None:
    # AWS: MalformedCertificate "was malformed or expired"; its text for an expired one is not recorded
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise MalformedCertificateException(f"Certificate {body} is malformed.")


def _owner(
    ctx: Context, conn: Connection, user_name: str | None, *, lock: bool = False
) -> tuple[str | None, str]:
    """(user_id, user name) of the certificates' owner: the named user, else the caller (None for root)."""
    if user_name is not None:
        row = require_user(conn, ctx.account_id, user_name, lock=lock)
        return row.user_id, row.name
    if ctx.caller.is_root:
        if lock:
            accounts.get(conn, ctx.account_id, lock=True)
        return None, ctx.account_id  # AWS names the root by its account id (not recorded)
    return _owner(ctx, conn, own_name(ctx, None, conn), lock=lock)


def _shape(row: Any, user_name: str) -> dict[str, Any]:
    return {
        "UserName": user_name,
        "CertificateId": row.certificate_id,
        "CertificateBody": row.body,
        "Status": row.status,
        "UploadDate": utc(row.uploaded_at),
    }


def _not_found(certificate_id: str) -> NoSuchEntityException:
    return NoSuchEntityException(f"The Certificate with id {certificate_id} cannot be found.")


@operation("UploadSigningCertificate")
def upload_signing_certificate(
    ctx: Context, certificate_body: str, user_name: str | None = None
) -> dict[str, Any]:
    cert = load_certificate(certificate_body, f"Certificate {certificate_body} is malformed.")
    _check_dates(cert, certificate_body, ctx.now)
    certificate_id = ids.access_key_id("") + ids.access_key_id("")  # 32 of A-Z and 2-7, as AWS's look
    digest = fingerprint(cert)
    with ctx.db.transaction(on_conflict=DuplicateCertificateException(_DUPLICATE)) as conn:
        user_id, name = _owner(ctx, conn, user_name, lock=True)
        if store.in_account(conn, ctx.account_id, digest):
            raise DuplicateCertificateException(_DUPLICATE)
        if store.count_of_owner(conn, ctx.account_id, user_id) >= CERTIFICATES_PER_USER:
            raise LimitExceededException(
                f"Cannot exceed quota for CertificatesPerUser: {CERTIFICATES_PER_USER}"
            )
        store.insert(
            conn,
            certificate_id=certificate_id,
            account_id=ctx.account_id,
            user_id=user_id,
            body=certificate_body,
            fingerprint=digest,
            now=ctx.now,
        )
    shape = {"CertificateId": certificate_id, "CertificateBody": certificate_body, "Status": "Active"}
    return {"Certificate": {"UserName": name, **shape, "UploadDate": ctx.now}}


@operation("ListSigningCertificates")
def list_signing_certificates(
    ctx: Context, user_name: str | None = None, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        user_id, name = _owner(ctx, conn, user_name)
        rows = store.of_owner(conn, ctx.account_id, user_id)
    items, fields = page_list(rows, marker, max_items, key=_creation_key)
    return {"Certificates": [_shape(r, name) for r in items], **fields}


def _creation_key(row: Any) -> str:
    return f"{utc(row.uploaded_at):%Y%m%d%H%M%S%f}{row.certificate_id}"


@operation("UpdateSigningCertificate")
def update_signing_certificate(
    ctx: Context, certificate_id: str, status: str, user_name: str | None = None
) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        user_id, _ = _owner(ctx, conn, user_name)
        if store.get(conn, ctx.account_id, user_id, certificate_id) is None:
            raise _not_found(certificate_id)
        store.set_status(conn, certificate_id, status)
    return {}


@operation("DeleteSigningCertificate")
def delete_signing_certificate(
    ctx: Context, certificate_id: str, user_name: str | None = None
) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        user_id, _ = _owner(ctx, conn, user_name)
        if store.get(conn, ctx.account_id, user_id, certificate_id) is None:
            raise _not_found(certificate_id)
        store.delete_certificate(conn, certificate_id)
    return {}
