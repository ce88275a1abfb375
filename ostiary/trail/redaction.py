"""Secrets out of an event: what CloudTrail never writes down.

What the operation's model marks secret (or data) is hidden by its plan (`plans`: sensitive shapes, blobs,
DynamoDB's item values) at any depth; the names below are hidden besides, in every call. A request's
secret parameters (a password, a SAML assertion, a web identity token, a private key, an
MFA code) stay in its record as the marker `HIDDEN_DUE_TO_SECURITY_REASONS`, so a reader sees that one
was sent; an answer's secrets (a secret access key, a session token, a service password, a virtual
MFA device's seed) are left out altogether. A structure's member names become CloudTrail's camelCase;
a map's keys are kept as sent (`"encryptionContext": {"Department": "x"}`: the plan says which dicts are
maps); dates become CloudTrail's text of them (`Jul 18, 2014 4:07:39 PM`, in UTC: its records'
`expiration`, `createDate`).
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
    if plan is None:
        return _clean(params, True) or None
    kept = _planned(params, plan, True)
    return kept if kept is not _OUT and kept else None


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


@functools.lru_cache(maxsize=4096)
def _secret(name: Any) -> bool:
    return str(name).lower() in SECRET_MEMBERS


def response_elements(result: dict[str, Any] | None, plan: plans.Plan | None = None) -> dict[str, Any] | None:
    """An answer's elements as CloudTrail records them: camelCase, secrets (the fixed names', and what
    the operation's `plan` hides) left out."""
    if not result:
        return None
    if plan is None:
        return _clean(result, False) or None
    kept = _planned(result, plan, False)
    return kept if kept is not _OUT and kept else None


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


_OUT = object()  # left out


def _planned(value: Any, plan: plans.Plan, hide: bool) -> Any:
    """`value` as CloudTrail records it, by its `plan` (`plans`): a structure's members camelCased, a
    map's keys as sent, what the plan hides hidden (`hide`: a request's) or left out, the fixed secret
    names besides (a map's key too), and what takes no step the plain path (`_clean`: nothing in it to
    hide, and no map). `_OUT` for what is left out: a value not of its shape (a malformed request's: a
    string where the model has an item) may hold what the plan would hide."""
    if type(plan) is dict:
        if not isinstance(value, dict):
            return _OUT
        kept: dict[str, Any] = {}
        for name, item in value.items():
            step = plan.get(name)
            if step is None and type(name) is str and "." in name:
                step = plans.flat(plan, name)  # a query protocol's flattened member
            if _secret(name):
                if hide and step != plans.DROP:
                    kept[_camel(name)] = HIDDEN
                continue
            if step is None:
                kept[_camel(name)] = item if type(item) in _PLAIN_TYPES else _clean(item, hide)
                continue
            found = _planned(item, step, hide)
            if found is not _OUT:
                kept[_camel(name)] = found
        return kept
    if type(plan) is tuple:
        kind, inner = plan
        if kind == "{}" and isinstance(value, dict):
            mapped: dict[Any, Any] = {}
            for key, item in value.items():  # a map's keys: kept as sent
                if _secret(key):  # (a map of data is DROP itself: not here)
                    if hide:
                        mapped[key] = HIDDEN
                    continue
                if inner is None:
                    mapped[key] = item if type(item) in _PLAIN_TYPES else _clean(item, hide)
                else:
                    found = _planned(item, inner, hide)
                    if found is not _OUT:
                        mapped[key] = found
            return mapped
        if kind == "[]" and isinstance(value, list | tuple):
            items = (_planned(item, inner, hide) for item in value)
            return [item for item in items if item is not _OUT]
        return _OUT
    if plan == plans.HIDE:
        return HIDDEN if hide else _OUT
    if plan == plans.NAMES:  # an item: its attribute names
        return list(value) if isinstance(value, dict) else _OUT
    if plan == plans.STATEMENT:
        return plans.redacted_statement(value) if type(value) is str else _OUT
    if plan == plans.KEY:
        return _key(value, hide)
    return _OUT  # DROP


# A key's attribute value as CloudTrail records it: its value without its type (a key's is a string, a
# number or a binary).
_KEY_TYPES = frozenset({"S", "N", "B"})


def _key(value: Any, hide: bool) -> Any:
    """A DynamoDB key as CloudTrail's data events record it: `{"Artist": "No One You Know"}` of
    `{"Artist": {"S": "No One You Know"}}` (DynamoDB's developer guide, its PutItem and UpdateItem
    records); an attribute whose value is no key's type is left out."""
    if not isinstance(value, dict):
        return _OUT
    kept: dict[Any, Any] = {}
    for name, item in value.items():
        if _secret(name):
            if hide:
                kept[name] = HIDDEN
            continue
        if isinstance(item, dict) and len(item) == 1:
            ((kind, typed),) = item.items()
            if (
                kind in _KEY_TYPES
                and isinstance(typed, str | bytes | int | float)
                and type(typed) is not bool
            ):
                kept[name] = _clean(typed, hide)
    return kept
