"""GetAccountAuthorizationDetails: every user, group, role and policy of the account, with their policies."""

from __future__ import annotations

from typing import Any

from ostiary.services import Context, operation, policy_history
from ostiary.services.instance_profiles import profile_shape
from ostiary.services.policies import policy_shape, url_encoded
from ostiary.services.roles import last_used, role_shape
from ostiary.store import authorization_details as store
from ostiary.store import instance_profiles as profile_store
from ostiary.store import policies as policy_store
from ostiary.store.db import Connection
from ostiary.store.pages import fetch_sections


@operation("GetAccountAuthorizationDetails")
def get_account_authorization_details(
    ctx: Context,
    filter: list[str] | None = None,  # noqa: A002 - AWS's member
    max_items: int | None = None,
    marker: str | None = None,
) -> dict[str, Any]:
    """Every user, group, role and policy of the account, with their policies; paginated."""
    sections = [store.listing(ctx.account_id, s) for s in store.SECTIONS if not filter or s in filter]
    with ctx.db.read() as conn:
        page, following = fetch_sections(conn, sections, marker, max_items)
        chosen: dict[str, list[str]] = {s: [] for s in store.SECTIONS}
        for section, row in page:
            chosen[store.SECTIONS[int(section.prefix[:-1])]].append(row.id)
        out = {
            "UserDetailList": _users(conn, ctx.account_id, chosen["User"]),
            "GroupDetailList": _groups(conn, ctx.account_id, chosen["Group"]),
            "RoleDetailList": _roles(conn, ctx.account_id, chosen["Role"]),
            "Policies": _policies(
                conn, ctx.account_id, chosen["LocalManagedPolicy"] + chosen["AWSManagedPolicy"]
            ),
        }
    fields = {"IsTruncated": True, "Marker": following} if following else {"IsTruncated": False}
    return {**out, **fields}


def _arn(account_id: str, kind: str, row: Any) -> str:
    return f"arn:aws:iam::{account_id}:{kind}{row.path}{row.name}"


def _policy_list(rows: list[Any]) -> list[dict[str, Any]]:
    return [{"PolicyName": r.name, "PolicyDocument": url_encoded(r.document)} for r in rows]


def _attached_list(rows: list[Any]) -> list[dict[str, str]]:
    return [{"PolicyName": r.name, "PolicyArn": r.arn} for r in rows]


def _tag_list(rows: list[Any]) -> list[dict[str, str]]:
    return [{"Key": r.key, "Value": r.value} for r in rows]


def _boundary(shape: dict[str, Any], arn: str | None) -> None:
    if arn:
        shape["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
            "PermissionsBoundaryArn": arn,
        }


def _users(conn: Connection, account_id: str, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    inline, attached = store.inline_documents(conn, "user", ids), store.attached(conn, "user", ids)
    groups, tags = store.group_names(conn, ids), store.entity_tags(conn, "user", ids)
    out = []
    for row in sorted(store.entities(conn, "user", ids), key=lambda r: r.name_key):
        shape: dict[str, Any] = {
            "Path": row.path,
            "UserName": row.name,
            "UserId": row.user_id,
            "Arn": _arn(account_id, "user", row),
            "CreateDate": row.created_at,
        }
        if inline.get(row.user_id):
            shape["UserPolicyList"] = _policy_list(inline[row.user_id])
        shape["GroupList"] = [g.name for g in groups.get(row.user_id, [])]
        shape["AttachedManagedPolicies"] = _attached_list(attached.get(row.user_id, []))
        _boundary(shape, row.permissions_boundary)
        shape["Tags"] = _tag_list(tags.get(row.user_id, []))
        out.append(shape)
    return out


def _groups(conn: Connection, account_id: str, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    inline, attached = store.inline_documents(conn, "group", ids), store.attached(conn, "group", ids)
    return [
        {
            "Path": row.path,
            "GroupName": row.name,
            "GroupId": row.group_id,
            "Arn": _arn(account_id, "group", row),
            "CreateDate": row.created_at,
            "GroupPolicyList": _policy_list(inline.get(row.group_id, [])),
            "AttachedManagedPolicies": _attached_list(attached.get(row.group_id, [])),
        }
        for row in sorted(store.entities(conn, "group", ids), key=lambda r: r.name_key)
    ]


def _roles(conn: Connection, account_id: str, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    inline, attached = store.inline_documents(conn, "role", ids), store.attached(conn, "role", ids)
    tags, profiles = store.entity_tags(conn, "role", ids), store.instance_profiles_of(conn, ids)
    profile_ids = sorted({p.instance_profile_id for rows in profiles.values() for p in rows})
    profile_roles = profile_store.roles_by_profile(conn, profile_ids)
    out = []
    for row in sorted(store.entities(conn, "role", ids), key=lambda r: r.name_key):
        shape = role_shape(row)
        shape["InstanceProfileList"] = [
            profile_shape(p, profile_roles[p.instance_profile_id]) for p in profiles.get(row.role_id, [])
        ]
        shape["RolePolicyList"] = _policy_list(inline.get(row.role_id, []))
        shape["AttachedManagedPolicies"] = _attached_list(attached.get(row.role_id, []))
        _boundary(shape, row.permissions_boundary)
        shape["Tags"] = _tag_list(tags.get(row.role_id, []))
        shape["RoleLastUsed"] = last_used(row)
        out.append(shape)
    return out


def _policies(conn: Connection, account_id: str, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    versions = store.versions(conn, ids)
    out = []
    for row in sorted(
        policy_store.find_many(conn, account_id, ids), key=lambda r: (r.account_id == "aws", r.arn)
    ):
        shape = policy_shape(row)
        ordered = list(versions.get(row.policy_id, []))
        if row.account_id == policy_store.AWS_ACCOUNT:
            ordered = policy_history.merged(row.name, ordered)
        ordered.sort(key=lambda v: policy_history.version_number(v.version_id), reverse=True)
        shape["PolicyVersionList"] = [
            {
                "Document": url_encoded(v.document),
                "VersionId": v.version_id,
                "IsDefaultVersion": v.version_id == row.default_version,
                "CreateDate": v.created_at,
            }
            for v in ordered
        ]
        out.append(shape)
    return out
