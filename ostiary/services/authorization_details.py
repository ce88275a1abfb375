"""GetAccountAuthorizationDetails: every user, group, role and policy of the account, with their policies."""

from __future__ import annotations

from typing import Any

from ostiary.services import Context, operation
from ostiary.services.instance_profiles import profile_shape
from ostiary.services.policies import policy_shape, url_encoded
from ostiary.services.roles import last_used, role_shape
from ostiary.store import authorization_details as store
from ostiary.store import instance_profiles as profile_store
from ostiary.store import policies as policy_store
from ostiary.store.db import Connection
from ostiary.store.pages import page_list

# The sections in the order they are listed and paginated.
_SECTIONS = ("User", "Group", "Role", "LocalManagedPolicy", "AWSManagedPolicy")


@operation("GetAccountAuthorizationDetails")
def get_account_authorization_details(
    ctx: Context,
    filter: list[str] | None = None,  # noqa: A002 - AWS's member
    max_items: int | None = None,
    marker: str | None = None,
) -> dict[str, Any]:
    """Every user, group, role and policy of the account, with their policies; paginated."""
    wanted = [s for s in _SECTIONS if not filter or s in filter]
    with ctx.db.read() as conn:
        keys = _keys(conn, ctx.account_id, wanted)
        page, fields = page_list(keys, marker, max_items, key=lambda k: k[0])
        chosen: dict[str, list[str]] = {s: [] for s in _SECTIONS}
        for _, section, entity_id in page:
            chosen[section].append(entity_id)
        out = {
            "UserDetailList": _users(conn, ctx.account_id, chosen["User"]),
            "GroupDetailList": _groups(conn, ctx.account_id, chosen["Group"]),
            "RoleDetailList": _roles(conn, ctx.account_id, chosen["Role"]),
            "Policies": _policies(
                conn, ctx.account_id, chosen["LocalManagedPolicy"] + chosen["AWSManagedPolicy"]
            ),
        }
    return {**out, **fields}


def _keys(conn: Connection, account_id: str, sections: list[str]) -> list[tuple[str, str, str]]:
    """(sort key, section, id) of every item in the wanted sections, sorted for pagination."""
    keys: list[tuple[str, str, str]] = []
    for index, section in enumerate(_SECTIONS):
        if section not in sections:
            continue
        if section in ("User", "Group", "Role"):
            found = store.entity_keys(conn, account_id, section.lower())
        else:
            found = store.policy_keys(conn, account_id, aws=section == "AWSManagedPolicy")
        keys.extend((f"{index}/{name}/{entity_id}", section, entity_id) for name, entity_id in found)
    return sorted(keys)


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
        ordered = sorted(
            versions.get(row.policy_id, []), key=lambda v: int(v.version_id[1:].split(".")[0]), reverse=True
        )
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
