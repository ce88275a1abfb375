"""Managed policies attached to users, groups and roles: attach, detach, list, and who uses a policy."""

from __future__ import annotations

from typing import Any

from ostiary.errors import LimitExceededException, NoSuchEntityException, PolicyNotAttachableException
from ostiary.services import Context, operation
from ostiary.services.policies import check_arn, find_policy
from ostiary.services.roles import check_modifiable
from ostiary.store import accounts
from ostiary.store import policies as store
from ostiary.store.db import Connection
from ostiary.store.pages import page_list

MAX_ATTACHED = 10  # managed policies per user, group or role
_QUOTA_NAMES = {"user": "PoliciesPerUser", "group": "PoliciesPerGroup", "role": "PoliciesPerRole"}
_NOT_ATTACHABLE = "does not exist or is not attachable."


def find_entity(conn: Connection, ctx: Context, kind: str, name: str, *, lock: bool = False) -> store.Entity:
    """The caller's user, group or role by name, or NoSuchEntity with IAM's text; `lock` holds its row."""
    entity = store.find_entity(conn, ctx.account_id, kind, name, lock=lock)
    if entity is None:
        raise NoSuchEntityException(f"The {kind} with name {name} cannot be found.")
    return entity


def find_modifiable(
    conn: Connection, ctx: Context, kind: str, name: str, *, lock: bool = False
) -> store.Entity:
    """Like find_entity, but refusing a service-linked role (only its service may change it)."""
    entity = find_entity(conn, ctx, kind, name, lock=lock)
    check_modifiable(entity)
    return entity


def _attach(ctx: Context, kind: str, name: str, policy_arn: str) -> dict[str, Any]:
    check_arn(policy_arn)
    with ctx.db.transaction() as conn:
        # its row held: another worker's attachment is counted, and the entity is not deleted meanwhile
        entity = find_modifiable(conn, ctx, kind, name, lock=True)
        policy = find_policy(conn, ctx, policy_arn, _NOT_ATTACHABLE)
        if not policy.is_attachable:
            raise NoSuchEntityException(f"Policy {policy_arn} {_NOT_ATTACHABLE}")
        if _is_service_role_policy(policy) and entity.service_linked is None:
            raise PolicyNotAttachableException("Cannot attach a Service Role Policy to a Customer Role.")
        if store.is_attached(conn, policy.policy_id, entity):
            return {}
        if store.count_attached(conn, entity) >= MAX_ATTACHED:
            raise LimitExceededException(f"Cannot exceed quota for {_QUOTA_NAMES[kind]}: {MAX_ATTACHED}")
        store.attach(conn, policy.policy_id, entity)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


def _is_service_role_policy(policy: Any) -> bool:
    return bool(policy.account_id == store.AWS_ACCOUNT and policy.path.startswith("/aws-service-role/"))


def _detach(ctx: Context, kind: str, name: str, policy_arn: str) -> dict[str, Any]:
    check_arn(policy_arn)
    with ctx.db.transaction() as conn:
        entity = find_modifiable(conn, ctx, kind, name)
        policy = store.find(conn, ctx.account_id, policy_arn)
        if policy is None or not store.is_attached(conn, policy.policy_id, entity):
            raise NoSuchEntityException(f"Policy {policy_arn} was not found.")
        store.detach(conn, policy.policy_id, entity)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


def _list_attached(
    ctx: Context, kind: str, name: str, path_prefix: str, marker: str | None, max_items: int | None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        entity = find_entity(conn, ctx, kind, name)
        rows = store.attached_policies(conn, kind, entity.entity_id, path_prefix)
    items = [(f"{i:06d}", {"PolicyName": r.name, "PolicyArn": r.arn}) for i, r in enumerate(rows)]
    page, fields = page_list(items, marker, max_items, key=lambda item: item[0])
    return {"AttachedPolicies": [shape for _, shape in page], **fields}


@operation("AttachUserPolicy")
def attach_user_policy(ctx: Context, user_name: str, policy_arn: str) -> dict[str, Any]:
    """Attach a managed policy to a user (at most ten)."""
    return _attach(ctx, "user", user_name, policy_arn)


@operation("AttachGroupPolicy")
def attach_group_policy(ctx: Context, group_name: str, policy_arn: str) -> dict[str, Any]:
    """Attach a managed policy to a group (at most ten)."""
    return _attach(ctx, "group", group_name, policy_arn)


@operation("AttachRolePolicy")
def attach_role_policy(ctx: Context, role_name: str, policy_arn: str) -> dict[str, Any]:
    """Attach a managed policy to a role (at most ten)."""
    return _attach(ctx, "role", role_name, policy_arn)


@operation("DetachUserPolicy")
def detach_user_policy(ctx: Context, user_name: str, policy_arn: str) -> dict[str, Any]:
    """Detach a managed policy from a user."""
    return _detach(ctx, "user", user_name, policy_arn)


@operation("DetachGroupPolicy")
def detach_group_policy(ctx: Context, group_name: str, policy_arn: str) -> dict[str, Any]:
    """Detach a managed policy from a group."""
    return _detach(ctx, "group", group_name, policy_arn)


@operation("DetachRolePolicy")
def detach_role_policy(ctx: Context, role_name: str, policy_arn: str) -> dict[str, Any]:
    """Detach a managed policy from a role."""
    return _detach(ctx, "role", role_name, policy_arn)


@operation("ListAttachedUserPolicies")
def list_attached_user_policies(
    ctx: Context,
    user_name: str,
    path_prefix: str = "/",
    marker: str | None = None,
    max_items: int | None = None,
) -> dict[str, Any]:
    """The managed policies attached to a user."""
    return _list_attached(ctx, "user", user_name, path_prefix, marker, max_items)


@operation("ListAttachedGroupPolicies")
def list_attached_group_policies(
    ctx: Context,
    group_name: str,
    path_prefix: str = "/",
    marker: str | None = None,
    max_items: int | None = None,
) -> dict[str, Any]:
    """The managed policies attached to a group."""
    return _list_attached(ctx, "group", group_name, path_prefix, marker, max_items)


@operation("ListAttachedRolePolicies")
def list_attached_role_policies(
    ctx: Context,
    role_name: str,
    path_prefix: str = "/",
    marker: str | None = None,
    max_items: int | None = None,
) -> dict[str, Any]:
    """The managed policies attached to a role."""
    return _list_attached(ctx, "role", role_name, path_prefix, marker, max_items)


_MEMBERS = {
    "user": ("PolicyUsers", "UserName", "UserId"),
    "group": ("PolicyGroups", "GroupName", "GroupId"),
    "role": ("PolicyRoles", "RoleName", "RoleId"),
}
_FILTERS = {
    None: ("user", "group", "role"),
    "User": ("user",),
    "Group": ("group",),
    "Role": ("role",),
    "LocalManagedPolicy": (),
    "AWSManagedPolicy": (),
}


@operation("ListEntitiesForPolicy")
def list_entities_for_policy(
    ctx: Context,
    policy_arn: str,
    entity_filter: str | None = None,
    path_prefix: str = "/",
    policy_usage_filter: str | None = None,
    marker: str | None = None,
    max_items: int | None = None,
) -> dict[str, Any]:
    """The users, groups and roles of the account that use a managed policy."""
    with ctx.db.read() as conn:
        policy = find_policy(conn, ctx, policy_arn, _NOT_ATTACHABLE)
        found: dict[tuple[str, str], str] = {}
        for kind in _FILTERS[entity_filter]:
            if policy_usage_filter in (None, "PermissionsPolicy"):
                for r in store.attached_entities(conn, policy.policy_id, ctx.account_id, kind, path_prefix):
                    found[(kind, r.entity_id)] = r.name
            if policy_usage_filter in (None, "PermissionsBoundary") and kind != "group":
                for r in store.boundary_entities(conn, policy.arn, ctx.account_id, kind, path_prefix):
                    found[(kind, r.entity_id)] = r.name
    items = sorted(((kind, name.lower(), entity_id, name) for (kind, entity_id), name in found.items()))
    page, fields = page_list(items, marker, max_items, key=lambda i: f"{i[0]}/{i[1]}/{i[2]}")
    out: dict[str, Any] = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": [], **fields}
    for kind, _, entity_id, name in page:
        member, name_key, id_key = _MEMBERS[kind]
        out[member].append({name_key: name, id_key: entity_id})
    return out
