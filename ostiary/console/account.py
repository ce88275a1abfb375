"""Account settings: the alias (the sign-in page takes it for the account ID) and the password policy."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ostiary.console.pages import Visit, page, redirect
from ostiary.errors import AccessDenied, AwsError

_FLAGS = (
    "RequireSymbols",
    "RequireNumbers",
    "RequireUppercaseCharacters",
    "RequireLowercaseCharacters",
    "AllowUsersToChangePassword",
    "HardExpiry",
)
_NUMBERS = ("MinimumPasswordLength", "MaxPasswordAge", "PasswordReusePrevention")


@page
async def settings_page(visit: Visit) -> Response:
    error: AwsError | None = None
    if visit.request.method == "POST":
        try:
            await _change(visit)
            return redirect("/console/account?saved=1")
        except AwsError as exc:
            if isinstance(exc, AccessDenied):
                raise
            error = exc
    aliases = (await visit.call("ListAccountAliases"))["AccountAliases"]
    policy: dict[str, Any] | None
    try:
        policy = (await visit.call("GetAccountPasswordPolicy"))["PasswordPolicy"]
    except AwsError as exc:
        if isinstance(exc, AccessDenied):
            raise
        policy = None
    return visit.render(
        "account.html",
        400 if error else 200,
        aliases=aliases,
        policy=policy or {},
        has_policy=policy is not None,
        error=error,
        saved=visit.request.query_params.get("saved") == "1",
        flags=_FLAGS,
        numbers=_NUMBERS,
    )


async def _change(visit: Visit) -> None:
    action = visit.form.get("action")
    if action == "alias":
        for old in (await visit.call("ListAccountAliases"))["AccountAliases"]:
            await visit.call("DeleteAccountAlias", AccountAlias=old)
        alias = visit.form.get("alias", "").strip()
        if alias:
            await visit.call("CreateAccountAlias", AccountAlias=alias)
    elif action == "password_policy":
        params: dict[str, Any] = {flag: visit.form.get(flag) == "on" for flag in _FLAGS}
        for number in _NUMBERS:
            text = visit.form.get(number, "").strip()
            if text:
                params[number] = int(text) if text.isascii() and text.isdigit() and len(text) < 10 else -1
        await visit.call("UpdateAccountPasswordPolicy", **params)
    elif action == "delete_password_policy":
        await visit.call("DeleteAccountPasswordPolicy")
