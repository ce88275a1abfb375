"""Service-specific credentials of users (CodeCommit, Keyspaces, Bedrock), secrets sealed by the keyring."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, select, update

from ostiary.store.keyring import Keyring
from ostiary.store.tables import service_specific_credentials as creds
from ostiary.store.tables import users

_PURPOSE = b"service-credential:"


def seal_secret(keyring: Keyring, credential_id: str, secret: str) -> bytes:
    return keyring.seal(secret.encode(), _PURPOSE + credential_id.encode())


def open_secret(keyring: Keyring, credential_id: str, sealed: bytes) -> str:
    return keyring.open(sealed, _PURPOSE + credential_id.encode()).decode()


def insert(
    conn: Connection,
    keyring: Keyring,
    *,
    credential_id: str,
    account_id: str,
    user_id: str,
    service_name: str,
    service_user_name: str,
    secret: str,
    now: datetime,
    expires_at: datetime | None,
) -> None:
    conn.execute(
        creds.insert().values(
            credential_id=credential_id,
            account_id=account_id,
            user_id=user_id,
            service_name=service_name,
            service_user_name=service_user_name,
            secret_sealed=seal_secret(keyring, credential_id, secret),
            status="Active",
            created_at=now,
            expires_at=expires_at,
        )
    )


def count_for_service(conn: Connection, user_id: str, service_name: str) -> int:
    stmt = (
        select(func.count())
        .select_from(creds)
        .where(creds.c.user_id == user_id, creds.c.service_name == service_name)
    )
    return int(conn.execute(stmt).scalar() or 0)


_LISTED = (
    creds.c.credential_id,
    creds.c.service_name,
    creds.c.service_user_name,
    creds.c.status,
    creds.c.created_at,
    creds.c.expires_at,
    users.c.name.label("user_name"),
)


def listed(
    conn: Connection, account_id: str, user_id: str | None, service_name: str | None
) -> list[Row[Any]]:
    """Credentials of a user (or of every user of the account when user_id is None), without secrets,
    oldest first, with their owner's current name."""
    stmt = (
        select(*_LISTED)
        .select_from(creds.join(users, users.c.user_id == creds.c.user_id))
        .where(creds.c.account_id == account_id)
        .order_by(creds.c.created_at, creds.c.credential_id)
    )
    if user_id is not None:
        stmt = stmt.where(creds.c.user_id == user_id)
    if service_name is not None:
        stmt = stmt.where(creds.c.service_name == service_name)
    return list(conn.execute(stmt))


def get(conn: Connection, user_id: str, credential_id: str) -> Row[Any] | None:
    """The user's credential of this id (without opening its secret), or None."""
    stmt = select(creds).where(creds.c.credential_id == credential_id, creds.c.user_id == user_id)
    return conn.execute(stmt).first()


def set_status(conn: Connection, credential_id: str, status: str) -> None:
    conn.execute(update(creds).where(creds.c.credential_id == credential_id).values(status=status))


def set_secret(conn: Connection, keyring: Keyring, credential_id: str, secret: str) -> None:
    sealed = seal_secret(keyring, credential_id, secret)
    conn.execute(update(creds).where(creds.c.credential_id == credential_id).values(secret_sealed=sealed))


def delete_credential(conn: Connection, credential_id: str) -> None:
    conn.execute(delete(creds).where(creds.c.credential_id == credential_id))
