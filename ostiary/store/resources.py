"""Who owns each bucket, table and key that the gateway forwards to a shared backend, and the S3 bucket
policies and KMS key policies written through it.

A row is (service, region, name): S3 buckets are global (region ''), DynamoDB tables are named per
region, KMS keys by key id per region. A name with no row belongs to the default account: the backend
has it from before Ostiary, or someone made it on the backend directly. Names are exact (S3 and
DynamoDB names are case-sensitive).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Index,
    String,
    Table,
    Text,
    bindparam,
    delete,
    select,
    update,
)

from ostiary.store import changes
from ostiary.store import named_principals as named
from ostiary.store.db import Database
from ostiary.store.recent import Recent
from ostiary.store.tables import metadata

RECENT_TTL_SECONDS = 1.0  # how old an owner or policy the gateway's hot path may decide with

GLOBAL_REGION = ""  # the region of S3 buckets, whose names are global

gateway_resources = Table(
    "gateway_resources",
    metadata,
    Column("service", String(32), primary_key=True),  # s3, dynamodb, kms
    Column("region", String(32), primary_key=True),  # '' for S3 buckets
    Column("name", String(255), primary_key=True),  # bucket name, table name, key id
    Column("owner_account", String(12), nullable=False),
    Column("policy", Text),  # a bucket's or key's policy as stored (validated); NULL for none
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("policy_updated_at", DateTime(timezone=True)),
    Index("ix_gateway_resources_owner_account", "owner_account"),
)
_t = gateway_resources


def _key(service: str, region: str, name: str) -> Any:
    return (_t.c.service == service) & (_t.c.region == region) & (_t.c.name == name)


_FIND = select(_t.c.owner_account, _t.c.policy).where(
    (_t.c.service == bindparam("service"))
    & (_t.c.region == bindparam("region"))
    & (_t.c.name == bindparam("name"))
)
_recent: Recent[tuple[str, str | None] | None] = Recent(RECENT_TTL_SECONDS)


def note_change(conn: Connection | None = None) -> None:
    """A row is about to change: the finds this process keeps are dropped, and, in the transaction of
    `conn`, the other nodes are told (none given: another node's change, heard of)."""
    _recent.changed()
    if conn is not None:
        changes.announce(conn, changes.RESOURCES)


def recent_find(db: Database, service: str, region: str, name: str) -> tuple[str, str | None] | None:
    """`find` as read at most RECENT_TTL_SECONDS ago, and since this process last changed any row: what
    the gateway decides with (another node's change reaches this one within that second)."""

    def load() -> tuple[str, str | None] | None:
        with db.read() as conn:
            return find(conn, service, region, name)

    return _recent.get((db.url, service, region, name), load)


def owner(conn: Connection, service: str, region: str, name: str) -> str | None:
    """The account that created the resource through the gateway, or None when Ostiary never saw it."""
    found = find(conn, service, region, name)
    return found[0] if found is not None else None


def owners(conn: Connection, service: str, region: str, names: Iterable[str]) -> dict[str, str]:
    """The known owners of several resources of one service and region, by name."""
    wanted = sorted(set(names))
    out: dict[str, str] = {}
    for start in range(0, len(wanted), 500):  # bounded IN lists
        chunk = wanted[start : start + 500]
        rows = conn.execute(
            select(_t.c.name, _t.c.owner_account).where(
                (_t.c.service == service) & (_t.c.region == region) & _t.c.name.in_(chunk)
            )
        )
        out.update({str(row.name): str(row.owner_account) for row in rows})
    return out


def record(conn: Connection, service: str, region: str, name: str, owner_account: str, now: datetime) -> None:
    """The resource was created by `owner_account`: its row is kept when it was already theirs (S3's
    CreateBucket of one's own bucket succeeds again in us-east-1), else made afresh."""
    if owner(conn, service, region, name) == owner_account:
        return
    note_change(conn)
    _forget_principals(conn, service, region, name)
    conn.execute(delete(_t).where(_key(service, region, name)))
    conn.execute(
        _t.insert().values(
            service=service, region=region, name=name, owner_account=owner_account, created_at=now
        )
    )


def forget(conn: Connection, service: str, region: str, name: str) -> None:
    """The resource was deleted: its owner and policy go with it."""
    note_change(conn)
    _forget_principals(conn, service, region, name)
    conn.execute(delete(_t).where(_key(service, region, name)))


def set_policy(
    conn: Connection,
    service: str,
    region: str,
    name: str,
    text: str | None,
    *,
    default_owner: str,
    now: datetime,
) -> None:
    """Store (or, with None, drop) a resource's policy; a resource Ostiary never saw gets a row owned by
    `default_owner` (the account such resources belong to). The principals a new bucket policy names
    are bound by the caller (`services/named_principals.py`); dropping one forgets them here."""
    note_change(conn)
    if text is None:
        _forget_principals(conn, service, region, name)
    changed = conn.execute(
        update(_t).where(_key(service, region, name)).values(policy=text, policy_updated_at=now)
    ).rowcount
    if not changed and text is not None:
        conn.execute(
            _t.insert().values(
                service=service,
                region=region,
                name=name,
                owner_account=default_owner,
                policy=text,
                created_at=now,
                policy_updated_at=now,
            )
        )


def _forget_principals(conn: Connection, service: str, region: str, name: str) -> None:
    """A bucket's or a key's policy is gone: so are the bindings of the principals it named."""
    if service == "s3":
        named.forget(conn, named.BUCKET, name)
    elif service == "kms":
        named.forget(conn, named.KEY, named.key_holder(region, name))


def policy_for_update(conn: Connection, service: str, region: str, name: str) -> str | None:
    """A resource's stored policy, its row held until the transaction ends (a rewrite of the text is not
    lost to a PutBucketPolicy made meanwhile)."""
    stmt = select(_t.c.policy).where(_key(service, region, name)).with_for_update(key_share=True)
    return conn.execute(stmt).scalar()


def rewrite_policy(conn: Connection, service: str, region: str, name: str, text: str) -> None:
    """Replace a resource's stored policy by a rewriting of it (its time of update kept)."""
    note_change(conn)
    conn.execute(update(_t).where(_key(service, region, name)).values(policy=text))


def find(conn: Connection, service: str, region: str, name: str) -> tuple[str, str | None] | None:
    """(owner account, stored policy) of a resource Ostiary saw created or gave a policy, else None."""
    row = conn.execute(_FIND, {"service": service, "region": region, "name": name}).first()
    if row is None:
        return None
    return str(row.owner_account), (str(row.policy) if row.policy is not None else None)
