"""Service-specific credentials: Git credentials for CodeCommit, Keyspaces (Cassandra) passwords and
Bedrock long-term API keys; two per user per service, secrets sealed at rest and shown only when made.

CodeCommit and Keyspaces credentials carry a ServiceUserName `<user>-at-<account>` and a 44-character
ServicePassword (AWS's recordings and examples); Bedrock's carry a ServiceCredentialAlias of the same form
and a ServiceCredentialSecret `ABSK` + base64 of `<alias>:<secret>` (the form of AWS's long-term Bedrock
API keys; not recorded). The user name is fixed at creation: a renamed user's credentials keep it (recorded).
"""

from __future__ import annotations

import base64
import os
from datetime import datetime, timedelta
from typing import Any

from ostiary import ids
from ostiary.errors import LimitExceededException, NoSuchEntityException
from ostiary.services import Context, operation
from ostiary.services.users import own_name
from ostiary.services.users import require as require_user
from ostiary.store import service_specific_credentials as store
from ostiary.store.db import Connection
from ostiary.store.pages import page_list
from ostiary.store.users import utc

SERVICES = ("codecommit.amazonaws.com", "cassandra.amazonaws.com", "bedrock.amazonaws.com")
_BEDROCK = "bedrock.amazonaws.com"
PER_USER_PER_SERVICE = 2  # AWS's IAM quotas page: service-specific credentials per user per service


def _check_service(name: str) -> None:
    if name not in SERVICES:
        raise NoSuchEntityException(f"No such service {name} is supported for Service Specific Credentials")


def _not_found(credential_id: str) -> NoSuchEntityException:
    return NoSuchEntityException(f"No such credential {credential_id} exists")


def _secret(service_name: str, service_user_name: str) -> str:
    password = base64.b64encode(os.urandom(32)).decode()  # 44 characters
    if service_name != _BEDROCK:
        return password
    return "ABSK" + base64.b64encode(f"{service_user_name}:{password}".encode()).decode()


def _status(status: str, expires_at: datetime | None, now: datetime) -> str:
    expiry = utc(expires_at)
    return "Expired" if expiry is not None and expiry <= now else status


def _metadata(row: Any, user_name: str, now: datetime) -> dict[str, Any]:
    named = "ServiceCredentialAlias" if row.service_name == _BEDROCK else "ServiceUserName"
    shape = {
        "UserName": user_name,
        "Status": _status(row.status, row.expires_at, now),
        named: row.service_user_name,
        "CreateDate": utc(row.created_at),
        "ServiceSpecificCredentialId": row.credential_id,
        "ServiceName": row.service_name,
    }
    if row.expires_at is not None:
        shape["ExpirationDate"] = utc(row.expires_at)
    return shape


def _with_secret(shape: dict[str, Any], secret: str) -> dict[str, Any]:
    named = "ServiceCredentialSecret" if shape["ServiceName"] == _BEDROCK else "ServicePassword"
    return {"ServiceSpecificCredential": {**shape, named: secret}}


@operation("CreateServiceSpecificCredential")
def create_service_specific_credential(
    ctx: Context, user_name: str, service_name: str, credential_age_days: int | None = None
) -> dict[str, Any]:
    credential_id = ids.unique_id("ACCA")
    expires_at = ctx.now + timedelta(days=credential_age_days) if credential_age_days else None
    with ctx.db.transaction() as conn:
        user = require_user(conn, ctx.account_id, user_name, lock=True)
        _check_service(service_name)
        if store.count_for_service(conn, user.user_id, service_name) >= PER_USER_PER_SERVICE:
            # AWS's "Cannot exceed quota for <name>: <n>" form; this quota's name is not recorded
            raise LimitExceededException(
                f"Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: {PER_USER_PER_SERVICE}"
            )
        service_user_name = f"{user.name}-at-{ctx.account_id}"
        secret = _secret(service_name, service_user_name)
        store.insert(
            conn,
            ctx.keyring,
            credential_id=credential_id,
            account_id=ctx.account_id,
            user_id=user.user_id,
            service_name=service_name,
            service_user_name=service_user_name,
            secret=secret,
            now=ctx.now,
            expires_at=expires_at,
        )
        row = store.get(conn, user.user_id, credential_id)
    return _with_secret(_metadata(row, user.name, ctx.now), secret)


@operation("ListServiceSpecificCredentials")
def list_service_specific_credentials(
    ctx: Context,
    user_name: str | None = None,
    service_name: str | None = None,
    all_users: bool | None = None,
    marker: str | None = None,
    max_items: int | None = None,
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        user_id = None if all_users else require_user(conn, ctx.account_id, own_name(ctx, user_name)).user_id
        if service_name is not None:
            _check_service(service_name)
        rows = store.listed(conn, ctx.account_id, user_id, service_name)
    items, fields = page_list(rows, marker, max_items, key=_creation_key)
    return {"ServiceSpecificCredentials": [_metadata(r, r.user_name, ctx.now) for r in items], **fields}


def _creation_key(row: Any) -> str:
    return f"{utc(row.created_at):%Y%m%d%H%M%S%f}{row.credential_id}"


def _owned(ctx: Context, conn: Connection, user_name: str | None, credential_id: str) -> tuple[Any, Any]:
    """(user, credential): the credential of the named user (or of the calling user), or NoSuchEntity."""
    user = require_user(conn, ctx.account_id, own_name(ctx, user_name))
    row = store.get(conn, user.user_id, credential_id)
    if row is None:
        raise _not_found(credential_id)
    return user, row


@operation("UpdateServiceSpecificCredential")
def update_service_specific_credential(
    ctx: Context, service_specific_credential_id: str, status: str, user_name: str | None = None
) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        _owned(ctx, conn, user_name, service_specific_credential_id)
        store.set_status(conn, service_specific_credential_id, status)
    return {}


@operation("ResetServiceSpecificCredential")
def reset_service_specific_credential(
    ctx: Context, service_specific_credential_id: str, user_name: str | None = None
) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        user, row = _owned(ctx, conn, user_name, service_specific_credential_id)
        secret = _secret(row.service_name, row.service_user_name)
        store.set_secret(conn, ctx.keyring, service_specific_credential_id, secret)
    return _with_secret(_metadata(row, user.name, ctx.now), secret)


@operation("DeleteServiceSpecificCredential")
def delete_service_specific_credential(
    ctx: Context, service_specific_credential_id: str, user_name: str | None = None
) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        _owned(ctx, conn, user_name, service_specific_credential_id)
        store.delete_credential(conn, service_specific_credential_id)
    return {}
