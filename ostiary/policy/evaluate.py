"""One policy set against a request: the Allow and Deny statements that apply (Cedar's evaluator)."""

from __future__ import annotations

from collections.abc import Iterable

from ostiary.policy.compile import CompiledPolicy
from ostiary.policy.decision import MatchedStatement
from ostiary.policy.request import Request


class Matches:
    """What a group of policies said: matched Allows and Denies, and the best principal level."""

    __slots__ = ("allows", "denies", "level")

    def __init__(self) -> None:
        self.allows: list[MatchedStatement] = []
        self.denies: list[MatchedStatement] = []
        self.level = 0


def evaluate(
    policies: Iterable[CompiledPolicy], request: Request, errors: list[str], missing: list[str]
) -> Matches:
    """The statements of these policies that apply to the request; never raises."""
    found = Matches()
    action, resource = request._action, request._resource
    keys = request.lookup()
    for policy in policies:
        for is_deny, matched, run in policy.plan_for(action, resource):
            level = run(request, keys, errors, missing)
            if not level:
                continue
            if level is True:
                level = 3
            if is_deny:
                found.denies.append(matched)
            else:
                found.allows.append(matched)
                if level > found.level:
                    found.level = level
    return found
