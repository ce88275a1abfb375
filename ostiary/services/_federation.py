"""Role sessions for federated callers (web identity, SAML): the trust decision and the credentials.

The caller is the identity provider's user, not an AWS principal: the role's trust policy alone
decides (no identity policies apply), with the provider's claims as condition keys.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ostiary.errors import AccessDenied, ValidationError
from ostiary.policy import ALLOW, Principal, Request, authorize_assume_role
from ostiary.services import Context, sts, trust
from ostiary.store import roles

DEFAULT_SECONDS = 3600
# Role names are ASCII: a character that merely lower-cases to a letter of one names no role.
_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role(/(?:[^/]+/)*)([\w+=,.@-]+)$", re.ASCII)


@dataclass(frozen=True)
class FederatedRequest:
    """One AssumeRoleWithWebIdentity or AssumeRoleWithSAML call, once the token or assertion verified."""

    action: str  # sts:AssumeRoleWithWebIdentity or sts:AssumeRoleWithSAML
    federation: str  # "web-identity" or "saml", as the engine names it
    provider_arn: str
    role_arn: str
    session_name: str
    claims: dict[str, Any]  # condition keys from the token or assertion, e.g. `<provider>:sub`
    duration_seconds: int | None = None
    policy: str | None = None
    policy_arns: list[dict[str, str]] | None = None
    source_identity: str | None = None
    ends_at: datetime | None = None  # the identity provider's end of the session (SAML SessionNotOnOrAfter)


def role_account(role_arn: str) -> str | None:
    """The account of a role ARN, or None when it is not one."""
    match = _ROLE_ARN.match(role_arn)
    return match.group(1) if match else None


def denied(action: str) -> AccessDenied:
    """AWS's refusal of a federated assumption (it names no caller: there is none)."""
    return AccessDenied(f"Not authorized to perform {action}")


def assume(ctx: Context, request: FederatedRequest) -> dict[str, Any]:
    """Credentials and AssumedRoleUser of the role session, when the trust policy allows the provider."""
    match = _ROLE_ARN.match(request.role_arn)
    if match is None:
        raise ValidationError(f"{request.role_arn} is invalid")
    with ctx.db.read() as conn:
        role = roles.find_by_name(conn, match.group(1), match.group(3))
    if role is None or role.path != match.group(2):
        raise denied(request.action)
    seconds = request.duration_seconds or DEFAULT_SECONDS
    if seconds > role.max_session_duration:
        raise ValidationError(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        )
    sts.check_session_policy(request.policy)
    arns = sts.session_policy_arns(request.policy_arns)
    sts.check_session_policy_arns(ctx, arns, role.account_id)
    # decided on the role's own ARN and tags, never on the spelling of the request
    canonical = replace(request, role_arn=sts.stored_role_arn(role))
    _authorize(ctx, canonical, role, seconds)
    has_policy = request.policy is not None or bool(arns)
    session = replace(
        sts.role_session(ctx, role, request.session_name, _capped(ctx, request, seconds)),
        policy=sts.minified(request.policy),
        policy_arns=arns,
        has_session_policy=has_policy,
        source_identity=request.source_identity,
        source_principal_arn=request.provider_arn,
    )
    with ctx.db.transaction(durable=False) as conn:
        roles.record_use(conn, role.role_id, ctx.settings.region, ctx.now)
    return sts.assume_role_output(
        ctx, session, sts.packed_size(request.policy, arns, []) if has_policy else None
    )


def _capped(ctx: Context, request: FederatedRequest, seconds: int) -> int:
    """The session's length: `seconds`, or less when the identity provider ends the session sooner."""
    if request.ends_at is None:
        return seconds
    return max(1, min(seconds, math.ceil((request.ends_at - ctx.now).total_seconds())))


def _authorize(ctx: Context, request: FederatedRequest, role: Any, seconds: int) -> None:
    principal = Principal(
        arn=request.provider_arn,
        type="federated",
        federation=request.federation,
        provider=request.provider_arn,
    )
    context: dict[str, Any] = {
        "aws:FederatedProvider": request.provider_arn,
        "aws:SourceIp": ctx.source_ip,
        "aws:CurrentTime": ctx.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(ctx.now.timestamp())),
        "aws:SecureTransport": "true" if ctx.is_secure else "false",
        "sts:RoleSessionName": request.session_name,
        "sts:DurationSeconds": str(seconds),
        **trust.resource_tag_keys(sts.role_tags(ctx, role)),
        **request.claims,
    }
    if request.source_identity is not None:
        context["sts:SourceIdentity"] = request.source_identity
    compiled = trust.compiled_trust(role.trust_policy)
    actions = [request.action] + (["sts:SetSourceIdentity"] if request.source_identity is not None else [])
    for action in actions:
        decision = authorize_assume_role(
            Request(principal, action, request.role_arn, context), compiled, role_account=role.account_id
        )
        if decision.decision != ALLOW:
            raise denied(request.action)
