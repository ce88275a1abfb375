"""Each account's S3 Block Public Access settings (S3 Control's PutPublicAccessBlock), which the gateway
answers itself: the backend's namespace is shared by every account, so the settings of each are kept
here, by account.

A row holds the four settings; an account without one has none on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, Connection, DateTime, String, Table, delete, select

from ostiary.store.db import Database
from ostiary.store.recent import Recent
from ostiary.store.tables import metadata

RECENT_TTL_SECONDS = 1.0  # how old the settings the gateway decides with may be (another node's change)

gateway_public_access = Table(
    "gateway_public_access",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("block_public_acls", Boolean, nullable=False),
    Column("ignore_public_acls", Boolean, nullable=False),
    Column("block_public_policy", Boolean, nullable=False),
    Column("restrict_public_buckets", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
_t = gateway_public_access
# BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets
Settings = tuple[bool, bool, bool, bool]

_recent: Recent[Settings | None] = Recent(RECENT_TTL_SECONDS)


def find(conn: Connection, account_id: str) -> Settings | None:
    """The account's settings, None when it has put none (or deleted them)."""
    row = conn.execute(select(_t).where(_t.c.account_id == account_id)).first()
    if row is None:
        return None
    return (
        bool(row.block_public_acls),
        bool(row.ignore_public_acls),
        bool(row.block_public_policy),
        bool(row.restrict_public_buckets),
    )


def put(conn: Connection, account_id: str, settings: Settings, now: datetime) -> None:
    """Set the account's four settings."""
    _recent.changed()
    conn.execute(delete(_t).where(_t.c.account_id == account_id))
    acls, ignore, policy, restrict = settings
    conn.execute(
        _t.insert().values(
            account_id=account_id,
            block_public_acls=acls,
            ignore_public_acls=ignore,
            block_public_policy=policy,
            restrict_public_buckets=restrict,
            updated_at=now,
        )
    )


def remove(conn: Connection, account_id: str) -> None:
    """Drop the account's settings (DeletePublicAccessBlock)."""
    _recent.changed()
    conn.execute(delete(_t).where(_t.c.account_id == account_id))


def recent_find(db: Database, account_id: str) -> Settings | None:
    """`find` as read at most RECENT_TTL_SECONDS ago and since this process last changed any account's."""

    def load() -> Settings | None:
        with db.read() as conn:
            return find(conn, account_id)

    return _recent.get((db.url, account_id), load)
