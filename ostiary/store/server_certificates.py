"""Server certificates of an account: the PEM body and chain, the private key sealed by the keyring."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, select, update

from ostiary.store.keyring import Keyring
from ostiary.store.tables import server_certificates as certs
from ostiary.store.tables import tags

_PURPOSE = b"server-certificate:"


def seal_private_key(keyring: Keyring, certificate_id: str, pem: str) -> bytes:
    return keyring.seal(pem.encode(), _PURPOSE + certificate_id.encode())


def insert(
    conn: Connection,
    keyring: Keyring,
    *,
    certificate_id: str,
    account_id: str,
    name: str,
    path: str,
    body: str,
    chain: str | None,
    private_key: str,
    expires_at: datetime,
    now: datetime,
) -> None:
    """Add a certificate; a taken name breaks the (account, name_key) constraint."""
    conn.execute(
        certs.insert().values(
            server_certificate_id=certificate_id,
            account_id=account_id,
            name=name,
            name_key=name.lower(),
            path=path,
            body=body,
            chain=chain,
            private_key_sealed=seal_private_key(keyring, certificate_id, private_key),
            expires_at=expires_at,
            uploaded_at=now,
        )
    )


def count(conn: Connection, account_id: str) -> int:
    stmt = select(func.count()).select_from(certs).where(certs.c.account_id == account_id)
    return int(conn.execute(stmt).scalar() or 0)


_METADATA = (
    certs.c.server_certificate_id,
    certs.c.account_id,
    certs.c.name,
    certs.c.name_key,
    certs.c.path,
    certs.c.expires_at,
    certs.c.uploaded_at,
)


def find(conn: Connection, account_id: str, name: str, *, with_bodies: bool = False) -> Row[Any] | None:
    """The certificate of this name (any case), without its private key; or None."""
    columns = (*_METADATA, certs.c.body, certs.c.chain) if with_bodies else _METADATA
    stmt = select(*columns).where(certs.c.account_id == account_id, certs.c.name_key == name.lower())
    return conn.execute(stmt).first()


def listed(conn: Connection, account_id: str, path_prefix: str | None) -> list[Row[Any]]:
    """The account's certificates under a path prefix, by name."""
    stmt = select(*_METADATA).where(certs.c.account_id == account_id).order_by(certs.c.name_key)
    if path_prefix and path_prefix != "/":
        stmt = stmt.where(certs.c.path.startswith(path_prefix, autoescape=True))
    return list(conn.execute(stmt))


def rename(conn: Connection, certificate_id: str, *, name: str, path: str) -> None:
    """Rename or move a certificate; a taken name breaks the unique constraint."""
    conn.execute(
        update(certs)
        .where(certs.c.server_certificate_id == certificate_id)
        .values(name=name, name_key=name.lower(), path=path)
    )


def delete_certificate(conn: Connection, certificate_id: str) -> None:
    """Remove a certificate and its tags."""
    conn.execute(
        delete(tags).where(tags.c.entity_type == "server-certificate", tags.c.entity_id == certificate_id)
    )
    conn.execute(delete(certs).where(certs.c.server_certificate_id == certificate_id))
