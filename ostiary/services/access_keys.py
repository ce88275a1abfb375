"""Access keys of users and of the account root: at most two each, secrets sealed at rest."""

from __future__ import annotations

from typing import Any

from ostiary import ids
from ostiary.errors import AccessDenied, LimitExceededException, NoSuchEntityException
from ostiary.services import Context, operation
from ostiary.services.users import own_name
from ostiary.services.users import require as require_user
from ostiary.store import access_keys as store
from ostiary.store import accounts
from ostiary.store.db import Connection
from ostiary.store.pages import page_list
from ostiary.store.users import utc

KEYS_PER_USER = 2


def _owner(
    ctx: Context, conn: Connection, user_name: str | None, *, lock: bool = False
) -> tuple[str | None, str | None]:
    """(user_id, user_name) of the keys' owner: the named user, else the caller (None, None for root)."""
    if user_name is not None:
        row = require_user(conn, ctx.account_id, user_name, lock=lock)
        return row.user_id, row.name
    if ctx.caller.is_root:
        if lock:
            accounts.get(conn, ctx.account_id, lock=True)
        return None, None
    return _owner(ctx, conn, own_name(ctx, None, conn), lock=lock)


def _owned_key(ctx: Context, conn: Connection, access_key_id: str, user_name: str | None) -> str:
    """The key, when it belongs to the owner that `user_name` (or the caller) designates."""
    user_id, _ = _owner(ctx, conn, user_name)
    row = store.get(conn, ctx.account_id, access_key_id)
    if row is None or row.user_id != user_id:
        raise NoSuchEntityException(f"The Access Key with id {access_key_id} cannot be found.")
    return str(row.access_key_id)


def _with_user(shape: dict[str, Any], user_name: str | None) -> dict[str, Any]:
    return {"UserName": user_name, **shape} if user_name is not None else shape


@operation("CreateAccessKey")
def create_access_key(ctx: Context, user_name: str | None = None) -> dict[str, Any]:
    key_id, secret = ids.access_key_id(), ids.secret_access_key()
    with ctx.db.transaction() as conn:
        user_id, name = _owner(ctx, conn, user_name, lock=True)
        if store.count_of_owner(conn, ctx.account_id, user_id) >= KEYS_PER_USER:
            raise LimitExceededException(f"Cannot exceed quota for AccessKeysPerUser: {KEYS_PER_USER}")
        store.insert(
            conn,
            ctx.keyring,
            access_key_id=key_id,
            secret=secret,
            account_id=ctx.account_id,
            user_id=user_id,
            now=ctx.now,
        )
    shape = {"AccessKeyId": key_id, "Status": "Active", "SecretAccessKey": secret, "CreateDate": ctx.now}
    return {"AccessKey": _with_user(shape, name)}


def _creation_key(row: Any) -> str:
    return f"{utc(row.created_at):%Y%m%d%H%M%S%f}{row.access_key_id}"  # stored in UTC


@operation("ListAccessKeys")
def list_access_keys(
    ctx: Context, user_name: str | None = None, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        user_id, name = _owner(ctx, conn, user_name)
        rows = store.of_owner(conn, ctx.account_id, user_id)
    # in creation order, and a Marker must sort with it: a key's id alone sorts apart (a Marker looped)
    items, fields = page_list(rows, marker, max_items, key=_creation_key)
    keys = [
        _with_user(
            {"AccessKeyId": r.access_key_id, "Status": r.status, "CreateDate": utc(r.created_at)}, name
        )
        for r in items
    ]
    return {"AccessKeyMetadata": keys, **fields}


@operation("UpdateAccessKey")
def update_access_key(
    ctx: Context, access_key_id: str, status: str, user_name: str | None = None
) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        store.set_status(conn, _owned_key(ctx, conn, access_key_id, user_name), status)
    return {}


@operation("DeleteAccessKey")
def delete_access_key(ctx: Context, access_key_id: str, user_name: str | None = None) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        store.delete_key(conn, _owned_key(ctx, conn, access_key_id, user_name))
    return {}


@operation("GetAccessKeyLastUsed")
def get_access_key_last_used(ctx: Context, access_key_id: str) -> dict[str, Any]:
    with ctx.db.read() as conn:
        row = store.get(conn, ctx.account_id, access_key_id)
    if row is None:
        raise AccessDenied(
            f"User: {ctx.caller.arn} is not authorized to perform iam:GetAccessKeyLastUsed "
            f"on resource: access key {access_key_id}"
        )
    used: dict[str, Any] = {
        "ServiceName": row.last_used_service or "N/A",
        "Region": row.last_used_region or "N/A",
    }
    if row.last_used_at is not None:
        used["LastUsedDate"] = utc(row.last_used_at)
    return _with_user({"AccessKeyLastUsed": used}, row.user_name)
