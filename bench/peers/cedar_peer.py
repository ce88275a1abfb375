"""cedarpy (Cedar's Rust engine) with the workload's IAM policies translated to Cedar."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import cedarpy

from peers import cedar_translate

NAME = "cedarpy"
VERSION = version("cedarpy")
LIMITS = [
    "translated: principal variables inside strings (home/${aws:username}/*) are put in at translation "
    "time, per principal (Cedar has no string concatenation)",
    "no ? wildcard, no StringEqualsIgnoreCase, no set operators (none in this workload)",
]


def prepare(principal: dict[str, Any], policies: list[tuple[str, dict]]) -> Callable[[dict], str]:
    """Translate to Cedar, parse the policy set once, and return decide."""
    policy_set = cedarpy.PolicySet.from_str(cedar_translate.translate(policies, principal))
    entities = cedarpy.Entities.from_json_str("[]")
    uid = f'User::"{principal["arn"].rsplit("/", 1)[-1]}"'
    allow = cedarpy.Decision.Allow
    make_context = cedar_translate.context

    def decide(request: dict[str, Any]) -> str:
        """One is_authorized call; a Deny with a determining policy is a forbid that matched."""
        result = cedarpy.is_authorized(
            {
                "principal": uid,
                "action": 'Action::"call"',
                "resource": 'Resource::"target"',
                "context": make_context(request["context"], request["action"], request["resource"]),
            },
            policy_set,
            entities,
        )
        if result.decision == allow:
            return "Allow"
        return "ExplicitDeny" if result.diagnostics.reasons else "ImplicitDeny"

    return decide
