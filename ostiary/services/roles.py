"""IAM roles: create, read, update, delete, list, trust policies and permissions boundaries."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ostiary import ids
from ostiary.errors import (
    DeleteConflictException,
    EntityAlreadyExistsException,
    MalformedPolicyDocumentException,
    NoSuchEntityException,
    UnmodifiableEntityException,
)
from ostiary.services import Context, named_principals, operation
from ostiary.services import tags as tagging
from ostiary.services._signin_duration import signin_change, with_signin
from ostiary.services.documents import TRUST, TRUST_MAX, check_document
from ostiary.services.users import boundary_shape, check_boundary
from ostiary.store import accounts
from ostiary.store import roles as store
from ostiary.store import tags as tag_store
from ostiary.store.users import utc

IN_INSTANCE_PROFILE = "Cannot delete entity, must remove roles from instance profile first."


def role_arn(account_id: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:role{path}{name}"


def role_shape(row: Any) -> dict[str, Any]:
    """A Role as CreateRole and instance profiles show it: the trust policy URL-encoded, as AWS sends it."""
    return {
        "Path": row.path,
        "RoleName": row.name,
        "RoleId": row.role_id,
        "Arn": role_arn(row.account_id, row.path, row.name),
        "CreateDate": utc(row.created_at),
        "AssumeRolePolicyDocument": quote(row.trust_policy, safe=""),
    }


def check_modifiable(row: Any) -> None:
    """Refuse to change a service-linked role's trust, permissions or lifetime: only its service may.

    `row` is a role's row or a store.policies.Entity (whose service_linked is None unless a role's).
    """
    if row.service_linked:
        raise UnmodifiableEntityException(
            f"Cannot perform the operation on the protected role '{row.name}' - "
            "this role is only modifiable by AWS"
        )


def check_trust_policy(document: str) -> str:
    """Validate a trust policy (grammar and the 2,048-character quota) with AWS's errors."""
    return check_document(document, TRUST, TRUST_MAX)


def bind_trust_policy(conn: Any, role_id: str, document: str) -> None:
    """Bind the users and roles a (valid) trust policy names to their unique ids; MalformedPolicyDocument
    naming the first that does not exist."""
    named_principals.bind(conn, named_principals.ROLE, role_id, document, _invalid_principal)


def _invalid_principal(name: str) -> MalformedPolicyDocumentException:
    return MalformedPolicyDocumentException(named_principals.INVALID_PRINCIPAL.format(name))


@operation("CreateRole")
def create_role(
    ctx: Context,
    role_name: str,
    assume_role_policy_document: str,
    path: str = "/",
    description: str | None = None,
    max_session_duration: int | None = None,
    permissions_boundary: str | None = None,
    tags: list[dict[str, Any]] | None = None,
    max_signin_session_duration: int | None = None,
) -> dict[str, Any]:
    if tags:
        tagging.check_tags(tags, "role")
    check_trust_policy(assume_role_policy_document)
    conflict = EntityAlreadyExistsException(f"Role with name {role_name} already exists.")
    role_id = ids.unique_id("AROA")
    with ctx.db.transaction(on_conflict=conflict) as conn:
        if store.find_by_name(conn, ctx.account_id, role_name) is not None:
            raise conflict
        if permissions_boundary is not None:
            check_boundary(conn, ctx.account_id, permissions_boundary)
        bind_trust_policy(conn, role_id, assume_role_policy_document)  # before the role: not itself
        store.insert(
            conn,
            role_id=role_id,
            account_id=ctx.account_id,
            name=role_name,
            path=path,
            trust_policy=assume_role_policy_document,
            description=description,
            max_session_duration=max_session_duration or 3600,
            max_signin_session_duration=max_signin_session_duration,
            permissions_boundary=permissions_boundary,
            created_at=ctx.now,
        )
        if tags:
            tagging.apply_tags(conn, "role", role_id, tags)
        accounts.bump_epoch(conn, ctx.account_id)
        row = store.get(conn, ctx.account_id, role_name)
        shape = with_signin(role_shape(row), row.max_signin_session_duration)
        return {"Role": _with_boundary(row, tagging.with_tags(conn, "role", role_id, shape))}


@operation("GetRole")
def get_role(ctx: Context, role_name: str) -> dict[str, Any]:
    with ctx.db.read() as conn:
        row = store.get(conn, ctx.account_id, role_name)
        shape = _with_boundary(row, _listed(row))
        shape["RoleLastUsed"] = last_used(row)
        return {"Role": tagging.with_tags(conn, "role", row.role_id, shape)}


@operation("ListRoles")
def list_roles(
    ctx: Context, path_prefix: str | None = None, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    with ctx.db.read() as conn:
        page = store.page(conn, ctx.account_id, path_prefix, marker, max_items)
    return {"Roles": [_listed(row) for row in page.rows], **page.fields()}


@operation("UpdateRole")
def update_role(
    ctx: Context,
    role_name: str,
    description: str | None = None,
    max_session_duration: int | None = None,
    max_signin_session_duration: int | None = None,
    reset_max_signin_session_duration: bool | None = None,
) -> dict[str, Any]:
    """Description, MaxSessionDuration and MaxSigninSessionDuration; the last cannot be reset on a
    service-linked role (the model's documentation), nor the session length changed."""
    signin = signin_change(max_signin_session_duration, reset_max_signin_session_duration)
    with ctx.db.transaction() as conn:
        row = store.get(conn, ctx.account_id, role_name)
        if max_session_duration is not None or reset_max_signin_session_duration:
            check_modifiable(row)
        values: dict[str, Any] = dict(signin)
        if description is not None:
            values["description"] = description
        if max_session_duration is not None:
            values["max_session_duration"] = max_session_duration
        if values:
            store.change(conn, row.role_id, **values)
    return {}


@operation("UpdateRoleDescription")
def update_role_description(ctx: Context, role_name: str, description: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        row = store.get(conn, ctx.account_id, role_name)
        store.change(conn, row.role_id, description=description)
        row = store.get(conn, ctx.account_id, role_name)
        shape = _with_boundary(row, role_shape(row))
        shape["Description"] = row.description
        return {"Role": tagging.with_tags(conn, "role", row.role_id, shape)}


@operation("UpdateAssumeRolePolicy")
def update_assume_role_policy(ctx: Context, role_name: str, policy_document: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        row = store.get(conn, ctx.account_id, role_name)
        check_modifiable(row)
        check_trust_policy(policy_document)
        bind_trust_policy(conn, row.role_id, policy_document)  # the principals first: see delete_role
        if not store.change(conn, row.role_id, trust_policy=policy_document):  # deleted meanwhile
            raise NoSuchEntityException(f"The role with name {role_name} cannot be found.")
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


@operation("DeleteRole")
def delete_role(ctx: Context, role_name: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        named_principals.hold_deletes(conn)
        row = store.get(conn, ctx.account_id, role_name, lock=True)  # no policy attached meanwhile
        check_modifiable(row)
        if store.instance_profile_count(conn, row.role_id):
            raise DeleteConflictException(IN_INSTANCE_PROFILE)
        if store.attached_policy_count(conn, row.role_id):
            raise DeleteConflictException("Cannot delete entity, must detach all policies first.")
        if store.inline_policy_count(conn, row.role_id):
            raise DeleteConflictException("Cannot delete entity, must delete policies first.")
        tag_store.remove_all(conn, "role", row.role_id)
        named_principals.deleted(conn, row.role_id)
        named_principals.unbind(conn, named_principals.ROLE, row.role_id)
        store.remove(conn, row.role_id)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


@operation("PutRolePermissionsBoundary")
def put_role_permissions_boundary(ctx: Context, role_name: str, permissions_boundary: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        row = store.get(conn, ctx.account_id, role_name)
        check_modifiable(row)
        check_boundary(conn, ctx.account_id, permissions_boundary)
        store.change(conn, row.role_id, permissions_boundary=permissions_boundary)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


@operation("DeleteRolePermissionsBoundary")
def delete_role_permissions_boundary(ctx: Context, role_name: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        row = store.get(conn, ctx.account_id, role_name)
        check_modifiable(row)
        store.change(conn, row.role_id, permissions_boundary=None)
        accounts.bump_epoch(conn, ctx.account_id)
    return {}


def _listed(row: Any) -> dict[str, Any]:
    """A Role as ListRoles shows it: with Description and MaxSessionDuration, no tags or boundary."""
    shape = role_shape(row)
    if row.description is not None:
        shape["Description"] = row.description
    shape["MaxSessionDuration"] = row.max_session_duration
    return with_signin(shape, row.max_signin_session_duration)


def _with_boundary(row: Any, shape: dict[str, Any]) -> dict[str, Any]:
    if row.permissions_boundary:
        shape["PermissionsBoundary"] = boundary_shape(row.permissions_boundary)
    return shape


def last_used(row: Any) -> dict[str, Any]:
    """A role's RoleLastUsed: when and in which region it was last assumed (empty when never)."""
    if row.last_used_at is None:
        return {}
    used: dict[str, Any] = {"LastUsedDate": utc(row.last_used_at)}
    if row.last_used_region:
        used["Region"] = row.last_used_region
    return used
