"""IAM groups and their members."""

from __future__ import annotations

from typing import Any

from ostiary import enforce, ids
from ostiary.errors import (
    DeleteConflictException,
    EntityAlreadyExistsException,
    LimitExceededException,
    NoSuchEntityException,
)
from ostiary.services import Context, operation
from ostiary.services.users import require as require_user
from ostiary.services.users import user_shape
from ostiary.store import accounts
from ostiary.store import groups as store
from ostiary.store.db import Connection
from ostiary.store.users import utc

GROUPS_PER_USER = 10


def require(conn: Connection, account_id: str, name: str, *, lock: bool = False) -> Any:
    """The group of this name, or AWS's NoSuchEntity; `lock` holds its row until the transaction ends."""
    row = store.find(conn, account_id, name, lock=lock)
    if row is None:
        raise NoSuchEntityException(f"The group with name {name} cannot be found.")
    return row


def group_shape(row: Any) -> dict[str, Any]:
    return {
        "Path": row.path,
        "GroupName": row.name,
        "GroupId": row.group_id,
        "Arn": f"arn:aws:iam::{row.account_id}:group{row.path}{row.name}",
        "CreateDate": utc(row.created_at),
    }


def _already_exists(name: str) -> EntityAlreadyExistsException:
    return EntityAlreadyExistsException(f"Group with name {name} already exists.")


@operation("CreateGroup")
def create_group(ctx: Context, group_name: str, path: str = "/") -> dict[str, Any]:
    group_id = ids.unique_id("AGPA")
    with ctx.db.transaction(on_conflict=_already_exists(group_name)) as conn:
        store.insert(
            conn, group_id=group_id, account_id=ctx.account_id, name=group_name, path=path, now=ctx.now
        )
    return {
        "Group": {
            "Path": path,
            "GroupName": group_name,
            "GroupId": group_id,
            "Arn": f"arn:aws:iam::{ctx.account_id}:group{path}{group_name}",
            "CreateDate": ctx.now,
        }
    }


@operation("GetGroup")
def get_group(
    ctx: Context, group_name: str, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        group = require(conn, ctx.account_id, group_name)
        page = store.members_page(conn, group.group_id, marker, max_items)
    return {"Group": group_shape(group), "Users": [user_shape(u) for u in page.rows], **page.fields()}


@operation("UpdateGroup")
def update_group(
    ctx: Context, group_name: str, new_path: str | None = None, new_group_name: str | None = None
) -> dict[str, Any]:
    conflict = _already_exists(new_group_name or group_name)
    if new_path is not None or new_group_name is not None:
        with ctx.db.read() as conn:
            row = require(conn, ctx.account_id, group_name)
        # AWS: a rename or move needs the permission on the source and on the target alike
        target = f"arn:aws:iam::{ctx.account_id}:group{new_path or row.path}{new_group_name or row.name}"
        enforce.require(ctx, "iam:UpdateGroup", target, {})
    with ctx.db.transaction(on_conflict=conflict) as conn:
        row = require(conn, ctx.account_id, group_name)
        name = new_group_name or row.name
        if name.lower() != row.name_key and store.find(conn, ctx.account_id, name) is not None:
            raise conflict
        store.update_group(conn, row.group_id, name=name, path=new_path or row.path)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


@operation("DeleteGroup")
def delete_group(ctx: Context, group_name: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        row = require(conn, ctx.account_id, group_name, lock=True)  # no policy attached meanwhile
        conflict = store.delete_conflict(conn, row.group_id)
        if conflict is not None:
            raise DeleteConflictException(conflict)
        store.delete_group(conn, row.group_id)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


@operation("ListGroups")
def list_groups(
    ctx: Context, path_prefix: str | None = None, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        page = store.page(conn, ctx.account_id, path_prefix, marker, max_items)
    return {"Groups": [group_shape(row) for row in page.rows], **page.fields()}


@operation("AddUserToGroup")
def add_user_to_group(ctx: Context, group_name: str, user_name: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        user = require_user(conn, ctx.account_id, user_name, lock=True)
        group = require(conn, ctx.account_id, group_name)
        if store.is_member(conn, group.group_id, user.user_id):
            return {}
        if store.membership_count(conn, user.user_id) >= GROUPS_PER_USER:
            raise LimitExceededException(f"Cannot exceed quota for GroupsPerUser: {GROUPS_PER_USER}")
        store.add_member(conn, group.group_id, user.user_id)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


@operation("RemoveUserFromGroup")
def remove_user_from_group(ctx: Context, group_name: str, user_name: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        user = require_user(conn, ctx.account_id, user_name)
        group = require(conn, ctx.account_id, group_name)
        if store.is_member(conn, group.group_id, user.user_id):
            store.remove_member(conn, group.group_id, user.user_id)
            accounts.bump_epoch(conn, ctx.account_id)
    return {}


@operation("ListGroupsForUser")
def list_groups_for_user(
    ctx: Context, user_name: str, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        user = require_user(conn, ctx.account_id, user_name)
        page = store.groups_of_user_page(conn, user.user_id, marker, max_items)
    return {"Groups": [group_shape(row) for row in page.rows], **page.fields()}
