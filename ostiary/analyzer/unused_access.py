"""Unused access: what an identity's policies grant that it has not used within the tracking period, and
which roles, access keys and passwords went unused. Pure: the caller reads the store and the trail.

granted = granted_actions([parse_policy(text)])          # {service: {action names, or "*"}}
details = unused_permissions(granted, usage, cutoff)      # UnusedPermissionDetails shapes
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ostiary.policy import Policy

ANY_ACTION = "*"


@dataclass
class Usage:
    """When an identity last used each service and each action (service -> action name -> time)."""

    services: dict[str, datetime] = field(default_factory=dict)
    actions: dict[str, dict[str, datetime]] = field(default_factory=dict)

    def add(self, service: str, action: str, at: datetime) -> None:
        """Count one call of `service:action` at `at`."""
        if service not in self.services or self.services[service] < at:
            self.services[service] = at
        by_action = self.actions.setdefault(service, {})
        if action not in by_action or by_action[action] < at:
            by_action[action] = at


def granted_actions(policies: Iterable[Policy]) -> dict[str, set[str]]:
    """The services the policies' Allow statements name, each with the actions named in full (`*` where
    a wildcard grants more); a statement allowing every service (`*`, NotAction) names none."""
    granted: dict[str, set[str]] = {}
    for policy in policies:
        for statement in policy.statements:
            if statement.effect != "Allow" or statement.is_not_action:
                continue
            for action in statement.actions:
                service, _, name = action.partition(":")
                if not name or "*" in service or "?" in service:
                    continue
                wanted = ANY_ACTION if "*" in name or "?" in name else name
                granted.setdefault(service.lower(), set()).add(wanted)
    return granted


def unused_permissions(
    granted: dict[str, set[str]], usage: Usage, cutoff: datetime
) -> list[dict[str, object]]:
    """UnusedPermissionDetails, one per granted service unused since `cutoff` or with actions named in
    full that were not used since then, in service order."""
    details: list[dict[str, object]] = []
    for service in sorted(granted):
        last = usage.services.get(service)
        used = usage.actions.get(service, {})
        named = sorted(a for a in granted[service] if a != ANY_ACTION)
        unused = [a for a in named if _before(_last_of(used, a), cutoff)]
        if not _before(last, cutoff) and not unused:
            continue
        detail: dict[str, object] = {"serviceNamespace": service}
        if unused:
            detail["actions"] = [_action(a, _last_of(used, a)) for a in unused]
        if last is not None:
            detail["lastAccessed"] = last
        details.append(detail)
    return details


def is_unused(created_at: datetime, last_used_at: datetime | None, cutoff: datetime) -> bool:
    """Whether a role, key or password made before `cutoff` was not used since then."""
    return created_at < cutoff and _before(last_used_at, cutoff)


def _last_of(used: dict[str, datetime], action: str) -> datetime | None:
    lowered = action.lower()
    times = [at for name, at in used.items() if name.lower() == lowered]
    return max(times) if times else None


def _before(moment: datetime | None, cutoff: datetime) -> bool:
    return moment is None or moment < cutoff


def _action(name: str, last: datetime | None) -> dict[str, object]:
    entry: dict[str, object] = {"action": name}
    if last is not None:
        entry["lastAccessed"] = last
    return entry
