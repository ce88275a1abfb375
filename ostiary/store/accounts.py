"""Accounts: create, find, and the per-account epoch that versions every permission."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select, update

from ostiary.store import changes
from ostiary.store.db import Database
from ostiary.store.tables import (
    access_keys,
    account_counts,
    accounts,
    groups,
    instance_profiles,
    managed_policies,
    mfa_devices,
    oidc_providers,
    policy_versions,
    roles,
    saml_providers,
    server_certificates,
    signing_certificates,
    users,
)


def exists(conn: Connection, account_id: str) -> bool:
    return (
        conn.execute(select(accounts.c.account_id).where(accounts.c.account_id == account_id)).first()
        is not None
    )


def create(conn: Connection, account_id: str, now: datetime) -> None:
    conn.execute(accounts.insert().values(account_id=account_id, policy_epoch=0, created_at=now))


def bump_epoch(conn: Connection, account_id: str) -> None:
    """Mark that something changed what principals of this account may do."""
    global _local_bumps
    _local_bumps += 1
    conn.execute(
        update(accounts)
        .where(accounts.c.account_id == account_id)
        .values(policy_epoch=accounts.c.policy_epoch + 1)
    )
    changes.announce(conn, changes.EPOCH, account_id)


def forget_recent_epochs() -> None:
    """Another node changed some account's permissions: every epoch kept by `recent_epoch` is read again."""
    global _local_bumps
    _local_bumps += 1


_EPOCH = select(accounts.c.policy_epoch).where(accounts.c.account_id == bindparam("account"))


def epoch(conn: Connection, account_id: str) -> int:
    value = conn.execute(_EPOCH, {"account": account_id}).scalar()
    return int(value or 0)


EPOCH_TTL_SECONDS = 1.0
_EPOCH_CACHE_SIZE = 10_000
_local_bumps = 0  # epochs this process bumped: a cached epoch is dropped at once when it changes
_epochs: dict[tuple[str, str], tuple[int, int, float]] = {}
RECENT_EPOCH_LOOKUPS = [0, 0]  # (hits, misses) of `recent_epoch`, for metrics


def recent_epoch(db: Database, account_id: str) -> int:
    """The account's epoch as read at most EPOCH_TTL_SECONDS ago, and since this process last changed any
    account's permissions: what the gateway's hot path decides with (another process's change reaches it
    within that second, as a key's status does; AWS's IAM changes take seconds to spread too)."""
    key = (db.url, account_id)
    hit = _epochs.get(key)
    clock = time.monotonic()
    if hit is not None and hit[1] == _local_bumps and clock - hit[2] < EPOCH_TTL_SECONDS:
        RECENT_EPOCH_LOOKUPS[0] += 1
        return hit[0]
    RECENT_EPOCH_LOOKUPS[1] += 1
    bumps = _local_bumps
    with db.read() as conn:
        value = epoch(conn, account_id)
    if len(_epochs) >= _EPOCH_CACHE_SIZE:
        _epochs.clear()
    _epochs[key] = (value, bumps, clock)
    return value


def get(conn: Connection, account_id: str, *, lock: bool = False) -> Row[Any] | None:
    """The account's row; `lock` holds it until the transaction ends (serialises per-account quotas)."""
    stmt = select(accounts).where(accounts.c.account_id == account_id)
    if lock:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def password_policy(conn: Connection, account_id: str) -> dict[str, Any] | None:
    """The account password policy as stored (AWS member names), or None when there is none."""
    stmt = select(accounts.c.password_policy).where(accounts.c.account_id == account_id)
    text = conn.execute(stmt).scalar()
    return json.loads(text) if text else None


def set_password_policy(conn: Connection, account_id: str, policy: dict[str, Any] | None) -> None:
    conn.execute(
        update(accounts)
        .where(accounts.c.account_id == account_id)
        .values(password_policy=json.dumps(policy) if policy is not None else None)
    )


def alias(conn: Connection, account_id: str) -> str | None:
    return conn.execute(select(accounts.c.alias).where(accounts.c.account_id == account_id)).scalar()


def with_alias(conn: Connection, alias: str) -> str | None:
    """The account whose alias is `alias` (the console's sign-in takes an alias for the account id)."""
    return conn.execute(select(accounts.c.account_id).where(accounts.c.alias == alias)).scalar()


def set_alias(conn: Connection, account_id: str, value: str | None) -> None:
    """Give the account an alias (or none); an alias taken by another account breaks its unique constraint."""
    conn.execute(update(accounts).where(accounts.c.account_id == account_id).values(alias=value))


def token_version(conn: Connection, account_id: str) -> int:
    """The version of the session tokens the global STS endpoint issues for the account (AWS's default 1)."""
    stmt = select(accounts.c.global_endpoint_token_version).where(accounts.c.account_id == account_id)
    return int(conn.execute(stmt).scalar() or 1)


def set_token_version(conn: Connection, account_id: str, version: int) -> None:
    conn.execute(
        update(accounts)
        .where(accounts.c.account_id == account_id)
        .values(global_endpoint_token_version=version)
    )


# GetAccountSummary's keys that triggers keep counted in account_counts (migration 0015)
KEPT_COUNTS = (
    "Users",
    "Groups",
    "Roles",
    "InstanceProfiles",
    "Policies",
    "PolicyVersionsInUse",
    "MFADevices",
    "MFADevicesInUse",
)


def summary_counts(conn: Connection, account_id: str) -> dict[str, int]:
    """The entity counts of GetAccountSummary: the kept ones read, the few others counted (indexed)."""

    def total(table: Any, *where: Any) -> Any:
        return select(func.count()).select_from(table).where(*where).scalar_subquery()

    kept = conn.execute(
        select(account_counts.c.kind, account_counts.c.count).where(account_counts.c.account_id == account_id)
    )
    found = dict.fromkeys(KEPT_COUNTS, 0) | {str(kind): int(count) for kind, count in kept}
    row = conn.execute(
        select(
            total(access_keys, access_keys.c.account_id == account_id, access_keys.c.user_id.is_(None)).label(
                "RootAccessKeys"
            ),
            total(oidc_providers, oidc_providers.c.account_id == account_id).label("OIDCProviders"),
            total(saml_providers, saml_providers.c.account_id == account_id).label("SAMLProviders"),
            total(server_certificates, server_certificates.c.account_id == account_id).label(
                "ServerCertificates"
            ),
            total(
                signing_certificates,
                signing_certificates.c.account_id == account_id,
                signing_certificates.c.user_id.is_(None),
            ).label("RootSigningCertificates"),
        )
    ).one()
    return found | {key: int(value or 0) for key, value in row._mapping.items()}


def counted_summary(conn: Connection, account_id: str) -> dict[str, int]:
    """The kept counts as a count of the rows would give them (what the triggers must keep equal)."""

    def total(table: Any, *where: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0)

    versions = policy_versions.join(
        managed_policies, managed_policies.c.policy_id == policy_versions.c.policy_id
    )
    return {
        "Users": total(users, users.c.account_id == account_id),
        "Groups": total(groups, groups.c.account_id == account_id),
        "Roles": total(roles, roles.c.account_id == account_id),
        "InstanceProfiles": total(instance_profiles, instance_profiles.c.account_id == account_id),
        "Policies": total(managed_policies, managed_policies.c.account_id == account_id),
        "PolicyVersionsInUse": total(versions, managed_policies.c.account_id == account_id),
        "MFADevices": total(mfa_devices, mfa_devices.c.account_id == account_id),
        "MFADevicesInUse": total(
            mfa_devices, mfa_devices.c.account_id == account_id, mfa_devices.c.user_id.is_not(None)
        ),
    }
