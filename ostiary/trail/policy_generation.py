"""A least-privilege policy from what a principal did: Access Analyzer's generated policy.

Each action the principal was allowed (from the trail's day rows), grouped by service; actions that
touched the same resources share a statement. With resource placeholders asked for, each statement
names the resources the principal touched (an S3 object by its folder, `arn:aws:s3:::b/logs/*`) and,
where the trail names none but the action takes a resource, the placeholder of the action's resource
type (`arn:aws:s3:::${BucketName}`); without, every statement's resource is `*`, as Access Analyzer's.
Actions that need no permission (sts:GetCallerIdentity) and names the catalogue does not know are left
out. A document longer than a managed policy may be (6,144 characters without white space) is split.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from ostiary import actions
from ostiary.trail import grants

POLICY_VERSION = "2012-10-17"
MAX_POLICY_CHARACTERS = 6144
# Actions AWS asks no permission for: never in a generated policy.
_PERMISSIONLESS = frozenset({"sts:getcalleridentity"})
_VARIABLE = re.compile(r"\$\{([A-Za-z]+)\}")


def policies(uses: Iterable[tuple[str, str]], account_id: str, *, with_resources: bool) -> list[str]:
    """The generated policy documents (JSON) for (action, resource) pairs the principal was allowed."""
    by_action: dict[str, set[str]] = {}
    for action, resource in uses:
        name = _spelled(action)
        if name is None:
            continue
        by_action.setdefault(name, set()).add(resource if with_resources else "*")
    statements: list[dict[str, object]] = []
    for service in sorted({a.split(":", 1)[0] for a in by_action}):
        grouped: dict[tuple[str, ...], list[str]] = {}
        for action in sorted(a for a in by_action if a.split(":", 1)[0] == service):
            resources = by_action[action]
            if with_resources and resources == {"*"}:
                resources = {_placeholder(action, account_id)}
            key = ("*",) if "*" in resources else tuple(sorted(resources))
            grouped.setdefault(key, []).append(action)
        for resources_key, names in sorted(grouped.items(), key=lambda item: item[1]):
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": names,
                    "Resource": resources_key[0] if len(resources_key) == 1 else list(resources_key),
                }
            )
    return _documents(statements)


def _spelled(action: str) -> str | None:
    """The action as the catalogue spells it, None when it needs no permission or is unknown."""
    service, _, name = action.partition(":")
    if action.lower() in _PERMISSIONLESS:
        return None
    for known in grants.service_actions(service):
        if known.lower() == name.lower():
            return f"{service}:{known}"
    return None


def _placeholder(action: str, account_id: str) -> str:
    """The ARN template of the action's simplest resource type (an S3 object's, not an access point
    object's), account and partition filled in; `*` for an action that takes no resource."""
    service, _, name = action.partition(":")
    formats = [
        f for f in (actions.arn_format(service, k) for k in actions.resource_kinds(service, name)) if f
    ]
    if not formats:
        return "*"
    fmt = min(formats, key=lambda f: len(_VARIABLE.findall(f)))
    return fmt.replace("${Partition}", actions.PARTITION).replace("${Account}", account_id)


def _documents(statements: list[dict[str, object]]) -> list[str]:
    """The statements in as few documents as fit the size limit, in order."""
    documents: list[list[dict[str, object]]] = [[]]
    for statement in statements:
        candidate = documents[-1] + [statement]
        if documents[-1] and _size(candidate) > MAX_POLICY_CHARACTERS:
            documents.append([statement])
        else:
            documents[-1] = candidate
    if documents == [[]]:
        return []
    return [json.dumps({"Version": POLICY_VERSION, "Statement": s}) for s in documents]


def _size(statements: list[dict[str, object]]) -> int:
    return len(json.dumps({"Version": POLICY_VERSION, "Statement": statements}, separators=(",", ":")))


def variables(document: str) -> set[str]:
    """The placeholders (`BucketName`) a generated document leaves to fill in."""
    return set(_VARIABLE.findall(document))
