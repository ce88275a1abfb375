"""The base condition operators: how one request value is compared with a condition's values.

Each operator has a `prepare` (policy values → a ready form, raising ValueError on a bad value)
and a `match` (one request value against the prepared form, raising ValueError on a bad value).
Negated operators (StringNotEquals, NotIpAddress, ArnNotLike…) are listed with their positive twin.
"""

from __future__ import annotations

import base64
import ipaddress
import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ostiary.policy.matchers import compile_glob

Prepare = Callable[[tuple[str, ...]], Any]
Match = Callable[[Any, str], bool]


def _set(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(values)


def _in_set(prepared: frozenset[str], value: str) -> bool:
    return value in prepared


def _lower_set(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(v.lower() for v in values)


def _in_lower_set(prepared: frozenset[str], value: str) -> bool:
    return value.lower() in prepared


def _globs(values: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(compile_glob(v) for v in values)


def _any_glob(prepared: tuple[Any, ...], value: str) -> bool:
    for matcher in prepared:
        if matcher(value):
            return True
    return False


def number(text: str) -> float:
    """A Numeric operand: an integer or a decimal."""
    result = float(text.strip())
    if result != result or result in (float("inf"), float("-inf")):
        raise ValueError(f"`{text}` is not a number")
    return result


def date(text: str) -> float:
    """A Date operand as epoch seconds: ISO 8601 (UTC when no zone) or epoch seconds."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return float(text)
    parsed = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _ordered(parse: Callable[[str], float], compare: Callable[[float, float], bool]) -> tuple[Prepare, Match]:
    """An operator that parses both sides and compares the request value with each policy value."""

    def prepare(values: tuple[str, ...]) -> tuple[float, ...]:
        return tuple(parse(v) for v in values)

    def match(prepared: tuple[float, ...], value: str) -> bool:
        parsed = parse(value)
        return any(compare(parsed, p) for p in prepared)

    return prepare, match


def _bools(values: tuple[str, ...]) -> frozenset[str]:
    found = frozenset(v.lower() for v in values)
    if not found <= {"true", "false"}:
        raise ValueError(f"`{sorted(found - {'true', 'false'})[0]}` is not true or false")
    return found


def _binaries(values: tuple[str, ...]) -> frozenset[bytes]:
    return frozenset(base64.b64decode(v, validate=True) for v in values)


def _in_binaries(prepared: frozenset[bytes], value: str) -> bool:
    return base64.b64decode(value, validate=True) in prepared


def _networks(values: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values)


def _in_network(prepared: tuple[Any, ...], value: str) -> bool:
    address = ipaddress.ip_address(value.strip())
    return any(address.version == n.version and address in n for n in prepared)


def _arns(values: tuple[str, ...]) -> tuple[Any, ...]:
    out: list[Any] = []
    for value in values:
        parts = value.split(":", 5)
        out.append(tuple(compile_glob(p) for p in parts) if len(parts) == 6 else compile_glob(value))
    return tuple(out)


def _arn_like(prepared: tuple[Any, ...], value: str) -> bool:
    parts = value.split(":", 5)
    for pattern in prepared:
        if not isinstance(pattern, tuple):
            if pattern(value):
                return True
        elif len(parts) == 6 and all(m(p) for m, p in zip(pattern, parts, strict=True)):
            return True
    return False


_STRING = (_set, _in_set)
_NUMERIC_EQ = _ordered(number, operator.eq)
_DATE_EQ = _ordered(date, operator.eq)
_ARN = (_arns, _arn_like)
_LIKE = (_globs, _any_glob)

# name → (prepare, match, negated)
OPERATORS: dict[str, tuple[Prepare, Match, bool]] = {
    "StringEquals": (*_STRING, False),
    "StringNotEquals": (*_STRING, True),
    "StringEqualsIgnoreCase": (_lower_set, _in_lower_set, False),
    "StringNotEqualsIgnoreCase": (_lower_set, _in_lower_set, True),
    "StringLike": (*_LIKE, False),
    "StringNotLike": (*_LIKE, True),
    "NumericEquals": (*_NUMERIC_EQ, False),
    "NumericNotEquals": (*_NUMERIC_EQ, True),
    "NumericLessThan": (*_ordered(number, operator.lt), False),
    "NumericLessThanEquals": (*_ordered(number, operator.le), False),
    "NumericGreaterThan": (*_ordered(number, operator.gt), False),
    "NumericGreaterThanEquals": (*_ordered(number, operator.ge), False),
    "DateEquals": (*_DATE_EQ, False),
    "DateNotEquals": (*_DATE_EQ, True),
    "DateLessThan": (*_ordered(date, operator.lt), False),
    "DateLessThanEquals": (*_ordered(date, operator.le), False),
    "DateGreaterThan": (*_ordered(date, operator.gt), False),
    "DateGreaterThanEquals": (*_ordered(date, operator.ge), False),
    "Bool": (_bools, _in_lower_set, False),
    "BinaryEquals": (_binaries, _in_binaries, False),
    "IpAddress": (_networks, _in_network, False),
    "NotIpAddress": (_networks, _in_network, True),
    "ArnEquals": (*_ARN, False),
    "ArnLike": (*_ARN, False),
    "ArnNotEquals": (*_ARN, True),
    "ArnNotLike": (*_ARN, True),
}
