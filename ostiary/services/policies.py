"""Managed policies: create, get, delete, list, versions; AWS managed policies seeded at start."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ostiary import ids
from ostiary.errors import (
    AccessDenied,
    DeleteConflictException,
    EntityAlreadyExistsException,
    LimitExceededException,
    NoSuchEntityException,
    ValidationError,
)
from ostiary.services import Context, operation, policy_history
from ostiary.services.documents import IDENTITY, MANAGED_MAX, check_document
from ostiary.services.tags import apply_tags, check_tags, tag_list
from ostiary.store import accounts, locks
from ostiary.store import policies as store
from ostiary.store.db import Connection, Database
from ostiary.store.pages import page_list

MAX_VERSIONS = 5
MAX_POLICIES_PER_ACCOUNT = 1500
_DATA = Path(__file__).parent / "data" / "aws_managed_policies.json"


def url_encoded(document: str) -> str:
    """A policy document as IAM returns it: URL-encoded."""
    return quote(document, safe="")


def check_arn(arn: str) -> None:
    """Refuse a PolicyArn that is not an ARN at all, as IAM does."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[5]:
        raise ValidationError(f"ARN {arn} is not valid.")


def find_policy(conn: Connection, ctx: Context, arn: str, missing: str = "was not found.") -> Any:
    """The policy with this ARN visible to the caller, or NoSuchEntity with `missing` as the tail."""
    check_arn(arn)
    row = store.find(conn, ctx.account_id, arn)
    if row is None:
        raise NoSuchEntityException(f"Policy {arn} {missing}")
    return row


def policy_shape(row: Any, *, description: bool = True) -> dict[str, Any]:
    """The Policy output shape of one row carrying its counts."""
    shape: dict[str, Any] = {
        "PolicyName": row.name,
        "PolicyId": row.policy_id,
        "Arn": row.arn,
        "Path": row.path,
        "DefaultVersionId": row.default_version,
        "AttachmentCount": int(row.attachment_count),
        "PermissionsBoundaryUsageCount": int(row.boundary_count),
        "IsAttachable": bool(row.is_attachable),
        "CreateDate": row.created_at,
        "UpdateDate": row.updated_at,
    }
    if description and row.description:
        shape["Description"] = row.description
    return shape


def version_shape(row: Any, default_version: str, *, document: bool) -> dict[str, Any]:
    """The PolicyVersion output shape of one version row."""
    shape: dict[str, Any] = {
        "VersionId": row.version_id,
        "IsDefaultVersion": row.version_id == default_version,
        "CreateDate": row.created_at,
    }
    if document:
        shape["Document"] = url_encoded(row.document)
    return shape


def _own(row: Any, ctx: Context, message: str) -> None:
    if row.account_id != ctx.account_id:
        raise AccessDenied(message)


@operation("CreatePolicy")
def create_policy(
    ctx: Context,
    policy_name: str,
    policy_document: str,
    path: str = "/",
    description: str | None = None,
    tags: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A new customer managed policy with its first version, v1."""
    check_document(policy_document, IDENTITY, MANAGED_MAX, managed=True)
    check_tags(tags or [], "policy")
    policy_id = ids.unique_id("ANPA")
    conflict = EntityAlreadyExistsException(
        f"A policy called {policy_name} already exists. Duplicate names are not allowed."
    )
    with ctx.db.transaction(on_conflict=conflict) as conn:
        locks.hold(conn, "account-policies", ctx.account_id)  # no other policy made meanwhile
        if store.name_taken(conn, ctx.account_id, policy_name):
            raise conflict
        if store.count_local(conn, ctx.account_id) >= MAX_POLICIES_PER_ACCOUNT:
            raise LimitExceededException(
                f"Cannot exceed quota for PoliciesPerAccount: {MAX_POLICIES_PER_ACCOUNT}"
            )
        arn = store.insert(
            conn,
            policy_id=policy_id,
            account_id=ctx.account_id,
            name=policy_name,
            path=path,
            description=description,
            document=policy_document,
            now=ctx.now,
        )
        apply_tags(conn, "policy", policy_id, tags or [])
        shape = {
            "PolicyName": policy_name,
            "PolicyId": policy_id,
            "Arn": arn,
            "Path": path,
            "DefaultVersionId": "v1",
            "AttachmentCount": 0,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
            "CreateDate": ctx.now,
            "UpdateDate": ctx.now,
        }
    if tags:
        shape["Tags"] = [{"Key": t["Key"], "Value": t["Value"]} for t in tags]  # as given, in order
    return {"Policy": shape}


@operation("GetPolicy")
def get_policy(ctx: Context, policy_arn: str) -> dict[str, Any]:
    """A managed policy with its counts, description and tags."""
    with ctx.db.read() as conn:
        row = find_policy(conn, ctx, policy_arn)
        shape = policy_shape(row)
        shape["Tags"] = tag_list(conn, "policy", row.policy_id)
    return {"Policy": shape}


@operation("DeletePolicy")
def delete_policy(ctx: Context, policy_arn: str) -> dict[str, Any]:
    """Delete a customer managed policy that is unused and has only its default version."""
    with ctx.db.transaction() as conn:
        locks.hold_policy(conn, policy_arn)  # no version made, nor a boundary naming it, meanwhile
        row = find_policy(conn, ctx, policy_arn)
        _own(row, ctx, "Cannot delete policies outside your own account.")
        if row.attachment_count or row.boundary_count:
            raise DeleteConflictException("Cannot delete a policy attached to entities.")
        if len(store.versions(conn, row.policy_id)) > 1:
            raise DeleteConflictException(
                "This policy has more than one version. Before you delete a policy, you must delete the "
                "policy's versions. The default version is deleted with the policy."
            )
        store.delete_policy(conn, row.policy_id)
    return {}


@operation("ListPolicies")
def list_policies(
    ctx: Context,
    scope: str = "All",
    only_attached: bool = False,
    path_prefix: str = "/",
    policy_usage_filter: str | None = None,
    marker: str | None = None,
    max_items: int | None = None,
) -> dict[str, Any]:
    """One page of the managed policies the caller sees, by scope, path and usage."""
    with ctx.db.read() as conn:
        page = store.list_page(
            conn,
            ctx.account_id,
            scope=scope,
            only_attached=only_attached,
            path_prefix=path_prefix,
            usage=policy_usage_filter,
            marker=marker,
            max_items=max_items,
        )
    return {"Policies": [policy_shape(r, description=False) for r in page.rows], **page.fields()}


@operation("CreatePolicyVersion")
def create_policy_version(
    ctx: Context, policy_arn: str, policy_document: str, set_as_default: bool = False
) -> dict[str, Any]:
    """A new version of a customer managed policy (at most five), optionally the default."""
    check_document(policy_document, IDENTITY, MANAGED_MAX, managed=True)
    with ctx.db.transaction() as conn:
        locks.hold_policy(conn, policy_arn)  # the count and the next version as the last writer left them
        row = find_policy(conn, ctx, policy_arn)
        _own(row, ctx, "Cannot update policies outside your own account.")
        if len(store.versions(conn, row.policy_id)) >= MAX_VERSIONS:
            raise LimitExceededException(
                f"A managed policy can have up to {MAX_VERSIONS} versions. Before you create a new version, "
                "you must delete an existing version."
            )
        version_id = f"v{row.next_version}"
        store.add_version(conn, row.policy_id, version_id, policy_document, ctx.now)
        values: dict[str, Any] = {"next_version": row.next_version + 1}
        if set_as_default:
            values["default_version"] = version_id
            accounts.bump_epoch(conn, ctx.account_id)
        store.touch(conn, row.policy_id, ctx.now, **values)
    return {
        "PolicyVersion": {"VersionId": version_id, "IsDefaultVersion": set_as_default, "CreateDate": ctx.now}
    }


@operation("GetPolicyVersion", blocking=True)  # an AWS managed policy's older version is unpacked
def get_policy_version(ctx: Context, policy_arn: str, version_id: str) -> dict[str, Any]:
    """One version of a managed policy, its document URL-encoded."""
    with ctx.db.read() as conn:
        row, version = _find_version(conn, ctx, policy_arn, version_id)
    return {"PolicyVersion": version_shape(version, row.default_version, document=True)}


@operation("ListPolicyVersions")
def list_policy_versions(
    ctx: Context, policy_arn: str, marker: str | None = None, max_items: int | None = None
) -> dict[str, Any]:
    """The versions of a managed policy, newest first."""
    with ctx.db.read() as conn:
        row = find_policy(conn, ctx, policy_arn)
        versions = store.versions(conn, row.policy_id)
    if row.account_id == store.AWS_ACCOUNT:
        versions = policy_history.merged(row.name, versions)
    keys = {v.version_id: f"{i:06d}" for i, v in enumerate(versions)}
    page, fields = page_list(versions, marker, max_items, key=lambda v: keys[v.version_id])
    return {"Versions": [version_shape(v, row.default_version, document=False) for v in page], **fields}


@operation("DeletePolicyVersion")
def delete_policy_version(ctx: Context, policy_arn: str, version_id: str) -> dict[str, Any]:
    """Delete a version that is not the default."""
    with ctx.db.transaction() as conn:
        locks.hold_policy(conn, policy_arn)  # the version is not made the default meanwhile
        row, _ = _find_version(
            conn,
            ctx,
            policy_arn,
            version_id,
            foreign="Cannot delete policy versions for policies outside your own account.",
        )
        if version_id == row.default_version:
            raise DeleteConflictException("Cannot delete the default version of a policy.")
        store.delete_version(conn, row.policy_id, version_id)
    return {}


@operation("SetDefaultPolicyVersion")
def set_default_policy_version(ctx: Context, policy_arn: str, version_id: str) -> dict[str, Any]:
    """Make a version the one that grants the policy's permissions."""
    with ctx.db.transaction() as conn:
        locks.hold_policy(conn, policy_arn)  # the version is not deleted meanwhile
        row, _ = _find_version(
            conn, ctx, policy_arn, version_id, foreign="Cannot update policies outside your own account."
        )
        if version_id != row.default_version:
            store.touch(conn, row.policy_id, ctx.now, default_version=version_id)
            accounts.bump_epoch(conn, ctx.account_id)
    return {}


def _find_version(
    conn: Connection, ctx: Context, arn: str, version_id: str, foreign: str | None = None
) -> tuple[Any, Any]:
    missing = f"Policy {arn} version {version_id} does not exist or is not attachable."
    check_arn(arn)
    row = store.find(conn, ctx.account_id, arn)
    if row is not None and foreign is not None:
        _own(row, ctx, foreign)
    version = None if row is None else store.version(conn, row.policy_id, version_id)
    if version is None and row is not None and row.account_id == store.AWS_ACCOUNT:
        version = policy_history.older_version(row.name, version_id)
    if row is None or version is None:
        raise NoSuchEntityException(missing)
    return row, version


# -- AWS managed policies ---------------------------------------------------------------------


def seed_aws_managed_policies(db: Database) -> None:
    """Insert or update the AWS managed policies (account "aws") from the bundled data; idempotent."""
    data: dict[str, dict[str, Any]] = json.loads(_DATA.read_text())
    with db.transaction() as conn:
        existing = store.aws_policies(conn)
        new_policies: list[dict[str, Any]] = []
        new_versions: list[dict[str, Any]] = []
        for name, entry in data.items():
            arn = store.policy_arn(store.AWS_ACCOUNT, entry["Path"], name)
            row = existing.get(arn)
            if row is None:
                policy, version = _aws_rows(arn, name, entry)
                new_policies.append(policy)
                new_versions.append(version)
            elif row.default_version != entry["DefaultVersionId"] or row.description != entry.get(
                "Description"
            ):
                _update_aws(conn, row, entry)
        store.insert_many(conn, new_policies, new_versions)


def _aws_rows(arn: str, name: str, entry: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The managed_policies and policy_versions rows of one AWS managed policy."""
    policy_id, version_id = _aws_policy_id(arn), entry["DefaultVersionId"]
    policy = {
        "policy_id": policy_id,
        "account_id": store.AWS_ACCOUNT,
        "arn": arn,
        "name": name,
        "name_key": name.lower(),
        "path": entry["Path"],
        "description": entry.get("Description"),
        "default_version": version_id,
        "next_version": int(version_id[1:]) + 1,
        "is_attachable": True,
        "created_at": _date(entry["CreateDate"]),
        "updated_at": _date(entry["UpdateDate"]),
    }
    version = {
        "policy_id": policy_id,
        "version_id": version_id,
        "document": _aws_document(entry),
        "created_at": _date(entry["UpdateDate"]),
    }
    return policy, version


def _update_aws(conn: Connection, row: Any, entry: dict[str, Any]) -> None:
    """Bring one stored AWS managed policy to the bundled default version and description."""
    version_id, updated = entry["DefaultVersionId"], _date(entry["UpdateDate"])
    if store.version(conn, row.policy_id, version_id) is None:
        store.add_version(conn, row.policy_id, version_id, _aws_document(entry), updated)
    store.touch(
        conn,
        row.policy_id,
        updated,
        default_version=version_id,
        description=entry.get("Description"),
        next_version=max(row.next_version, int(version_id[1:]) + 1),
    )
    for account_id in store.accounts_attached(conn, row.policy_id):
        accounts.bump_epoch(conn, account_id)


def _aws_document(entry: dict[str, Any]) -> str:
    return policy_history.aws_document(entry["Document"])


def _aws_policy_id(arn: str) -> str:
    """A stable ANPA id for an AWS managed policy, the same on every node and every start."""
    digest = hashlib.sha256(arn.encode()).digest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "ANPA" + "".join(alphabet[b % 32] for b in digest[:17])


def _date(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
