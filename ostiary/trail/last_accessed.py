"""IAM's service-last-accessed report, from the services an entity's policies allow and what the
trail says its principals attempted.

The report lists every service the policies allow (`grants`), with the last attempt by any of the
entity's principals within the tracking period (400 days, as IAM's), allowed or refused, the principal
that made it and the region; how many principals attempted it; and, at ACTION_LEVEL, for the services
whose actions are tracked, each allowed action with its own last attempt. It is made once, when the job
is generated, and kept whole with the job, so that its pages do not shift under a reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ostiary.store.last_access import TRACKING_PERIOD, Used
from ostiary.trail import grants

# The services whose actions an ACTION_LEVEL report tracks (IAM tracks S3, EC2, IAM and Lambda
# management actions; here, those whose calls Ostiary answers or authorizes itself).
TRACKED_SERVICES = frozenset({"dynamodb", "iam", "kms", "s3", "sts"})


@dataclass(frozen=True)
class Principal:
    """A user or role a report is about: EntityInfo's members."""

    kind: str  # USER | ROLE
    principal_id: str
    name: str
    path: str
    arn: str

    def info(self) -> dict[str, Any]:
        """The EntityInfo shape."""
        return {
            "Arn": self.arn,
            "Name": self.name,
            "Type": self.kind,
            "Id": self.principal_id,
            "Path": self.path,
        }


def report(
    granted: Mapping[str, frozenset[str]], uses: Iterable[Used], *, action_level: bool
) -> list[dict[str, Any]]:
    """Each allowed service's entry (ServiceLastAccessed), in namespace order, with `Used` kept beside
    it: each principal's last attempt, by principal id, for ...WithEntities."""
    by_service: dict[str, list[Used]] = {}
    for use in uses:
        by_service.setdefault(use.action.split(":", 1)[0], []).append(use)
    entries = []
    for namespace in sorted(granted):
        used = by_service.get(namespace, [])
        entry: dict[str, Any] = {
            "ServiceName": grants.service_name(namespace),
            "ServiceNamespace": namespace,
            "TotalAuthenticatedEntities": len({u.principal_id for u in used}),
        }
        if used:
            last = max(used, key=lambda u: u.last_at)
            entry["LastAuthenticated"] = last.last_at
            entry["LastAuthenticatedEntity"] = last.principal_arn
            entry["LastAuthenticatedRegion"] = last.region
        if action_level and namespace in TRACKED_SERVICES:
            entry["TrackedActionsLastAccessed"] = _tracked(namespace, granted[namespace], used)
        entry["Used"] = _last_by_principal(used)
        entries.append(entry)
    return entries


def entities(principals: Iterable[Mapping[str, Any]], used: Mapping[str, datetime]) -> list[dict[str, Any]]:
    """EntityDetailsList: every principal that could have used a service (EntityInfo shapes), with its
    last attempt, the latest first, then by name."""
    details = []
    for info in principals:
        item: dict[str, Any] = {"EntityInfo": dict(info)}
        if info["Id"] in used:
            item["LastAuthenticated"] = used[info["Id"]]
        details.append(item)
    details.sort(key=_entity_order)
    return details


def since(now: datetime) -> datetime:
    """The start of the tracking period."""
    return now - TRACKING_PERIOD


def _tracked(namespace: str, patterns: frozenset[str], used: list[Used]) -> list[dict[str, Any]]:
    last: dict[str, Used] = {}
    for use in used:
        name = use.action.split(":", 1)[1].lower()
        if name not in last or use.last_at > last[name].last_at:
            last[name] = use
    tracked = []
    for action in grants.granted_actions(namespace, patterns):
        item: dict[str, Any] = {"ActionName": action}
        latest = last.get(action.lower())
        if latest is not None:
            item["LastAccessedEntity"] = latest.principal_arn
            item["LastAccessedTime"] = latest.last_at
            item["LastAccessedRegion"] = latest.region
        tracked.append(item)
    return tracked


def _last_by_principal(used: list[Used]) -> dict[str, datetime]:
    last: dict[str, datetime] = {}
    for use in used:
        if use.principal_id not in last or use.last_at > last[use.principal_id]:
            last[use.principal_id] = use.last_at
    return last


def _entity_order(item: dict[str, Any]) -> tuple[float, str]:
    at = item.get("LastAuthenticated")
    return (-at.timestamp() if at is not None else 0.0, str(item["EntityInfo"]["Name"]))
