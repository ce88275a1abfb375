"""Who may assume a role: the role's trust policy and, where AWS requires it, the caller's own policies.

The engine decides (`ostiary.policy.authorize_assume_role`): the trust policy must allow the caller
(and `sts:TagSession` when tags are passed, `sts:SetSourceIdentity` when a source identity is set);
an explicit deny anywhere refuses; across accounts, or when the trust policy names only the
caller's account, the caller's identity policies (with boundary and session policies) must allow
too. The caller's policies and request context come from `ostiary.enforce`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from ostiary import enforce
from ostiary.auth.caller import Caller
from ostiary.errors import AccessDenied
from ostiary.policy import (
    ALLOW,
    CompiledPolicy,
    Request,
    authorize_assume_role,
    compile_policy,
    parse_policy,
)
from ostiary.services import Context, mfa


@dataclass(frozen=True)
class AssumeRequest:
    """One AssumeRole call, as the trust decision sees it."""

    role_arn: str
    role_account: str
    trust_policy: str
    params: dict[str, Any]  # the call's parameters, by AWS's member names (for sts:* condition keys)
    tags: tuple[tuple[str, str], ...]
    transitive_tag_keys: tuple[str, ...]
    has_new_tags: bool
    has_source_identity: bool
    is_mfa_authenticated: bool = False  # MFA proven by this very call (SerialNumber and TokenCode)
    role_tags: tuple[tuple[str, str], ...] = ()  # the role's own tags: aws:ResourceTag/*, iam:ResourceTag/*


def denied_message(caller: Caller, resource: str, action: str = "sts:AssumeRole", reason: str = "") -> str:
    """AWS's AccessDenied text for `caller` refused `action` on `resource` (STS gives no reason phrase)."""
    return f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource}{reason}"


def authorize_assume(ctx: Context, request: AssumeRequest) -> None:
    """AccessDenied unless the caller may assume the role with these tags and source identity."""
    caller = ctx.caller
    trust = compiled_trust(request.trust_policy)
    is_service = caller.principal_type == "Service"
    policies = None if is_service else enforce.principal_policies(ctx.db, caller)
    context = _context(ctx, policies, request)
    principal = enforce.engine_principal(caller, {}) if policies is None else policies.of_caller(caller)[0]
    for action in _actions(request):
        engine_request = Request(principal, action, request.role_arn, context)
        if policies is None:
            decision = authorize_assume_role(engine_request, trust, role_account=request.role_account)
        else:
            decision = authorize_assume_role(
                engine_request,
                trust,
                role_account=request.role_account,
                identity=policies.combined,
                boundary=policies.boundary,
                session=None if policies.session is None else list(policies.session),
            )
        if decision.decision != ALLOW:
            raise AccessDenied(denied_message(caller, request.role_arn, action))


def authorize_own(
    ctx: Context, action: str, resource: str = "*", request_keys: dict[str, Any] | None = None
) -> None:
    """AccessDenied unless the caller's own policies allow `action` (STS calls without a trust side).

    `request_keys` are the context keys the call's own parameters set (aws:RequestTag/*, aws:TagKeys).
    """
    caller = ctx.caller
    if caller.principal_type == "Service":
        raise AccessDenied(denied_message(caller, resource, action))
    reason = enforce.identity_refusal(ctx, action, resource, request_keys or {})
    if reason is not None:
        raise AccessDenied(denied_message(caller, resource, action, reason))


def check_mfa(ctx: Context, serial_number: str | None, token_code: str | None) -> bool:
    """Whether the call proves MFA; AccessDenied when a device or code is given that does not verify."""
    if serial_number is None and token_code is None:
        return False
    caller = ctx.caller
    is_valid = False
    if serial_number and token_code:
        with ctx.db.transaction() as conn:
            is_valid = mfa.verify_mfa_code(
                conn, ctx.keyring, caller.account_id, serial_number, caller.user_id, token_code, ctx.now
            )
    if not is_valid:
        raise AccessDenied("MultiFactorAuthentication failed with invalid MFA one time pass code. ")
    return True


def _actions(request: AssumeRequest) -> list[str]:
    actions = ["sts:AssumeRole"]
    if request.has_new_tags or request.transitive_tag_keys:
        actions.append("sts:TagSession")
    if request.has_source_identity:
        actions.append("sts:SetSourceIdentity")
    return actions


@lru_cache(maxsize=1024)
def compiled_trust(document: str) -> CompiledPolicy:
    policy = parse_policy(document, "trust")
    # A trust statement has no Resource: it applies to the role itself. The parser marks that as
    # `is_not_resource` with no resources, which the compiler reads as "NotResource: *"; say "all".
    statements = tuple(
        replace(s, is_not_resource=False) if s.resources is None else s for s in policy.statements
    )
    return compile_policy(replace(policy, statements=statements), "trust", "trust")


def _context(ctx: Context, policies: Any, request: AssumeRequest) -> dict[str, Any]:
    """The request context: the caller's keys, the sts:* keys of the call, the requested tags."""
    if policies is None:
        context: dict[str, Any] = {
            "aws:PrincipalServiceName": ctx.caller.arn,
            "aws:PrincipalIsAWSService": "true",
            "aws:SourceIp": ctx.source_ip,
            "aws:CurrentTime": ctx.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": str(int(ctx.now.timestamp())),
        }
        context.update(resource_tag_keys(request.role_tags))
        context.update(_sts_keys(request.params))
    else:
        resource = resource_tag_keys(request.role_tags)
        context = dict(enforce.request_context(ctx, policies, "sts", "AssumeRole", request.params, resource))
    if request.is_mfa_authenticated:
        context["aws:MultiFactorAuthPresent"] = "true"
        context["aws:MultiFactorAuthAge"] = "0"
    if request.tags:
        context["aws:TagKeys"] = [k for k, _ in request.tags]
        for key, value in request.tags:
            context[f"aws:RequestTag/{key}"] = value
    if request.transitive_tag_keys:
        context["sts:TransitiveTagKeys"] = list(request.transitive_tag_keys)
    return context


def resource_tag_keys(tags: tuple[tuple[str, str], ...]) -> dict[str, str | list[str]]:
    """A role's tags as the context keys that name them: aws:ResourceTag/<key> and iam:ResourceTag/<key>."""
    out: dict[str, str | list[str]] = {}
    for key, value in tags:
        out[f"aws:ResourceTag/{key}"] = value
        out[f"iam:ResourceTag/{key}"] = value
    return out


def _sts_keys(params: dict[str, Any]) -> dict[str, Any]:
    names = {
        "ExternalId": "sts:ExternalId",
        "RoleSessionName": "sts:RoleSessionName",
        "SourceIdentity": "sts:SourceIdentity",
        "DurationSeconds": "sts:DurationSeconds",
    }
    return {key: str(params[member]) for member, key in names.items() if params.get(member) is not None}
