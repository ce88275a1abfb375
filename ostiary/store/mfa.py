"""Virtual MFA devices: rows of `mfa_devices` (seed sealed, assignment, last accepted TOTP step)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, func, select, update

from ostiary.store.pages import Page, fetch_page
from ostiary.store.tables import mfa_devices


def seed_purpose(serial_number: str) -> bytes:
    """The associated data a device's seed is sealed under: a sealed seed opens only for its device."""
    return b"mfa-seed:" + serial_number.encode()


def insert(conn: Connection, **values: Any) -> None:
    """Add a device; `values` are the columns, `name_key` is derived from `name`."""
    conn.execute(mfa_devices.insert().values(name_key=values["name"].lower(), drift_steps=0, **values))


def name_taken(conn: Connection, account_id: str, name: str) -> bool:
    stmt = select(mfa_devices.c.serial_number).where(
        mfa_devices.c.account_id == account_id, mfa_devices.c.name_key == name.lower()
    )
    return conn.execute(stmt).first() is not None


def find(conn: Connection, account_id: str, serial_number: str, *, lock: bool = False) -> Row[Any] | None:
    """One of the account's devices by serial number, or None."""
    stmt = select(mfa_devices).where(
        mfa_devices.c.account_id == account_id, mfa_devices.c.serial_number == serial_number
    )
    if lock:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def count_for_user(conn: Connection, user_id: str) -> int:
    stmt = select(func.count()).select_from(mfa_devices).where(mfa_devices.c.user_id == user_id)
    return int(conn.execute(stmt).scalar() or 0)


def change(conn: Connection, serial_number: str, **values: Any) -> None:
    """Set some columns of one device."""
    conn.execute(update(mfa_devices).where(mfa_devices.c.serial_number == serial_number).values(**values))


def accept_step(conn: Connection, serial_number: str, step: int) -> bool:
    """Record `step` as the newest accepted one, only if it is newer than the last (atomic)."""
    last = mfa_devices.c.last_time_step
    result = conn.execute(
        update(mfa_devices)
        .where(mfa_devices.c.serial_number == serial_number, (last.is_(None)) | (last < step))
        .values(last_time_step=step)
    )
    return bool(result.rowcount == 1)


def remove(conn: Connection, serial_number: str) -> None:
    conn.execute(delete(mfa_devices).where(mfa_devices.c.serial_number == serial_number))


def virtual_page(
    conn: Connection, account_id: str, assignment: str, marker: str | None, max_items: int | None
) -> Page:
    """One page of the account's devices filtered by Assigned/Unassigned/Any."""
    stmt = select(mfa_devices).where(mfa_devices.c.account_id == account_id)
    if assignment == "Assigned":
        stmt = stmt.where(mfa_devices.c.user_id.is_not(None))
    elif assignment == "Unassigned":
        stmt = stmt.where(mfa_devices.c.user_id.is_(None))
    return fetch_page(conn, stmt, mfa_devices.c.serial_number, marker, max_items)


def user_page(conn: Connection, user_id: str, marker: str | None, max_items: int | None) -> Page:
    """One page of the devices enabled for one user."""
    stmt = select(mfa_devices).where(mfa_devices.c.user_id == user_id)
    return fetch_page(conn, stmt, mfa_devices.c.serial_number, marker, max_items)
