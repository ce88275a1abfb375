"""Users: the list (search, pages, create), a user's groups, policies, password, access keys (the
secret shown once, with AWS's .csv) and MFA device (assigned with its QR code)."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from ostiary.console.pages import Visit, page, redirect
from ostiary.errors import AccessDenied, AwsError, NoSuchEntityException

PAGE_SIZE = 50
CHANGE_PASSWORD_POLICY = "arn:aws:iam::aws:policy/IAMUserChangePassword"
_SEARCH_PAGE = 1000
_SEARCH_LIMIT = 20_000  # users looked at by one search, at most


@page
async def user_list(visit: Visit) -> Response:
    if visit.request.method == "POST":
        return await _create(visit)
    query = visit.request.query_params.get("q", "").strip()[:64]
    marker = visit.request.query_params.get("marker") or None
    if query:
        found, next_marker = await _search(visit, query, marker)
    else:
        answer = await visit.call("ListUsers", MaxItems=PAGE_SIZE, Marker=marker)
        found, next_marker = answer["Users"], answer.get("Marker")
    return visit.render("users.html", users=found, query=query, next_marker=next_marker)


async def _search(visit: Visit, query: str, marker: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Users whose name holds `query` (any case), a page at a time: ListUsers read until a page is full."""
    needle, found, seen = query.lower(), [], 0
    while seen < _SEARCH_LIMIT:
        answer = await visit.call("ListUsers", MaxItems=_SEARCH_PAGE, Marker=marker)
        for user in answer["Users"]:
            if needle in user["UserName"].lower():
                found.append(user)
        seen += len(answer["Users"])
        marker = answer.get("Marker")
        if marker is None or len(found) >= PAGE_SIZE:
            break
    return found, marker


async def _create(visit: Visit) -> Response:
    name = visit.form.get("username", "").strip()
    try:
        await visit.call("CreateUser", UserName=name)
        password = visit.form.get("password", "")
        if password:
            reset = visit.form.get("resetrequired") == "on"
            await visit.call(
                "CreateLoginProfile", UserName=name, Password=password, PasswordResetRequired=reset
            )
            if reset:  # as AWS's console does: the user may then change the password it must change
                await visit.call("AttachUserPolicy", UserName=name, PolicyArn=CHANGE_PASSWORD_POLICY)
    except AwsError as exc:
        if isinstance(exc, AccessDenied):
            raise
        return visit.render("users.html", exc.status, users=[], query="", next_marker=None, error=exc)
    return redirect(f"/console/users/{quote(name)}")


@page
async def user_detail(visit: Visit) -> Response:
    name = visit.request.path_params["name"]
    notice: str | None = None
    if visit.request.method == "POST":
        try:
            notice = await _change(visit, name)
        except AwsError as exc:
            if isinstance(exc, AccessDenied):
                raise
            return visit.render("error.html", exc.status, error=exc)
    user = (await visit.call("GetUser", UserName=name))["User"]
    parts = {
        "groups": ("ListGroupsForUser", "Groups"),
        "attached": ("ListAttachedUserPolicies", "AttachedPolicies"),
        "inline": ("ListUserPolicies", "PolicyNames"),
        "keys": ("ListAccessKeys", "AccessKeyMetadata"),
        "mfa": ("ListMFADevices", "MFADevices"),
    }
    shown: dict[str, Any] = {}
    refused: dict[str, AwsError] = {}
    for part, (operation, member) in parts.items():
        try:
            shown[part] = (await visit.call(operation, UserName=name))[member]
        except AwsError as exc:
            refused[part] = exc
    try:
        shown["profile"] = (await visit.call("GetLoginProfile", UserName=name))["LoginProfile"]
    except NoSuchEntityException:
        shown["profile"] = None
    except AwsError as exc:
        refused["profile"] = exc
    return visit.render("user.html", user=user, shown=shown, refused=refused, notice=notice)


async def _change(visit: Visit, name: str) -> str:
    """One change on the user's page, by the form's `action`; what was done, in a sentence."""
    form, action = visit.form, visit.form.get("action", "")
    if action == "add_group":
        await visit.call("AddUserToGroup", UserName=name, GroupName=form.get("group", ""))
        return "Added to the group."
    if action == "remove_group":
        await visit.call("RemoveUserFromGroup", UserName=name, GroupName=form.get("group", ""))
        return "Removed from the group."
    if action == "attach_policy":
        await visit.call("AttachUserPolicy", UserName=name, PolicyArn=form.get("policyarn", ""))
        return "Policy attached."
    if action == "detach_policy":
        await visit.call("DetachUserPolicy", UserName=name, PolicyArn=form.get("policyarn", ""))
        return "Policy detached."
    if action in ("key_active", "key_inactive"):
        status = "Active" if action == "key_active" else "Inactive"
        await visit.call("UpdateAccessKey", UserName=name, AccessKeyId=form.get("keyid", ""), Status=status)
        return f"Access key made {status.lower()}."
    if action == "delete_key":
        await visit.call("DeleteAccessKey", UserName=name, AccessKeyId=form.get("keyid", ""))
        return "Access key deleted."
    if action == "set_password":
        return await _set_password(visit, name)
    if action == "delete_password":
        await visit.call("DeleteLoginProfile", UserName=name)
        return "Console access removed."
    if action == "deactivate_mfa":
        serial = form.get("serial", "")
        await visit.call("DeactivateMFADevice", UserName=name, SerialNumber=serial)
        await visit.call("DeleteVirtualMFADevice", SerialNumber=serial)
        return "MFA device removed."
    return "Nothing was changed."


async def _set_password(visit: Visit, name: str) -> str:
    password, reset = visit.form.get("password", ""), visit.form.get("resetrequired") == "on"
    try:
        await visit.call("GetLoginProfile", UserName=name)
    except NoSuchEntityException:
        await visit.call("CreateLoginProfile", UserName=name, Password=password, PasswordResetRequired=reset)
        return "Console password set."
    await visit.call("UpdateLoginProfile", UserName=name, Password=password, PasswordResetRequired=reset)
    return "Console password changed."


@page
async def access_keys(visit: Visit) -> Response:
    """CreateAccessKey: the secret is on this page only, and in its .csv (a data: link, never stored)."""
    name = visit.request.path_params["name"]
    key = (await visit.call("CreateAccessKey", UserName=name))["AccessKey"]
    csv_text = f"Access key ID,Secret access key\n{key['AccessKeyId']},{key['SecretAccessKey']}\n"
    csv_link = "data:text/csv;base64," + base64.b64encode(csv_text.encode()).decode()
    return visit.render("access_key_created.html", user_name=name, key=key, csv_link=csv_link)


@page
async def mfa_device(visit: Visit) -> Response:
    """Assign a virtual MFA device: create it (its QR code shown once), then enable it with two codes."""
    name = visit.request.path_params["name"]
    serial = visit.form.get("serial")
    if not serial:
        device_name = visit.form.get("devicename", "").strip() or name
        device = (await visit.call("CreateVirtualMFADevice", VirtualMFADeviceName=device_name))[
            "VirtualMFADevice"
        ]
        qr = "data:image/png;base64," + base64.b64encode(device["QRCodePNG"]).decode()
        seed = device["Base32StringSeed"]
        seed_text = seed.decode() if isinstance(seed, bytes) else str(seed)
        return visit.render(
            "mfa_assign.html", user_name=name, serial=device["SerialNumber"], qr=qr, seed=seed_text
        )
    try:
        await visit.call(
            "EnableMFADevice",
            UserName=name,
            SerialNumber=serial,
            AuthenticationCode1=visit.form.get("code1", ""),
            AuthenticationCode2=visit.form.get("code2", ""),
        )
    except AwsError as exc:
        if isinstance(exc, AccessDenied):
            raise
        await _forget_device(visit, serial)
        return visit.render("error.html", exc.status, error=exc)
    return redirect(f"/console/users/{quote(name)}")


async def _forget_device(visit: Visit, serial: str) -> None:
    """An unassigned device whose codes failed is deleted: its QR code cannot be shown again."""
    try:
        await visit.call("DeleteVirtualMFADevice", SerialNumber=serial)
    except AwsError:
        return
