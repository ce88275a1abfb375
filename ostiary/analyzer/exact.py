"""The exact checks: CheckNoNewAccess, CheckAccessNotGranted, CheckNoPublicAccess. Pure apart from z3.

Each check asks `proof.search` for a request in the difference it is about and answers PASS only on a
proof that none exists. A FAIL carries the request found, which the engine (`ostiary.policy`) has
decided as the check claims; a construct beyond the procedure, a timeout or an unconfirmed example is
a FAIL with its reason (`Check.unknown`), never a PASS.

The request universe: identity policies are decided for one IAM user (its own keys such as
aws:PrincipalArn present, their values free); resource policies for a finite universe of principals
covering every class the policies distinguish (each named principal, another principal of each named
account, a stranger account, a service, a federated user, anyone); public access for an anonymous
caller whose identifying keys (aws:SourceAccount, aws:SourceIp, aws:PrincipalOrgID…) match no value
the policy names.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ostiary.analyzer import formula as f
from ostiary.analyzer.encode import ACTION, RESOURCE, Space, Unsupported
from ostiary.analyzer.globs import glob
from ostiary.analyzer.principals import Universe, anonymous, caller, resource_universe
from ostiary.analyzer.proof import TIMEOUT_SECONDS, Example, Outcome, search
from ostiary.policy import (
    CompiledPolicy,
    Policy,
    PolicyError,
    authorize,
    parse_policy,
)

PASS, FAIL = "PASS", "FAIL"
OWNER_ACCOUNT = "111122223333"
# keys that say who or where the caller is: a stranger's values are none the policy names
IDENTIFYING_KEYS = (
    "aws:principalaccount", "aws:principalarn", "aws:principalorgid", "aws:principalorgpaths",
    "aws:sourceaccount", "aws:sourcearn", "aws:sourceowner", "aws:sourcevpc", "aws:sourcevpce",
    "aws:sourceip", "aws:sourceorgid", "aws:sourceorgpaths", "aws:userid", "aws:username",
    "aws:principalservicename", "kms:calleraccount", "s3:dataaccesspointaccount", "s3:dataaccesspointarn",
    "aws:vpcsourceip", "aws:principalisawsservice",
)  # fmt: skip


class DocumentError(ValueError):
    """A policy document the engine refuses (its message is IAM's)."""


@dataclass(frozen=True)
class Check:
    """A check's answer: PASS or FAIL, the example request, the statements it used, or why unknown."""

    result: str
    example: Example | None = None
    statements: tuple[tuple[int, str | None], ...] = ()  # (index, Sid) of the statements granting it
    unknown: str = ""
    principal: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def read_policy(text: str, policy_type: str) -> Policy:
    """The document as the engine reads it: identity, or resource (a trust policy when it has no Resource)."""
    kind = "identity" if policy_type == "IDENTITY_POLICY" else "resource"
    try:
        return parse_policy(text, kind)
    except PolicyError as error:
        if kind == "resource" and '"Resource"' not in text and '"NotResource"' not in text:
            try:
                return parse_policy(text, "trust")
            except PolicyError:
                pass
        raise DocumentError(str(error)) from None


def check_no_new_access(
    new_text: str, existing_text: str, policy_type: str, timeout_seconds: float = TIMEOUT_SECONDS
) -> Check:
    """Is there a request the new policy allows and the existing one does not?"""
    started = time.monotonic()
    new, existing = read_policy(new_text, policy_type), read_policy(existing_text, policy_type)
    universe = _universe(policy_type, (new, existing))
    try:
        space = Space((new, existing), len(universe.principals), started + timeout_seconds, (True, False))
        goal = f.all_of(
            (
                space.allows(new, universe.applies(new)),
                f.negate(space.allows(existing, universe.applies(existing))),
                universe.own_keys(space),
            )
        )
    except Unsupported as error:
        return Check(FAIL, unknown=str(error))
    new_compiled, existing_compiled = universe.compile(new), universe.compile(existing)

    def confirm(example: Example) -> bool:
        return universe.allows(new_compiled, example) and not universe.allows(existing_compiled, example)

    outcome = search(space, goal, confirm, timeout_seconds - (time.monotonic() - started))
    return _answer(outcome, universe, new_compiled)


def check_access_not_granted(
    text: str,
    actions: Sequence[str],
    resources: Sequence[str],
    policy_type: str,
    timeout_seconds: float = TIMEOUT_SECONDS,
) -> Check:
    """Does the policy allow any of the actions (on any resource), or any action on one of the resources?"""
    started = time.monotonic()
    policy = read_policy(text, policy_type)
    universe = _universe(policy_type, (policy,))
    action_globs = [glob(a.lower()) for a in actions]
    resource_globs = [glob(r) for r in resources]
    try:
        space = Space((policy,), len(universe.principals), started + timeout_seconds, (True,))
        parts = [space.allows(policy, universe.applies(policy)), universe.own_keys(space)]
        if action_globs:
            parts.append(f.any_of(space.member(ACTION, g) for g in action_globs))
        if resource_globs:
            parts.append(f.any_of(space.member(RESOURCE, g) for g in resource_globs))
        goal = f.all_of(parts)
    except Unsupported as error:
        return Check(FAIL, unknown=str(error))
    compiled = universe.compile(policy)

    def confirm(example: Example) -> bool:
        listed = (not action_globs or any(g.matches(example.action) for g in action_globs)) and (
            not resource_globs or any(g.matches(example.resource) for g in resource_globs)
        )
        return listed and universe.allows(compiled, example)

    outcome = search(space, goal, confirm, timeout_seconds - (time.monotonic() - started))
    return _answer(outcome, universe, compiled)


def check_no_public_access(text: str, timeout_seconds: float = TIMEOUT_SECONDS) -> Check:
    """Does the resource policy allow an anonymous caller, who names nothing the policy names, anything?"""
    started = time.monotonic()
    policy = read_policy(text, "RESOURCE_POLICY")
    universe = Universe([anonymous()], OWNER_ACCOUNT)
    try:
        space = Space((policy,), 1, started + timeout_seconds, (True,))
        goal = f.all_of((space.allows(policy, universe.applies(policy)), _stranger(space)))
    except Unsupported as error:
        return Check(FAIL, unknown=str(error))
    compiled = universe.compile(policy)
    remaining = timeout_seconds - (time.monotonic() - started)
    outcome = search(space, goal, lambda example: universe.allows(compiled, example), remaining)
    return _answer(outcome, universe, compiled)


def _universe(policy_type: str, policies: Sequence[Policy]) -> Universe:
    if policy_type == "IDENTITY_POLICY":
        return Universe([caller()], None)
    return resource_universe(policies, OWNER_ACCOUNT)


def _stranger(space: Space) -> f.Node:
    """The identifying keys hold no value a policy pattern names (a pattern of only `*` aside)."""
    parts: list[f.Node] = []
    for name in IDENTIFYING_KEYS:
        key = space.keys.get(name)
        if key is None:
            continue
        for value in key.values:
            if isinstance(value, str):
                parts.extend(
                    f.negate(f.atom(a))
                    for a in space.atoms.values()
                    if a.variable == value and (a.glob is None or not a.glob.is_everything)
                )
        if key.kind == "ip":
            parts.append(_unnamed_addresses(space, name))
    return f.all_of(parts)


def _unnamed_addresses(space: Space, name: str) -> f.Node:
    """An identifying address key's values lie in no network a policy names (but /0)."""
    return f.term(space.ip_outside_named(name))


def _answer(outcome: Outcome, universe: Universe, compiled: CompiledPolicy) -> Check:
    if outcome.is_proven:
        return Check(PASS)
    if outcome.example is None:
        return Check(FAIL, unknown=outcome.unknown)
    example = outcome.example
    principal = universe.principals[example.principal]
    decision = authorize(universe.request(example), **universe.arguments(compiled, principal))
    statements = tuple(
        (s.index, s.sid)
        for s in decision.statements
        if s.effect == "Allow" and s.policy_id == compiled.policy_id
    )
    return Check(FAIL, example, statements, principal=principal.arn, details={"request": example.as_dict()})
