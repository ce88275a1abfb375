"""User groups: the list (create), a group's users and policies."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from ostiary.console.pages import Visit, page, redirect
from ostiary.errors import AwsError

PAGE_SIZE = 100


@page
async def group_list(visit: Visit) -> Response:
    if visit.request.method == "POST":
        name = visit.form.get("groupname", "").strip()
        await visit.call("CreateGroup", GroupName=name)
        return redirect(f"/console/groups/{quote(name)}")
    marker = visit.request.query_params.get("marker") or None
    answer = await visit.call("ListGroups", MaxItems=PAGE_SIZE, Marker=marker)
    return visit.render("groups.html", groups=answer["Groups"], next_marker=answer.get("Marker"))


@page
async def group_detail(visit: Visit) -> Response:
    name = visit.request.path_params["name"]
    if visit.request.method == "POST":
        action, arn = visit.form.get("action"), visit.form.get("policyarn", "")
        if action == "attach_policy":
            await visit.call("AttachGroupPolicy", GroupName=name, PolicyArn=arn)
        elif action == "detach_policy":
            await visit.call("DetachGroupPolicy", GroupName=name, PolicyArn=arn)
        return redirect(f"/console/groups/{quote(name)}")
    answer = await visit.call("GetGroup", GroupName=name, MaxItems=1000)
    shown: dict[str, Any] = {}
    refused: dict[str, AwsError] = {}
    for part, operation, member in (
        ("attached", "ListAttachedGroupPolicies", "AttachedPolicies"),
        ("inline", "ListGroupPolicies", "PolicyNames"),
    ):
        try:
            shown[part] = (await visit.call(operation, GroupName=name))[member]
        except AwsError as exc:
            refused[part] = exc
    return visit.render(
        "group.html", group=answer["Group"], users=answer["Users"], shown=shown, refused=refused
    )
