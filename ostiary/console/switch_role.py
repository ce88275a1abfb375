"""Switch role, as AWS's console does: AssumeRole (as the signed-in principal, never as a role already
switched to) by ARN or by account and name; the session's display name and colour are shown in the
header until the person switches back."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import Response

from ostiary.console import pages
from ostiary.console.calls import call_async
from ostiary.console.pages import Visit, page, redirect
from ostiary.errors import AwsError
from ostiary.store import accounts

COLOURS = ("red", "orange", "yellow", "green", "blue", "purple")
_MAX_DISPLAY = 64


@page
async def switch_page(visit: Visit) -> Response:
    query = visit.request.query_params
    context: dict[str, str] = {
        "account": visit.form.get("account", query.get("account", "")),
        "role_name": visit.form.get("rolename", query.get("roleName", "")),
        "role_arn": visit.form.get("rolearn", ""),
        "display": visit.form.get("displayname", ""),
        "colour": visit.form.get("colour", "blue"),
    }
    if visit.request.method == "GET":
        return visit.render("switch_role.html", colours=COLOURS, **context)
    arn = context["role_arn"].strip() or _arn_of(
        visit, context["account"].strip(), context["role_name"].strip()
    )
    base = visit.session.base(visit.app.keyring, datetime.now(UTC))
    who = pages.principal_of(visit.request, base)
    session_name = (base.user_name or base.account_id)[:64]
    try:
        answer = await call_async(
            visit.app, who, "sts", "AssumeRole", {"RoleArn": arn, "RoleSessionName": session_name}
        )
    except AwsError as exc:
        status = exc.status
        return visit.render("switch_role.html", status, error=exc, colours=COLOURS, **context)
    display = (context["display"].strip() or arn.rsplit("/", 1)[-1])[:_MAX_DISPLAY]
    colour = context["colour"] if context["colour"] in COLOURS else "blue"
    switched = visit.session.switched(answer["Credentials"]["SessionToken"], display, colour)
    return pages.set_session(redirect("/console/home"), visit.request, visit.app, switched)


@page
async def back(visit: Visit) -> Response:
    """Back to the signed-in principal's own session."""
    return pages.set_session(
        redirect("/console/home"), visit.request, visit.app, visit.session.switched(None, None, None)
    )


def _arn_of(visit: Visit, account: str, role_name: str) -> str:
    """The role ARN of `account` (an ID or alias) and a role name (which may hold a path)."""
    if not (account.isascii() and account.isdigit() and len(account) == 12):
        with visit.app.db.read() as conn:
            account = accounts.with_alias(conn, account.lower()) or account
    return f"arn:aws:iam::{account}:role/{role_name.strip('/')}"
