"""Outbound web identity federation: each account's issuer (its id, whether tokens may be issued) and
the account's signing keys, the private halves sealed with the keyring (migration 0012)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    LargeBinary,
    String,
    Table,
    Text,
    select,
    update,
)

from ostiary.store.tables import metadata

# One row per account that ever enabled the feature: disabling keeps the issuer and its keys, so tokens
# issued before stay verifiable and a later enable gives the same issuer URL back.
outbound_issuers = Table(
    "outbound_issuers",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("issuer_id", String(36), nullable=False, unique=True),
    Column("is_enabled", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

outbound_signing_keys = Table(
    "outbound_signing_keys",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(5), nullable=False),  # RS256 | ES384
    Column("public_jwk", Text, nullable=False),  # JSON, as published in the JWKS
    Column("private_key", LargeBinary, nullable=False),  # PKCS#8 DER, sealed with the keyring
    Column("created_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class SigningKey:
    """One signing key of an account: its key id, algorithm, public JWK and sealed private key."""

    kid: str
    algorithm: str
    public_jwk: str
    sealed_private_key: bytes = field(repr=False)


@dataclass(frozen=True)
class Issuer:
    """An account's outbound issuer: its id (the last part of its URL) and whether it issues tokens."""

    account_id: str
    issuer_id: str
    is_enabled: bool


def issuer_of(conn: Connection, account_id: str) -> Issuer | None:
    """The account's issuer, or None if the account never enabled the feature."""
    row = conn.execute(select(outbound_issuers).where(outbound_issuers.c.account_id == account_id)).first()
    return Issuer(row.account_id, row.issuer_id, row.is_enabled) if row is not None else None


def issuer_by_id(conn: Connection, issuer_id: str) -> Issuer | None:
    """The issuer with this id (from a discovery URL), or None."""
    row = conn.execute(select(outbound_issuers).where(outbound_issuers.c.issuer_id == issuer_id)).first()
    return Issuer(row.account_id, row.issuer_id, row.is_enabled) if row is not None else None


def create_issuer(
    conn: Connection, account_id: str, issuer_id: str, keys: list[SigningKey], now: datetime
) -> None:
    """Record an account's first enable: its issuer, enabled, and its signing keys."""
    conn.execute(
        outbound_issuers.insert().values(
            account_id=account_id, issuer_id=issuer_id, is_enabled=True, updated_at=now
        )
    )
    for key in keys:
        conn.execute(
            outbound_signing_keys.insert().values(
                account_id=account_id,
                kid=key.kid,
                algorithm=key.algorithm,
                public_jwk=key.public_jwk,
                private_key=key.sealed_private_key,
                created_at=now,
            )
        )


def set_enabled(conn: Connection, account_id: str, is_enabled: bool, now: datetime) -> bool:
    """Switch the account's issuer on or off; False when it was already so (or there is none)."""
    stmt = (
        update(outbound_issuers)
        .where(outbound_issuers.c.account_id == account_id, outbound_issuers.c.is_enabled != is_enabled)
        .values(is_enabled=is_enabled, updated_at=now)
    )
    return bool(conn.execute(stmt).rowcount)


def signing_keys(conn: Connection, account_id: str) -> list[SigningKey]:
    """The account's signing keys, oldest first."""
    stmt = (
        select(outbound_signing_keys)
        .where(outbound_signing_keys.c.account_id == account_id)
        .order_by(outbound_signing_keys.c.created_at, outbound_signing_keys.c.kid)
    )
    return [SigningKey(r.kid, r.algorithm, r.public_jwk, r.private_key) for r in conn.execute(stmt)]
