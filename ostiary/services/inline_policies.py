"""Inline policies of users, groups and roles: put, get, list, delete; documents URL-encoded when read."""

from __future__ import annotations

from typing import Any

from ostiary.errors import NoSuchEntityException
from ostiary.services import Context, operation
from ostiary.services.attachments import find_entity, find_modifiable
from ostiary.services.documents import (
    GROUP_INLINE_MAX,
    IDENTITY,
    ROLE_INLINE_MAX,
    USER_INLINE_MAX,
    check_document,
    policy_size,
)
from ostiary.services.policies import url_encoded
from ostiary.store import accounts
from ostiary.store import inline_policies as store
from ostiary.store.pages import page_list

_QUOTA = {"user": USER_INLINE_MAX, "group": GROUP_INLINE_MAX, "role": ROLE_INLINE_MAX}
_NAME_MEMBER = {"user": "UserName", "group": "GroupName", "role": "RoleName"}


def _put(ctx: Context, kind: str, name: str, policy_name: str, document: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        # its row held: the others' sizes stay as read until this commits, and it is not deleted meanwhile
        entity = find_modifiable(conn, ctx, kind, name, lock=True)
        others = [
            p.document
            for p in store.all_of(conn, kind, entity.entity_id)
            if p.name_key != policy_name.lower()
        ]
        check_document(
            document,
            IDENTITY,
            _QUOTA[kind],
            owner=f"{kind} {entity.name}",
            used_chars=sum(policy_size(d) for d in others),
        )
        store.put(conn, kind, entity.entity_id, policy_name, document)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


def _get(ctx: Context, kind: str, name: str, policy_name: str) -> dict[str, Any]:
    with ctx.db.read() as conn:
        entity = find_entity(conn, ctx, kind, name)
        row = store.get(conn, kind, entity.entity_id, policy_name)
    if row is None:
        raise NoSuchEntityException(f"The {kind} policy with name {policy_name} cannot be found.")
    return {
        _NAME_MEMBER[kind]: entity.name,
        "PolicyName": row.name,
        "PolicyDocument": url_encoded(row.document),
    }


def _list(ctx: Context, kind: str, name: str, marker: str | None, max_items: int | None) -> dict[str, Any]:
    with ctx.db.read() as conn:
        entity = find_entity(conn, ctx, kind, name)
        rows = store.all_of(conn, kind, entity.entity_id)
    page, fields = page_list(rows, marker, max_items, key=lambda r: r.name_key)
    return {"PolicyNames": [r.name for r in page], **fields}


def _delete(ctx: Context, kind: str, name: str, policy_name: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        entity = find_modifiable(conn, ctx, kind, name)
        if store.get(conn, kind, entity.entity_id, policy_name) is None:
            raise NoSuchEntityException(f"The {kind} policy with name {policy_name} cannot be found.")
        store.remove(conn, kind, entity.entity_id, policy_name)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


@operation("PutUserPolicy")
def put_user_policy(ctx: Context, user_name: str, policy_name: str, policy_document: str) -> dict[str, Any]:
    """Add or replace an inline policy of a user."""
    return _put(ctx, "user", user_name, policy_name, policy_document)


@operation("PutGroupPolicy")
def put_group_policy(ctx: Context, group_name: str, policy_name: str, policy_document: str) -> dict[str, Any]:
    """Add or replace an inline policy of a group."""
    return _put(ctx, "group", group_name, policy_name, policy_document)


@operation("PutRolePolicy")
def put_role_policy(ctx: Context, role_name: str, policy_name: str, policy_document: str) -> dict[str, Any]:
    """Add or replace an inline policy of a role."""
    return _put(ctx, "role", role_name, policy_name, policy_document)


@operation("GetUserPolicy")
def get_user_policy(ctx: Context, user_name: str, policy_name: str) -> dict[str, Any]:
    """An inline policy of a user, its document URL-encoded."""
    return _get(ctx, "user", user_name, policy_name)


@operation("GetGroupPolicy")
def get_group_policy(ctx: Context, group_name: str, policy_name: str) -> dict[str, Any]:
    """An inline policy of a group, its document URL-encoded."""
    return _get(ctx, "group", group_name, policy_name)


@operation("GetRolePolicy")
def get_role_policy(ctx: Context, role_name: str, policy_name: str) -> dict[str, Any]:
    """An inline policy of a role, its document URL-encoded."""
    return _get(ctx, "role", role_name, policy_name)


@operation("ListUserPolicies")
def list_user_policies(
    ctx: Context, user_name: str, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    """The names of a user's inline policies."""
    return _list(ctx, "user", user_name, marker, max_items)


@operation("ListGroupPolicies")
def list_group_policies(
    ctx: Context, group_name: str, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    """The names of a group's inline policies."""
    return _list(ctx, "group", group_name, marker, max_items)


@operation("ListRolePolicies")
def list_role_policies(
    ctx: Context, role_name: str, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    """The names of a role's inline policies."""
    return _list(ctx, "role", role_name, marker, max_items)


@operation("DeleteUserPolicy")
def delete_user_policy(ctx: Context, user_name: str, policy_name: str) -> dict[str, Any]:
    """Delete an inline policy of a user."""
    return _delete(ctx, "user", user_name, policy_name)


@operation("DeleteGroupPolicy")
def delete_group_policy(ctx: Context, group_name: str, policy_name: str) -> dict[str, Any]:
    """Delete an inline policy of a group."""
    return _delete(ctx, "group", group_name, policy_name)


@operation("DeleteRolePolicy")
def delete_role_policy(ctx: Context, role_name: str, policy_name: str) -> dict[str, Any]:
    """Delete an inline policy of a role."""
    return _delete(ctx, "role", role_name, policy_name)
