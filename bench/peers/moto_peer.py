"""moto's IAM policy evaluation: the IAMPolicy objects its own request authorization builds."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from moto.iam.access_control import IAMPolicy, PermissionResult

NAME = "moto"
NOTE = (
    "stops at the first Deny; as it ignores NotIpAddress, the NotAction Deny of the Guardrails policy "
    "ends most requests early, so its time hardly grows"
)
VERSION = version("moto")
LIMITS = [
    "conditions: only StringEquals is evaluated; Bool, IpAddress, NotIpAddress, StringLike are ignored",
    "a failed condition makes even an Allow statement deny",
    "no policy variables (${aws:username}, ${aws:PrincipalTag/...})",
    "NotResource is not read (a NotResource statement matches every resource)",
    "Action and Resource patterns are regexes made by replacing * (case-sensitive actions)",
]


def prepare(principal: dict[str, Any], policies: list[tuple[str, dict]]) -> Callable[[dict], str]:
    """Build moto's IAMPolicy objects once (its auth path builds them per request) and return decide."""
    compiled = [IAMPolicy(json.dumps(doc)) for _, doc in policies]
    denied, permitted_result = PermissionResult.DENIED, PermissionResult.PERMITTED

    def decide(request: dict[str, Any]) -> str:
        """moto's IAMRequestBase.check_action_permitted loop, with the request's context keys passed."""
        action, resource, context = request["action"], request["resource"], request["context"]
        permitted = False
        for policy in compiled:
            result = policy.is_action_permitted(action, resource, None, context)
            if result == denied:
                return "ExplicitDeny"
            if result == permitted_result:
                permitted = True
        return "Allow" if permitted else "ImplicitDeny"

    return decide
