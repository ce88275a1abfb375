"""X.509 signing certificates of users and of account roots: the PEM as uploaded and its status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, delete, func, select, update

from ostiary.store.tables import signing_certificates as certs


def _owned_by(account_id: str, user_id: str | None) -> ColumnElement[bool]:
    owner = certs.c.user_id.is_(None) if user_id is None else certs.c.user_id == user_id
    return (certs.c.account_id == account_id) & owner


def insert(
    conn: Connection,
    *,
    certificate_id: str,
    account_id: str,
    user_id: str | None,
    body: str,
    fingerprint: str,
    now: datetime,
) -> None:
    """Add a certificate; the same one twice in an account breaks the (account, fingerprint) constraint."""
    conn.execute(
        certs.insert().values(
            certificate_id=certificate_id,
            account_id=account_id,
            user_id=user_id,
            body=body,
            fingerprint=fingerprint,
            status="Active",
            uploaded_at=now,
        )
    )


def in_account(conn: Connection, account_id: str, fingerprint: str) -> bool:
    stmt = select(certs.c.certificate_id).where(
        certs.c.account_id == account_id, certs.c.fingerprint == fingerprint
    )
    return conn.execute(stmt).first() is not None


def of_owner(conn: Connection, account_id: str, user_id: str | None) -> list[Row[Any]]:
    """The owner's certificates (a user's, or the root's when user_id is None), oldest first."""
    stmt = (
        select(certs)
        .where(_owned_by(account_id, user_id))
        .order_by(certs.c.uploaded_at, certs.c.certificate_id)
    )
    return list(conn.execute(stmt))


def count_of_owner(conn: Connection, account_id: str, user_id: str | None) -> int:
    stmt = select(func.count()).select_from(certs).where(_owned_by(account_id, user_id))
    return int(conn.execute(stmt).scalar() or 0)


def get(conn: Connection, account_id: str, user_id: str | None, certificate_id: str) -> Row[Any] | None:
    """The owner's certificate of this id, or None."""
    stmt = select(certs).where(_owned_by(account_id, user_id), certs.c.certificate_id == certificate_id)
    return conn.execute(stmt).first()


def set_status(conn: Connection, certificate_id: str, status: str) -> None:
    conn.execute(update(certs).where(certs.c.certificate_id == certificate_id).values(status=status))


def delete_certificate(conn: Connection, certificate_id: str) -> None:
    conn.execute(delete(certs).where(certs.c.certificate_id == certificate_id))
