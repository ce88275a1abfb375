"""Conditions specialised per operator into small closures for the common case: one string value.

A check is `check(request, keys, errors, missing) -> bool` (`keys` is `request.lookup()`) and
answers exactly as `CompiledCondition.test`; it handles a single-valued key (the usual case)
itself and hands any other case (several values, variables it does not render, Null, a bad
policy value) to `test`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from functools import lru_cache

from ostiary.policy.conditions import _ERRORS, CompiledCondition
from ostiary.policy.memo import remembered
from ostiary.policy.operators import (
    _any_glob,
    _in_lower_set,
    _in_network,
    _in_set,
    _lower_set,
)
from ostiary.policy.request import Request

_inet_pton, _AF_INET, _from_bytes = socket.inet_pton, socket.AF_INET, int.from_bytes
Check = Callable[[Request, dict[str, object], list[str], list[str]], bool]
Hit = Callable[[str, list[str]], bool]


def parse_ip(text: str) -> tuple[int, int] | None:
    """An address as (version, integer), or None when it is not one, as `ipaddress.ip_address` reads it.

    A dotted quad goes through `inet_pton` (as strict as `ipaddress`: four decimal octets, no
    leading zeros); anything else through `ipaddress`.
    """
    try:
        return 4, _from_bytes(_inet_pton(_AF_INET, text.strip()), "big")
    except (OSError, ValueError):
        return _parse_other(text.strip())


@lru_cache(maxsize=1024)
def _parse_other(text: str) -> tuple[int, int] | None:
    """An IPv6 address (or a bad one) through `ipaddress`."""
    try:
        address = ipaddress.ip_address(text)
    except _ERRORS:
        return None
    return address.version, int(address)


def compile_check(condition: CompiledCondition) -> Check:
    """The fastest exact form of one condition."""
    if condition._error or condition.is_null:
        return _general(condition)
    if condition._templates is not None:
        return _template_check(condition)
    if condition._match is _in_set:
        return _set_check(condition)
    if condition._match is _in_network:
        return _network_check(condition)
    return _single_check(condition, _hit(condition))


def _general(condition: CompiledCondition) -> Check:
    """The condition's own test as a check."""
    test = condition.test
    return lambda request, keys, errors, missing: test(request, errors, missing)


def _single_check(condition: CompiledCondition, hit: Hit) -> Check:
    """A check on `hit`: a single value answers `hit != negated` whatever the set modifier."""
    key, name, negated, absent, general = (
        condition.key,
        condition.name,
        condition.negated,
        condition.absent,
        condition.test,
    )

    def check(request: Request, keys: dict[str, object], errors: list[str], missing: list[str]) -> bool:
        value = keys.get(key)
        if value.__class__ is str:
            return hit(value, errors) != negated
        if value is None:
            missing.append(name)
            return absent
        return general(request, errors, missing)

    return check


def _set_check(condition: CompiledCondition) -> Check:
    """String(Not)Equals on static values: the set test inline (the commonest condition)."""
    key, name, negated, absent, general, prepared = (
        condition.key,
        condition.name,
        condition.negated,
        condition.absent,
        condition.test,
        condition._prepared,
    )

    def check(request: Request, keys: dict[str, object], errors: list[str], missing: list[str]) -> bool:
        value = keys.get(key)
        if value.__class__ is str:
            return (value in prepared) != negated
        if value is None:
            missing.append(name)
            return absent
        return general(request, errors, missing)

    return check


def _hit(condition: CompiledCondition) -> Hit:
    """The positive operator on one request value, specialised for the common operators."""
    match, prepared = condition._match, condition._prepared
    if match is _in_lower_set:
        return lambda value, errors: value.lower() in prepared
    if match is _any_glob:
        if len(prepared) == 1:
            only = prepared[0]
            return lambda value, errors: bool(only(value))
        return lambda value, errors: _any_glob(prepared, value)
    return lambda value, errors: condition._hit(prepared, value, errors)


def _network_check(condition: CompiledCondition) -> Check:
    """(Not)IpAddress: the address read once, networks as (version, network, mask) integers."""
    key, name, negated, absent, general, label = (
        condition.key,
        condition.name,
        condition.negated,
        condition.absent,
        condition.test,
        condition.label,
    )
    masks = tuple((n.version, int(n.network_address), int(n.netmask)) for n in condition._prepared)

    def check(request: Request, keys: dict[str, object], errors: list[str], missing: list[str]) -> bool:
        value = keys.get(key)
        if value.__class__ is not str:
            if value is None:
                missing.append(name)
                return absent
            return general(request, errors, missing)
        parsed = parse_ip(value)
        if parsed is None:
            errors.append(f"{label}: request value `{value}` cannot be compared")
            return negated
        version, number = parsed
        for net_version, network, mask in masks:
            if net_version == version and number & mask == network:
                return not negated
        return negated

    return check


def _template_check(condition: CompiledCondition) -> Check:
    """String operators with variables in their values: rendered once per variable values."""
    if not renders_safely(condition):
        return _general(condition)
    hit = condition._match
    key, name, negated, absent, general = (
        condition.key,
        condition.name,
        condition.negated,
        condition.absent,
        condition.test,
    )
    render = remembered(condition._templates or (), lambda request: condition._render(request, []))

    def check(request: Request, keys: dict[str, object], errors: list[str], missing: list[str]) -> bool:
        value = keys.get(key)
        if value.__class__ is not str:
            if value is None:
                missing.append(name)
                return absent
            return general(request, errors, missing)
        prepared = render(request, keys)
        if prepared is None:
            return False
        return hit(prepared, value) != negated

    return check


def renders_safely(condition: CompiledCondition) -> bool:
    """Whether rendering the condition's variables cannot fail: string operators (not Bool's values)."""
    match = condition._match
    return match in (_in_set, _any_glob) or (match is _in_lower_set and condition._prepare is _lower_set)
