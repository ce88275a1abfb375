"""The engine's verdict on one permission of a signed caller: AccessDenied with AWS's message at a
refusal, or, under `--enforce soft`, one log line for the refusal it lets through (who, what, on what,
the deciding statements).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from ostiary import enforce, services
from ostiary.gateway.permissions import Permission
from ostiary.policy import Decision

log = logging.getLogger("ostiary.gateway")

_BARE = re.compile(r"[!-~]+")  # printable, no space: logged as it is


def decide(
    ctx: services.Context,
    permission: Permission,
    resource_policy: Any = None,
    owner: str | None = None,
    *,
    is_soft: bool = False,
) -> None:
    """AccessDenied, with AWS's message, unless the engine allows the caller this permission.

    `resource_policy` is the compiled policy of the resource (a key policy, a bucket policy), if it has
    one; `owner` the resource's account (aws:ResourceAccount), when the permission names one resource.
    `is_soft` (`--enforce soft`): a refusal is logged instead of raised.
    """
    context: dict[str, str | list[str]] = dict(permission.context)
    if owner:
        context["aws:ResourceAccount"] = owner
    decision = enforce.authorize_call(
        ctx,
        permission.action,
        permission.resource,
        context,
        resource_policy=resource_policy,
        resource_account=owner,
        is_unnamed=permission.is_unnamed,
    )
    if decision.is_allowed:
        return
    if ctx.caller is None:
        raise TypeError("the gateway authorizes signed callers only")
    if is_soft:
        _log_let_through(ctx.request_id, ctx.caller.arn, permission, decision)
        return
    raise enforce.access_denied(ctx.caller, permission.action, permission.resource, decision)


def _log_let_through(request_id: str, principal_arn: str, permission: Permission, decision: Decision) -> None:
    """One log line for a refusal `--enforce soft` let through: who, what, on what, and why.

    Names and policy ids only: never a signature, a session token or a key.
    """
    statements = [f"{s.effect} {s.label} ({s.policy_type})" for s in decision.statements]
    log.warning(
        "soft mode let a refused request through: request=%s principal=%s action=%s resource=%s "
        "decision=%s reason=%s statements=%s",
        request_id,
        _field(principal_arn),
        _field(permission.action),
        _field(permission.resource),
        decision.decision,
        _field(decision.reason or "none"),
        _field("; ".join(statements) or "none"),
    )


def _field(text: str) -> str:
    """A value for a `key=value` log line: as it is when printable without spaces, else a JSON string
    (so no value can break the line or pose as another key)."""
    return text if _BARE.fullmatch(text) and '"' not in text and "=" not in text else json.dumps(text)
