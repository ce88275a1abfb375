"""Service-linked roles: created for an AWS service from a catalogue (data/service_linked_roles.json),
deleted only through DeleteServiceLinkedRole, whose deletion task reports its status."""

from __future__ import annotations

import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from ostiary import ids
from ostiary.errors import InvalidInputException, NoSuchEntityException, ValidationError
from ostiary.services import Context, named_principals, operation
from ostiary.services.roles import role_shape
from ostiary.store import accounts
from ostiary.store import policies as policy_store
from ostiary.store import roles as role_store
from ostiary.store import service_linked_roles as store
from ostiary.store import tags as tag_store
from ostiary.store.db import Connection

_CATALOGUE = Path(__file__).parent / "data" / "service_linked_roles.json"
_IN_INSTANCE_PROFILE = "The role is attached to an instance profile; remove it from the profile first."
_MAX_ROLE_NAME_LENGTH = 64  # roleNameType's max: the bound of every call that names the role


@cache
def catalogue() -> dict[str, dict[str, Any]]:
    """Each AWS service name → RoleName, Path, CustomSuffixAllowed, PolicyArns, TrustPolicy."""
    return json.loads(_CATALOGUE.read_text())  # type: ignore[no-any-return]  # a JSON object


@operation("CreateServiceLinkedRole")
def create_service_linked_role(
    ctx: Context, aws_service_name: str, description: str | None = None, custom_suffix: str | None = None
) -> dict[str, Any]:
    service = catalogue().get(aws_service_name)
    if service is None:  # not recorded: AWS's text for a service without service-linked roles
        raise InvalidInputException(f"Service name {aws_service_name} is not a valid service name.")
    if custom_suffix is not None and not service["CustomSuffixAllowed"]:
        raise InvalidInputException(f"Custom suffix is not allowed for {aws_service_name}")
    name = service["RoleName"] + (f"_{custom_suffix}" if custom_suffix else "")
    if len(name) > _MAX_ROLE_NAME_LENGTH:  # the model bounds the suffix alone; no call could name this role
        longest = _MAX_ROLE_NAME_LENGTH - len(name) + len(custom_suffix or "")
        raise ValidationError(  # not recorded: AWS's text, in its constraint wording
            "1 validation error detected: Value at 'customSuffix' failed to satisfy constraint: "
            f"Member must have length less than or equal to {longest}"
        )
    taken = InvalidInputException(
        f"Service role name {name} has been taken in this account, please try a different suffix."
    )
    role_id = ids.unique_id("AROA")
    with ctx.db.transaction(on_conflict=taken) as conn:
        if role_store.find_by_name(conn, ctx.account_id, name) is not None:
            raise taken
        role_store.insert(
            conn,
            role_id=role_id,
            account_id=ctx.account_id,
            name=name,
            path=service["Path"],
            trust_policy=json.dumps(service["TrustPolicy"]),
            description=description,
            max_session_duration=3600,
            service_linked=aws_service_name,
            created_at=ctx.now,
        )
        _attach(conn, ctx.account_id, role_id, name, service)
        accounts.bump_epoch(conn, ctx.account_id)
        row = role_store.get(conn, ctx.account_id, name)
    shape = role_shape(row)
    if description is not None:
        shape["Description"] = description
    return {"Role": shape}


@operation("DeleteServiceLinkedRole")
def delete_service_linked_role(ctx: Context, role_name: str) -> dict[str, Any]:
    with ctx.db.transaction() as conn:
        named_principals.hold_deletes(conn)
        row = role_store.get(conn, ctx.account_id, role_name, lock=True)
        if not row.service_linked:  # not recorded
            raise InvalidInputException(f"Role {role_name} is not a service-linked role.")
        task_id = f"task{row.path}{row.name}/{uuid.uuid4()}"
        status, reason = "SUCCEEDED", None
        if role_store.instance_profile_count(conn, row.role_id):
            status, reason = "FAILED", json.dumps({"Reason": _IN_INSTANCE_PROFILE, "RoleUsageList": []})
        else:
            store.drop_policies(conn, row.role_id)
            tag_store.remove_all(conn, "role", row.role_id)
            named_principals.deleted(conn, row.role_id)
            named_principals.unbind(conn, named_principals.ROLE, row.role_id)
            role_store.remove(conn, row.role_id)
            accounts.bump_epoch(conn, ctx.account_id)
        store.insert_task(
            conn, task_id=task_id, account_id=ctx.account_id, status=status, reason=reason, created_at=ctx.now
        )
    return {"DeletionTaskId": task_id}


@operation("GetServiceLinkedRoleDeletionStatus")
def get_service_linked_role_deletion_status(ctx: Context, deletion_task_id: str) -> dict[str, Any]:
    with ctx.db.read() as conn:
        task = store.find_task(conn, ctx.account_id, deletion_task_id)
    if task is None:  # not recorded
        raise NoSuchEntityException(f"Deletion task {deletion_task_id} cannot be found.")
    out: dict[str, Any] = {"Status": task.status}
    if task.reason:
        out["Reason"] = json.loads(task.reason)
    return out


def _attach(conn: Connection, account_id: str, role_id: str, name: str, service: dict[str, Any]) -> None:
    """Attach the service's AWS managed permissions policies (those this server knows)."""
    entity = policy_store.Entity("role", role_id, name, service["Path"], account_id)
    for arn in service["PolicyArns"]:
        policy = policy_store.find(conn, account_id, arn)
        if policy is not None:
            policy_store.attach(conn, policy.policy_id, entity)
