"""An account's properties (GetAccountProperties/PutAccountProperties): `Namespace/PropertyName` → value."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select, update

from ostiary.store.tables import account_properties


def properties(conn: Connection, account_id: str) -> dict[str, str]:
    """Every property the account has set, by key."""
    stmt = select(account_properties.c.property_key, account_properties.c.value).where(
        account_properties.c.account_id == account_id
    )
    return {key: value for key, value in conn.execute(stmt.order_by(account_properties.c.property_key))}


def count_new(conn: Connection, account_id: str, keys: list[str]) -> int:
    """How many properties the account would have once `keys` are set."""
    have = select(func.count()).where(account_properties.c.account_id == account_id)
    known = have.where(account_properties.c.property_key.in_(keys))
    return int(conn.execute(have).scalar_one()) + len(keys) - int(conn.execute(known).scalar_one())


def put(conn: Connection, account_id: str, values: dict[str, str], now: datetime) -> None:
    """Set each property, replacing the value it had."""
    have = properties(conn, account_id)
    for key, value in values.items():
        if key in have:
            conn.execute(
                update(account_properties)
                .where(
                    account_properties.c.account_id == account_id, account_properties.c.property_key == key
                )
                .values(value=value, updated_at=now)
            )
        else:
            conn.execute(
                account_properties.insert().values(
                    account_id=account_id, property_key=key, value=value, updated_at=now
                )
            )
