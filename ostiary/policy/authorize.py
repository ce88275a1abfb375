"""AWS's policy evaluation logic over every policy type, to one Decision (Cedar's authorizer).

Order: an explicit Deny anywhere wins; then SCPs must allow; then, in the caller's account, a
resource-based policy naming the caller itself allows on its own (naming its role ARN, boundary and
session policies still apply; naming the account delegates to identity policies); otherwise the
identity policies, the permissions boundary and the session policies must all allow. Across
accounts, both the caller's side and the resource-based policy must allow. A trust policy must
always allow the role assumption, and a KMS key policy any use of its key. A Deny with
NotPrincipal applies to every caller with a permissions boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ostiary.policy.compile import CompiledPolicy
from ostiary.policy.decision import (
    ALLOW,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Decision,
    MatchedStatement,
    explicit_deny_reason,
    implicit_deny_reason,
)
from ostiary.policy.evaluate import Matches, evaluate
from ostiary.policy.fast import IDENTITY_ONLY_TYPES, identity_only, requires_resource_policy
from ostiary.policy.request import Request

Policies = CompiledPolicy | Sequence[CompiledPolicy]
_DENY_ORDER = ("identity", "resource", "boundary", "session", "scp")
_EMPTY = Matches()
_FAST_TYPES = IDENTITY_ONLY_TYPES  # the inlined shortcut's callers (a name of its own: tests switch it off)


def _run(policies: Policies | None, request: Request, errors: list[str], missing: list[str]) -> Matches:
    """The matches of a policy group (one policy or several); no policies match nothing."""
    if not policies:
        return _EMPTY
    if isinstance(policies, CompiledPolicy):
        return evaluate((policies,), request, errors, missing)
    return evaluate(policies, request, errors, missing)


def authorize(
    request: Request,
    *,
    identity: Policies = (),
    boundary: CompiledPolicy | None = None,
    session: Policies | None = None,
    scps: Sequence[CompiledPolicy] | None = None,
    resource: CompiledPolicy | None = None,
    resource_account: str | None = None,
    trust: CompiledPolicy | None = None,
    resource_known: bool = True,
) -> Decision:
    """Decide one request. `session=None` means no session policy was passed; `scps=None` no organisation.

    `trust` (the role's trust policy) replaces `resource` for a role assumption. `resource_known=False`
    says the resource's own policy is unknown rather than absent (the policy simulator, given none):
    then no KMS key policy is required. Never raises.
    """
    if session is None and scps is None and resource is None and trust is None:
        if resource_account == request._principal.account:
            resource_account = None  # the caller's own account: no cross-account rule applies
        if identity.__class__ is tuple and len(identity) == 1:
            identity = identity[0]  # a principal's combined policies
        if boundary is None and resource_account is None and identity.__class__ is CompiledPolicy:
            decide = identity.inlined.get(request._action)
            if decide is not None and request._principal.type in _FAST_TYPES:
                found = decide(request)  # type: ignore[operator]
                if found is not None:
                    return found  # type: ignore[no-any-return]
        fast = identity_only(request, identity, boundary, resource_account)
        if fast is not None:
            return fast
    required = trust is not None or (resource_known and requires_resource_policy(request.action))
    return _general(
        request,
        identity,
        boundary,
        session,
        scps,
        trust or resource,
        resource_account,
        (trust is not None, required),
    )


def _general(
    request: Request,
    identity: Policies,
    boundary: CompiledPolicy | None,
    session: Policies | None,
    scps: Sequence[CompiledPolicy] | None,
    resource: CompiledPolicy | None,
    resource_account: str | None,
    kind: tuple[bool, bool],
) -> Decision:
    """Every policy type through `evaluate`, then the evaluation logic (`_decide`).

    `kind` is (whether `resource` is a trust policy, whether it must allow even in the caller's account).
    """
    principal = request.principal
    caller = principal.has_identity_policies
    limited = caller and principal.type != "root"
    if limited and boundary is not None and resource is not None and not principal.has_boundary:
        principal = replace(principal, has_boundary=True)  # NotPrincipal spares no bounded caller
        request = Request(principal, request.action, request.resource, request.context)
    errors: list[str] = []
    missing: list[str] = []
    if session is None and principal.type == "federated" and principal.federation is None:
        session = ()  # a federation token without a session policy has no permissions
    applies = {
        "identity": limited,
        "resource": True,
        "boundary": limited and boundary is not None,
        "session": caller and session is not None,
        "scp": caller and scps is not None,
    }
    found = {
        "identity": _run(identity, request, errors, missing) if limited else _EMPTY,
        "resource": _run(resource, request, errors, missing),
        "boundary": _run(boundary, request, errors, missing) if applies["boundary"] else _EMPTY,
        "session": _run(session, request, errors, missing) if applies["session"] else _EMPTY,
        "scp": _run(scps, request, errors, missing) if applies["scp"] else _EMPTY,
    }
    decision, reason, statements = _decide(request, applies, found, resource_account, kind)
    if not errors and not missing:
        return Decision(decision, reason, statements)
    return Decision(decision, reason, statements, tuple(dict.fromkeys(errors)), tuple(dict.fromkeys(missing)))


def _decide(
    request: Request,
    applies: dict[str, bool],
    found: dict[str, Matches],
    resource_account: str | None,
    kind: tuple[bool, bool],
) -> tuple[str, str, tuple[MatchedStatement, ...]]:
    """The evaluation logic proper, on the matched statements of each policy type."""
    action = request.action
    is_trust, is_required = kind
    resource_type = "trust" if is_trust else "resource"
    denies = [s for name in _DENY_ORDER for s in found[name].denies]
    if denies:
        return EXPLICIT_DENY, explicit_deny_reason(denies[0].policy_type), tuple(denies)
    allows = tuple(s for name in _DENY_ORDER for s in found[name].allows)
    principal = request.principal
    if applies["scp"] and not found["scp"].allows:
        return IMPLICIT_DENY, implicit_deny_reason("scp", action), ()
    level = found["resource"].level
    if not principal.has_identity_policies:
        return (
            (ALLOW, "", allows)
            if level >= 3
            else (IMPLICIT_DENY, implicit_deny_reason(resource_type, action), ())
        )
    account = resource_account or principal.account
    is_cross = account != principal.account
    if not is_cross and level >= 3:
        return ALLOW, "", allows
    needs_identity = principal.type != "root" and (is_cross or level != 2)
    missing_side = _caller_side(applies, found, needs_identity)
    if missing_side:
        return IMPLICIT_DENY, implicit_deny_reason(missing_side, action), ()
    if (is_cross or is_required) and level == 0:
        return IMPLICIT_DENY, implicit_deny_reason(resource_type, action), ()
    return ALLOW, "", allows


def _caller_side(applies: dict[str, bool], found: dict[str, Matches], needs_identity: bool) -> str:
    """The first of identity, boundary, session that fails to allow, or "" when all allow."""
    if needs_identity and not found["identity"].allows:
        return "identity"
    for name in ("boundary", "session"):
        if applies[name] and not found[name].allows:
            return name
    return ""


def authorize_unnamed(
    request: Request,
    *,
    identity: Policies = (),
    boundary: CompiledPolicy | None = None,
    session: Policies | None = None,
    scps: Sequence[CompiledPolicy] | None = None,
    resource: CompiledPolicy | None = None,
    resource_account: str | None = None,
) -> Decision:
    """Decide a request on `*` whose resource could not be named although the action has resource types.

    As `authorize`, and fail closed: any Deny statement of the action whose principal and conditions
    hold refuses, whatever its Resource or NotResource says (the call may act on what it denies), while
    an Allow must still match `*`. Never raises.
    """
    decision = authorize(
        request,
        identity=identity,
        boundary=boundary,
        session=session,
        scps=scps,
        resource=resource,
        resource_account=resource_account,
    )
    if decision.decision == EXPLICIT_DENY:
        return decision
    principal = request.principal
    caller = principal.has_identity_policies
    limited = caller and principal.type != "root"
    if limited and boundary is not None and resource is not None and not principal.has_boundary:
        principal = replace(principal, has_boundary=True)  # NotPrincipal spares no bounded caller
        request = Request(principal, request.action, request.resource, request.context)
    groups = (  # in _DENY_ORDER
        identity if limited else None,
        resource,
        boundary if limited else None,
        session if caller else None,
        scps if caller else None,
    )
    errors: list[str] = []
    missing: list[str] = []
    denies = [found for group in groups for found in _blind_denies(group, request, errors, missing)]
    if not denies:
        return decision
    return Decision(
        EXPLICIT_DENY,
        explicit_deny_reason(denies[0].policy_type),
        tuple(denies),
        tuple(dict.fromkeys((*decision.errors, *errors))),
        tuple(dict.fromkeys((*decision.missing_context_keys, *missing))),
    )


def _blind_denies(
    policies: Policies | None, request: Request, errors: list[str], missing: list[str]
) -> list[MatchedStatement]:
    """The Deny statements of the action in a policy group whose principal and conditions hold, whatever
    their Resource or NotResource."""
    if not policies:
        return []
    group = (policies,) if isinstance(policies, CompiledPolicy) else policies
    action, keys = request.action_lower, request.lookup()
    return [
        statement.matched
        for policy in group
        for statement in policy.candidates(action)
        if statement.is_deny and statement.resource_blind_runner()(request, keys, errors, missing)
    ]


def authorize_assume_role(
    request: Request,
    trust: CompiledPolicy,
    *,
    role_account: str,
    identity: Policies = (),
    boundary: CompiledPolicy | None = None,
    session: Policies | None = None,
    scps: Sequence[CompiledPolicy] | None = None,
) -> Decision:
    """Decide a role assumption: the role's trust policy and the caller's own policies."""
    return authorize(
        request,
        identity=identity,
        boundary=boundary,
        session=session,
        scps=scps,
        trust=trust,
        resource_account=role_account,
    )
