"""Roles: the list, and a role's trust and permission policies side by side with who may assume it."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ostiary.console import documents, graph
from ostiary.console.pages import Visit, page
from ostiary.errors import AwsError

PAGE_SIZE = 100


@page
async def role_list(visit: Visit) -> Response:
    marker = visit.request.query_params.get("marker") or None
    answer = await visit.call("ListRoles", MaxItems=PAGE_SIZE, Marker=marker)
    return visit.render("roles.html", roles=answer["Roles"], next_marker=answer.get("Marker"))


@page
async def role_detail(visit: Visit) -> Response:
    name = visit.request.path_params["name"]
    role = (await visit.call("GetRole", RoleName=name))["Role"]
    trust = role.get("AssumeRolePolicyDocument")
    shown: dict[str, Any] = {"attached": [], "inline": []}
    refused: dict[str, AwsError] = {}
    try:
        shown["attached"] = (await visit.call("ListAttachedRolePolicies", RoleName=name))["AttachedPolicies"]
        for policy_name in (await visit.call("ListRolePolicies", RoleName=name))["PolicyNames"]:
            document = (await visit.call("GetRolePolicy", RoleName=name, PolicyName=policy_name))[
                "PolicyDocument"
            ]
            shown["inline"].append((policy_name, documents.readable(document)))
    except AwsError as exc:
        refused["attached"] = exc
    account = role["Arn"].split(":")[4]
    try:  # who can reach it, through which chain: every role's trust policy, read as the person
        reach = graph.chains(
            graph.reaching(graph.build(await graph.read_roles(visit), account), role["Arn"]), role["Arn"]
        )
    except AwsError as exc:
        refused["reach"] = exc
        reach = []
    principals = [
        (kind, value, _is_other_account(kind, value, account))
        for kind, value in documents.trust_principals(trust)
    ]
    return visit.render(
        "role.html",
        role=role,
        trust=documents.readable(trust),
        principals=principals,
        shown=shown,
        refused=refused,
        reach=reach,
    )


def _is_other_account(kind: str, value: str, account: str) -> bool:
    if kind != "AWS" or value == "*":
        return kind == "AWS"
    other = value if value.isdigit() else (value.split(":")[4] if value.count(":") >= 5 else account)
    return other != account
