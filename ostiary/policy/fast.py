"""The common case decided directly: a user or role session with identity policies and maybe a boundary.

No resource, session or organisation policy, in the caller's own account: `authorize` would find
an explicit Deny in the identity policies or the boundary, else require an Allow in each. The
answer here is the same Decision, without the general path's groups and dicts.
"""

from __future__ import annotations

from collections.abc import Sequence

from ostiary.policy.compile import CompiledPolicy
from ostiary.policy.decision import (
    ALLOW,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    TYPE_WORDS,
    Decision,
    MatchedStatement,
    explicit_deny_reason,
    implicit_deny_reason,
    make_decision,
)
from ostiary.policy.inline import Decide, inline
from ostiary.policy.plan import Plan
from ostiary.policy.request import Request
from ostiary.policy.slices import NOT_BUILT, Slice, Sliced

IDENTITY_ONLY_TYPES = frozenset(("user", "assumed-role"))  # the callers this path decides
_KEY_PREFIX = "kms:"
_RESOURCE_REQUIRED: dict[str, bool] = {}
_IMPLICIT: dict[tuple[str, str], str] = {}
_MEMO_LIMIT = 4096
_MISS = object()
_DENY_REASONS = {t: explicit_deny_reason(t) for t in TYPE_WORDS}


def identity_only(
    request: Request,
    identity: CompiledPolicy | Sequence[CompiledPolicy],
    boundary: CompiledPolicy | None,
    resource_account: str | None,
) -> Decision | None:
    """The Decision for identity policies (and a boundary) alone; None when the case is not this one."""
    principal = request._principal
    if principal.type not in IDENTITY_ONLY_TYPES:
        return None
    if resource_account is not None and resource_account != principal.account:
        return None
    action = request._action
    if requires_resource_policy(action):
        return None
    if boundary is None and isinstance(identity, CompiledPolicy):
        return _remembered(request, identity, action)
    resource = request._resource
    if isinstance(identity, CompiledPolicy):
        plan = identity.plan_for(action, resource)
    else:
        plan = _joined(identity, action, resource)
    errors: list[str] = []
    missing: list[str] = []
    denies: list[MatchedStatement] = []
    allows: list[MatchedStatement] = []
    if plan:
        keys = request.lookup()
        for is_deny, matched, run in plan:
            if run(request, keys, errors, missing):
                (denies if is_deny else allows).append(matched)
    bounded: list[MatchedStatement] = []
    if boundary is not None:
        keys = request.lookup()
        for is_deny, matched, run in boundary.plan_for(action, resource):
            if run(request, keys, errors, missing):
                (denies if is_deny else bounded).append(matched)
    if denies:
        found = (EXPLICIT_DENY, _DENY_REASONS[denies[0].policy_type], tuple(denies))
    elif not allows:
        found = (IMPLICIT_DENY, _implicit_reason("identity", action), ())
    elif boundary is not None and not bounded:
        found = (IMPLICIT_DENY, _implicit_reason("boundary", action), ())
    else:
        found = (ALLOW, "", tuple(allows + bounded) if bounded else tuple(allows))
    if not errors and not missing:
        return make_decision(*found)
    return make_decision(*found, _unique(errors), _unique(missing))


def requires_resource_policy(action: str) -> bool:
    """Whether a resource-based policy must allow the action even in the caller's own account.

    KMS: a key policy must allow, itself or by naming the account (which lets identity policies
    grant); without it an identity policy's Allow has no effect.
    """
    found = _RESOURCE_REQUIRED.get(action)
    if found is None:
        if len(_RESOURCE_REQUIRED) >= _MEMO_LIMIT:
            _RESOURCE_REQUIRED.clear()
        found = _RESOURCE_REQUIRED[action] = action[:4].lower() == _KEY_PREFIX
    return found


def _remembered(request: Request, policy: CompiledPolicy, action: str) -> Decision:
    """One policy alone: Decisions remembered by action, slice, statements matched, errors, missing keys."""
    decide = policy.inlined.get(action, _MISS)
    if decide is _MISS:
        decide = _inline(policy, action)
    if decide is not None:
        answer = decide(request)  # type: ignore[operator]
        if answer is not None:
            return answer  # type: ignore[no-any-return]
    piece = policy.slice(action, request._resource)
    plan = piece.plan
    errors: list[str] = []
    missing: list[str] = []
    mask = piece.fused()(request, request.lookup(), errors, missing) if plan else 0
    key = (action, piece.key, mask, tuple(errors), tuple(missing))
    found = policy.decisions.get(key)
    if found is None:
        found = _decision(plan, mask, action, errors, missing)
        if len(policy.decisions) >= _MEMO_LIMIT:
            policy.decisions.clear()
        policy.decisions[key] = found
    return found  # type: ignore[return-value]


def _inline(policy: CompiledPolicy, action: str) -> Decide | None:
    """The action's generated function, remembered on the policy; None when not inlinable.

    For an action indexed by resource, a function that finds the request's slice and runs that
    slice's generated function (built on first use; it answers None when the slice is not inlinable).
    """
    sliced = policy.sliced(action)
    found = _inline_slice(sliced.whole, action) if sliced.index is None else _by_slice(sliced, action)
    if len(policy.inlined) >= _MEMO_LIMIT:
        policy.inlined.clear()
    policy.inlined[action] = found
    return found


def _inline_slice(piece: Slice, action: str) -> Decide | None:
    """The slice's generated function (`inline`), remembered on the slice; None when not inlinable."""
    found = piece.inlined
    if found is NOT_BUILT:
        plan = piece.plan
        found = piece.inlined = inline(
            piece.statements, lambda mask, missing: _decision(plan, mask, action, [], missing)
        )
    return found  # type: ignore[return-value]


def _by_slice(sliced: Sliced, action: str) -> Decide:
    """The generated function of the request's slice, run on the request (None when there is none)."""
    get = sliced.get

    def decide(request: Request) -> Decision | None:
        piece = get(request._resource)
        found = piece.inlined
        if found is NOT_BUILT:
            found = _inline_slice(piece, action)
        return None if found is None else found(request)  # type: ignore[operator]

    return decide


def _decision(plan: Plan, mask: int, action: str, errors: list[str], missing: list[str]) -> Decision:
    """The Decision of one identity policy whose statements in `mask` (bits in plan order) apply."""
    denies: list[MatchedStatement] = []
    allows: list[MatchedStatement] = []
    for i, (is_deny, matched, _) in enumerate(plan):
        if mask >> i & 1:
            (denies if is_deny else allows).append(matched)
    if denies:
        found = (EXPLICIT_DENY, _DENY_REASONS[denies[0].policy_type], tuple(denies))
    elif not allows:
        found = (IMPLICIT_DENY, _implicit_reason("identity", action), ())
    else:
        found = (ALLOW, "", tuple(allows))
    return make_decision(*found, _unique(errors), _unique(missing))


def _joined(policies: Sequence[CompiledPolicy], action: str, resource: str) -> Plan:
    """The plans of several policies for the resource, one after the other."""
    return tuple(entry for policy in policies for entry in policy.plan_for(action, resource))


def _unique(items: list[str]) -> tuple[str, ...]:
    """The items without repeats, in order."""
    return tuple(items) if len(items) < 2 else tuple(dict.fromkeys(items))


def _implicit_reason(policy_type: str, action: str) -> str:
    """AWS's phrase for a missing allow, remembered per action."""
    key = (policy_type, action)
    reason = _IMPLICIT.get(key)
    if reason is None:
        if len(_IMPLICIT) >= _MEMO_LIMIT:
            _IMPLICIT.clear()
        reason = _IMPLICIT[key] = implicit_deny_reason(policy_type, action)
    return reason
