"""Credential reports: each account's latest report (its CSV and when it was made), and the facts it
is made of, read in a handful of queries whatever the number of users."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    ForeignKey,
    LargeBinary,
    Row,
    String,
    Table,
    delete,
    select,
)

from ostiary.store.tables import (
    access_keys,
    login_profiles,
    metadata,
    mfa_devices,
    signing_certificates,
    users,
)

# One row per account: a new report replaces the old one (migration 0009).
credential_reports = Table(
    "credential_reports",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.account_id"), primary_key=True),
    Column("content", LargeBinary, nullable=False),  # the CSV, UTF-8
    Column("generated_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Owner:
    """A report row's credentials: a user's, or the root's (`user` None).

    `keys` and `certificates` are the owner's access keys and signing certificates, oldest first.
    """

    user: Row[Any] | None
    profile: Row[Any] | None = None
    has_mfa: bool = False
    keys: list[Row[Any]] = field(default_factory=list)
    certificates: list[Row[Any]] = field(default_factory=list)


@dataclass(frozen=True)
class AccountCredentials:
    """Everything a credential report shows of one account: its root and its users in name order."""

    account: Row[Any]
    password_policy: dict[str, Any]
    root: Owner
    users: list[Owner]


def latest(conn: Connection, account_id: str) -> Row[Any] | None:
    """The account's report (content, generated_at), or None before the first generation."""
    stmt = select(credential_reports).where(credential_reports.c.account_id == account_id)
    return conn.execute(stmt).first()


def replace(conn: Connection, account_id: str, content: bytes, now: datetime) -> None:
    """Store a new report in place of the account's previous one."""
    conn.execute(delete(credential_reports).where(credential_reports.c.account_id == account_id))
    conn.execute(credential_reports.insert().values(account_id=account_id, content=content, generated_at=now))


def credentials(conn: Connection, account: Row[Any]) -> AccountCredentials:
    """The account's root and users with their passwords, MFA, keys and certificates.

    `account` is the account's row, read (and locked, by a generation) in the same transaction.
    """
    account_id = account.account_id
    profiles = {
        row.user_id: row
        for row in conn.execute(
            select(login_profiles)
            .join(users, users.c.user_id == login_profiles.c.user_id)
            .where(users.c.account_id == account_id)
        )
    }
    with_mfa = set(
        conn.execute(
            select(mfa_devices.c.user_id).where(
                mfa_devices.c.account_id == account_id, mfa_devices.c.user_id.is_not(None)
            )
        ).scalars()
    )
    keys = _by_owner(
        conn.execute(
            select(access_keys)
            .where(access_keys.c.account_id == account_id)
            .order_by(access_keys.c.created_at, access_keys.c.access_key_id)
        )
    )
    certificates = _by_owner(
        conn.execute(
            select(signing_certificates)
            .where(signing_certificates.c.account_id == account_id)
            .order_by(signing_certificates.c.uploaded_at, signing_certificates.c.certificate_id)
        )
    )
    rows = conn.execute(select(users).where(users.c.account_id == account_id).order_by(users.c.name_key))
    return AccountCredentials(
        account=account,
        password_policy=json.loads(account.password_policy) if account.password_policy else {},
        root=Owner(None, keys=keys.get(None, []), certificates=certificates.get(None, [])),
        users=[
            Owner(
                user,
                profile=profiles.get(user.user_id),
                has_mfa=user.user_id in with_mfa,
                keys=keys.get(user.user_id, []),
                certificates=certificates.get(user.user_id, []),
            )
            for user in rows
        ],
    )


def _by_owner(rows: Any) -> dict[str | None, list[Row[Any]]]:
    owned: dict[str | None, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        owned[row.user_id].append(row)
    return owned
