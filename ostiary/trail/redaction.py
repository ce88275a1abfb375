"""Secrets out of an event: what CloudTrail never writes down.

What the operation's model marks secret (or data) is hidden by its plan (`plans`: sensitive shapes, blobs,
DynamoDB's item values) at any depth; the names below are hidden besides, in every call. A request's
secret parameters (a password, a SAML assertion, a web identity token, a private key, an
MFA code) stay in its record as the marker `HIDDEN_DUE_TO_SECURITY_REASONS`, so a reader sees that one
was sent; an answer's secrets (a secret access key, a session token, a service password, a virtual
MFA device's seed) are left out altogether. Member names become CloudTrail's camelCase, and dates
CloudTrail's text of them (`Jul 18, 2014 4:07:39 PM`, in UTC: its records' `expiration`, `createDate`).
"""

from __future__ import annotations

import base64
import functools
from datetime import UTC, datetime
from typing import Any

from ostiary.trail import plans

HIDDEN = plans.HIDDEN

# Member names (lower-cased) whose values are secret, in a request or in an answer, at any depth.
SECRET_MEMBERS = frozenset(
    {
        "secretaccesskey",
        "sessiontoken",
        "password",
        "oldpassword",
        "newpassword",
        "servicepassword",
        "privatekey",
        "samlassertion",
        "webidentitytoken",
        "authenticationcode1",
        "authenticationcode2",
        "base32stringseed",
        "qrcodepng",
        "clientsecret",
        "sessiontokenvalue",
    }
)


def request_parameters(params: dict[str, Any], plan: plans.Plan | None = None) -> dict[str, Any] | None:
    """A request's parameters as CloudTrail records them: camelCase, secrets marked hidden, and what
    the operation's `plan` hides (`plans.of`) hidden or left out."""
    if plan is not None:
        params = plans.apply(params, plan, True)
    return _clean(params, True) or None


_PLAIN_TYPES = frozenset({str, bool, int, float, type(None)})


@functools.lru_cache(maxsize=4096)
def _plain_names(names: tuple[Any, ...]) -> tuple[str, ...] | None:
    """A structure's member names in camelCase, or None when one is secret (asked once per set of
    names)."""
    if any(str(name).lower() in SECRET_MEMBERS for name in names):
        return None
    return tuple(camel(str(name)) for name in names)


@functools.lru_cache(maxsize=4096)
def _camel(name: Any) -> str:
    return camel(str(name))


def response_elements(result: dict[str, Any] | None, plan: plans.Plan | None = None) -> dict[str, Any] | None:
    """An answer's elements as CloudTrail records them: camelCase, secrets (the fixed names', and what
    the operation's `plan` hides) left out."""
    if not result:
        return None
    if plan is not None:
        result = plans.apply(result, plan, False)
    return _clean(result, False) or None


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def date_text(moment: datetime) -> str:
    """A date inside a record's parameters or answer as CloudTrail writes it: `Jul 18, 2014 4:07:39 PM`
    (Java's `MMM d, yyyy h:mm:ss a`, UTC; a naive datetime is taken as UTC). The record's own times
    (eventTime, a session's creationDate) are ISO 8601."""
    at = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    hour = at.hour % 12 or 12
    half = "AM" if at.hour < 12 else "PM"
    return f"{_MONTHS[at.month - 1]} {at.day}, {at.year} {hour}:{at.minute:02d}:{at.second:02d} {half}"


def camel(name: str) -> str:
    """CloudTrail's spelling of a model member: its first letter in lower case (`UserName` → `userName`)."""
    return name[:1].lower() + name[1:]


def _clean(value: Any, hide: bool) -> Any:
    kind = type(value)
    if kind in _PLAIN_TYPES:
        return value
    if kind is dict:
        names = _plain_names(tuple(value))
        if names is not None:  # most structures: no secret member, names seen before
            plain: dict[str, Any] = {}
            for name, item in zip(names, value.values(), strict=True):
                plain[name] = item if type(item) in _PLAIN_TYPES else _clean(item, hide)
            return plain
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            if str(key).lower() in SECRET_MEMBERS:
                if hide:
                    cleaned[_camel(key)] = HIDDEN
                continue
            cleaned[_camel(key)] = _clean(item, hide)
        return cleaned
    if isinstance(value, list | tuple):
        return [_clean(item, hide) for item in value]
    if isinstance(value, datetime):
        return date_text(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):  # a dict of another type
        return _clean(dict(value), hide)
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)
