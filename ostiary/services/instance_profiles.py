"""Instance profiles: the container that hands one role to EC2 instances."""

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
from ostiary.services import tags as tagging
from ostiary.services.roles import IN_INSTANCE_PROFILE, role_arn, role_shape
from ostiary.services.trust import resource_tag_keys
from ostiary.store import instance_profiles as store
from ostiary.store import principals
from ostiary.store import roles as role_store
from ostiary.store import tags as tag_store
from ostiary.store.db import Connection
from ostiary.store.users import utc

ROLES_PER_PROFILE = 1


def profile_arn(account_id: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:instance-profile{path}{name}"


def profile_shape(row: Any, roles: list[Any]) -> dict[str, Any]:
    """An InstanceProfile with its Roles (no tags: Get and Create add them)."""
    return {
        "Path": row.path,
        "InstanceProfileName": row.name,
        "InstanceProfileId": row.instance_profile_id,
        "Arn": profile_arn(row.account_id, row.path, row.name),
        "CreateDate": utc(row.created_at),
        "Roles": [role_shape(r) for r in roles],
    }


def _page_shapes(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    """The InstanceProfile shapes of a page, their roles read in one query."""
    roles = store.roles_by_profile(conn, [row.instance_profile_id for row in rows])
    return [profile_shape(row, roles[row.instance_profile_id]) for row in rows]


@operation("CreateInstanceProfile")
def create_instance_profile(
    ctx: Context, instance_profile_name: str, path: str = "/", tags: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    if tags:
        tagging.check_tags(tags, "instance-profile")
    conflict = EntityAlreadyExistsException(f"Instance Profile {instance_profile_name} already exists.")
    profile_id = ids.unique_id("AIPA")
    with ctx.db.transaction(on_conflict=conflict) as conn:
        if store.find_by_name(conn, ctx.account_id, instance_profile_name) is not None:
            raise conflict
        store.insert(
            conn,
            instance_profile_id=profile_id,
            account_id=ctx.account_id,
            name=instance_profile_name,
            path=path,
            created_at=ctx.now,
        )
        if tags:
            tagging.apply_tags(conn, "instance-profile", profile_id, tags)
        return {"InstanceProfile": _full_shape(conn, store.get(conn, ctx.account_id, instance_profile_name))}


@operation("GetInstanceProfile")
def get_instance_profile(ctx: Context, instance_profile_name: str) -> dict[str, Any]:
    with ctx.db.read() as conn:
        shape = _full_shape(conn, store.get(conn, ctx.account_id, instance_profile_name))
    shape.setdefault("Tags", [])  # AWS's GetInstanceProfile lists no tags as `Tags: []`; Create omits them
    return {"InstanceProfile": shape}


@operation("DeleteInstanceProfile")
def delete_instance_profile(ctx: Context, instance_profile_name: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        row = store.get(conn, ctx.account_id, instance_profile_name)
        if store.role_ids(conn, row.instance_profile_id):
            raise DeleteConflictException(IN_INSTANCE_PROFILE)
        tag_store.remove_all(conn, "instance-profile", row.instance_profile_id)
        store.remove(conn, row.instance_profile_id)
    return {}


@operation("ListInstanceProfiles")
def list_instance_profiles(
    ctx: Context, path_prefix: str | None = None, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        page = store.page(conn, ctx.account_id, path_prefix, marker, max_items)
        return {"InstanceProfiles": _page_shapes(conn, page.rows), **page.fields()}


@operation("AddRoleToInstanceProfile")
def add_role_to_instance_profile(ctx: Context, instance_profile_name: str, role_name: str) -> dict[str, Any]:
    limit = LimitExceededException(
        f"Cannot exceed quota for InstanceSessionsPerInstanceProfile: {ROLES_PER_PROFILE}"
    )
    with ctx.db.read() as conn:
        store.get(conn, ctx.account_id, instance_profile_name)
        role = role_store.get(conn, ctx.account_id, role_name)
        tags = tuple(principals.tags_of(conn, "role", role.role_id).items())
    _require_pass_role(ctx, role, tags)
    with ctx.db.transaction(on_conflict=limit) as conn:
        profile = store.get(conn, ctx.account_id, instance_profile_name, lock=True)
        role = role_store.get(conn, ctx.account_id, role_name)
        if len(store.role_ids(conn, profile.instance_profile_id)) >= ROLES_PER_PROFILE:
            raise limit
        store.add_role(conn, profile.instance_profile_id, role.role_id)
    return {}


def _require_pass_role(ctx: Context, role: Any, tags: tuple[tuple[str, str], ...]) -> None:
    """AWS requires iam:PassRole on the role: a profile hands the role's credentials to EC2 instances.

    The context is AWS's for this call: passed to EC2, associated with any instance of the account.
    """
    context: dict[str, Any] = {
        "iam:PassedToService": "ec2.amazonaws.com",
        "iam:AssociatedResourceArn": f"arn:aws:ec2:*:{ctx.account_id}:instance/*",
        **resource_tag_keys(tags),
    }
    enforce.require(ctx, "iam:PassRole", role_arn(role.account_id, role.path, role.name), context)


@operation("RemoveRoleFromInstanceProfile")
def remove_role_from_instance_profile(
    ctx: Context, instance_profile_name: str, role_name: str
) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        profile = store.get(conn, ctx.account_id, instance_profile_name)
        role = role_store.get(conn, ctx.account_id, role_name)
        if not store.remove_role(conn, profile.instance_profile_id, role.role_id):
            raise NoSuchEntityException(
                f"Role {role_name} in Instance Profile {instance_profile_name} cannot be found."
            )
    return {}


@operation("ListInstanceProfilesForRole")
def list_instance_profiles_for_role(
    ctx: Context, role_name: str, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        role = role_store.get(conn, ctx.account_id, role_name)
        page = store.page_for_role(conn, role.role_id, marker, max_items)
        return {"InstanceProfiles": _page_shapes(conn, page.rows), **page.fields()}


def _full_shape(conn: Connection, row: Any) -> dict[str, Any]:
    shape = _page_shapes(conn, [row])[0]
    return tagging.with_tags(conn, "instance-profile", row.instance_profile_id, shape)
