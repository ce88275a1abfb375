"""IAM users: create, read, rename, delete, list, and their permissions boundaries."""

from __future__ import annotations

import re
from typing import Any

from ostiary import enforce, ids
from ostiary.errors import (
    DeleteConflictException,
    EntityAlreadyExistsException,
    InvalidInputException,
    NoSuchEntityException,
    ValidationError,
)
from ostiary.services import Context, named_principals, operation
from ostiary.services import tags as tag_service
from ostiary.store import accounts, locks
from ostiary.store import policies as policy_store
from ostiary.store import users as store
from ostiary.store.db import Connection

_POLICY_ARN = re.compile(r"arn:aws:iam::(\d{12}|aws):policy/[\u0021-\u007e]+")
NON_USER_CREDENTIALS = "Must specify userName when calling with non-User credentials"


def not_found(name: str) -> NoSuchEntityException:
    return NoSuchEntityException(f"The user with name {name} cannot be found.")


def already_exists(name: str) -> EntityAlreadyExistsException:
    return EntityAlreadyExistsException(f"User with name {name} already exists.")


def require(conn: Connection, account_id: str, name: str, *, lock: bool = False) -> Any:
    """The user of this name, or AWS's NoSuchEntity."""
    row = store.find(conn, account_id, name, lock=lock)
    if row is None:
        raise not_found(name)
    return row


def own_name(ctx: Context, user_name: str | None, conn: Connection | None = None) -> str:
    """`user_name`, or the calling user's own name when omitted (refused for non-user callers).

    The caller's user is found by its id, never by the name its credentials were issued under: a
    session outlives a rename, after which the name may be another user's (read on `conn` if given)."""
    if user_name is not None:
        return user_name
    caller = ctx.caller
    if caller.principal_type != "User" or caller.user_name is None:
        raise ValidationError(NON_USER_CREDENTIALS)
    user_id = (caller.session.source_user_id if caller.session is not None else None) or caller.user_id
    if conn is None:
        with ctx.db.read() as read:
            row = store.find_by_id(read, user_id)
    else:
        row = store.find_by_id(conn, user_id)
    if row is None or row.account_id != ctx.account_id:
        raise not_found(caller.user_name)
    name: str = row.name
    return name


def user_arn(account_id: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:user{path}{name}"


def user_shape(row: Any) -> dict[str, Any]:
    """A User as ListUsers and GetGroup show it (no boundary, no tags)."""
    shape = {
        "Path": row.path,
        "UserName": row.name,
        "UserId": row.user_id,
        "Arn": user_arn(row.account_id, row.path, row.name),
        "CreateDate": store.utc(row.created_at),
    }
    if row.password_last_used_at is not None:
        shape["PasswordLastUsed"] = store.utc(row.password_last_used_at)
    return shape


def check_boundary(conn: Connection, account_id: str, arn: str) -> None:
    """A permissions boundary must name an existing, attachable managed policy (the account's or AWS's)."""
    match = _POLICY_ARN.fullmatch(arn)
    if match is None:
        raise InvalidInputException(f"ARN {arn} is not valid.")
    locks.hold_policy(conn, arn)  # DeletePolicy waits for this transaction, and then sees the boundary
    if match.group(1) not in (account_id, "aws") or not policy_store.attachable_policy_exists(conn, arn):
        raise NoSuchEntityException(f"Scope ARN: {arn} does not exist or is not attachable.")


def boundary_shape(arn: str) -> dict[str, str]:
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}


@operation("CreateUser")
def create_user(
    ctx: Context,
    user_name: str,
    path: str = "/",
    permissions_boundary: str | None = None,
    tags: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    if tags:
        tag_service.check_tags(tags, "user")
    user_id = ids.unique_id("AIDA")
    with ctx.db.transaction(on_conflict=already_exists(user_name)) as conn:
        if permissions_boundary is not None:
            check_boundary(conn, ctx.account_id, permissions_boundary)
        store.insert(
            conn,
            user_id=user_id,
            account_id=ctx.account_id,
            name=user_name,
            path=path,
            boundary=permissions_boundary,
            now=ctx.now,
        )
        if tags:
            tag_service.apply_tags(conn, "user", user_id, tags)
    shape: dict[str, Any] = {
        "Path": path,
        "UserName": user_name,
        "UserId": user_id,
        "Arn": user_arn(ctx.account_id, path, user_name),
        "CreateDate": ctx.now,
    }
    if permissions_boundary is not None:
        shape["PermissionsBoundary"] = boundary_shape(permissions_boundary)
    if tags:
        shape["Tags"] = [{"Key": t["Key"], "Value": t["Value"]} for t in tags]
    return {"User": shape}


@operation("GetUser")
def get_user(ctx: Context, user_name: str | None = None) -> dict[str, Any]:
    if user_name is None:
        if ctx.caller.is_root:
            return {"User": _root_shape(ctx)}
        user_name = own_name(ctx, None)
    with ctx.db.read() as conn:
        found = store.find_with_tags(conn, ctx.account_id, user_name)
    if found is None:
        raise not_found(user_name)
    row, tags = found
    shape = user_shape(row)
    if row.permissions_boundary:
        shape["PermissionsBoundary"] = boundary_shape(row.permissions_boundary)
    if tags:
        shape["Tags"] = [{"Key": key, "Value": value} for key, value in tags]
    return {"User": shape}


@operation("UpdateUser")
def update_user(
    ctx: Context, user_name: str, new_path: str | None = None, new_user_name: str | None = None
) -> dict[str, Any]:
    conflict = already_exists(new_user_name or user_name)
    if new_path is not None or new_user_name is not None:
        with ctx.db.read() as conn:
            row = require(conn, ctx.account_id, user_name)
        # AWS: a rename or move needs the permission on the source and on the target alike
        target = user_arn(ctx.account_id, new_path or row.path, new_user_name or row.name)
        enforce.require(ctx, "iam:UpdateUser", target, {})
    with ctx.db.transaction(on_conflict=conflict) as conn:
        named_principals.hold_deletes(conn)
        row = require(conn, ctx.account_id, user_name)
        name = new_user_name or row.name
        if name.lower() != row.name_key and store.find(conn, ctx.account_id, name) is not None:
            raise conflict
        store.update_user(conn, row.user_id, name=name, path=new_path or row.path)
        if (name, new_path or row.path) != (row.name, row.path):
            named_principals.renamed(conn, row.user_id, user_arn(ctx.account_id, new_path or row.path, name))
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


@operation("DeleteUser")
def delete_user(ctx: Context, user_name: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        named_principals.hold_deletes(conn)
        row = require(conn, ctx.account_id, user_name, lock=True)
        conflict = store.delete_conflict(conn, row.user_id)
        if conflict is not None:
            raise DeleteConflictException(conflict)
        named_principals.deleted(conn, row.user_id)
        store.delete_user(conn, row.user_id)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


@operation("ListUsers")
def list_users(
    ctx: Context, path_prefix: str | None = None, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        page = store.page(conn, ctx.account_id, path_prefix, marker, max_items)
    return {"Users": [user_shape(row) for row in page.rows], **page.fields()}


@operation("PutUserPermissionsBoundary")
def put_user_permissions_boundary(ctx: Context, user_name: str, permissions_boundary: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        row = require(conn, ctx.account_id, user_name)
        check_boundary(conn, ctx.account_id, permissions_boundary)
        store.set_boundary(conn, row.user_id, permissions_boundary)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


@operation("DeleteUserPermissionsBoundary")
def delete_user_permissions_boundary(ctx: Context, user_name: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        row = require(conn, ctx.account_id, user_name)
        if row.permissions_boundary is not None:
            store.set_boundary(conn, row.user_id, None)
            accounts.bump_epoch(conn, ctx.account_id)
    return {}


def _root_shape(ctx: Context) -> dict[str, Any]:
    """The account root as GetUser shows it: the account id as UserId, the root ARN, no name or path."""
    with ctx.db.read() as conn:
        account = accounts.get(conn, ctx.account_id)
    shape: dict[str, Any] = {"UserId": ctx.account_id, "Arn": f"arn:aws:iam::{ctx.account_id}:root"}
    if account is not None:
        shape["CreateDate"] = store.utc(account.created_at)
    return shape
