"""Accounts: create, find, and the per-account epoch that versions every permission."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from ostiary.store.tables import accounts


def exists(conn: Connection, account_id: str) -> bool:
    return conn.execute(select(accounts.c.account_id).where(accounts.c.account_id == account_id)).first() is not None


def create(conn: Connection, account_id: str, now: datetime) -> None:
    conn.execute(accounts.insert().values(account_id=account_id, policy_epoch=0, created_at=now))


def bump_epoch(conn: Connection, account_id: str) -> None:
    """Mark that something changed what principals of this account may do."""
    conn.execute(
        update(accounts).where(accounts.c.account_id == account_id).values(policy_epoch=accounts.c.policy_epoch + 1)
    )


def epoch(conn: Connection, account_id: str) -> int:
    value = conn.execute(select(accounts.c.policy_epoch).where(accounts.c.account_id == account_id)).scalar()
    return int(value or 0)
