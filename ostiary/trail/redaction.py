"""Secrets out of an event: what CloudTrail never writes down.

A request's secret parameters (a password, a SAML assertion, a web identity token, a private key, an
MFA code) stay in its record as the marker `HIDDEN_DUE_TO_SECURITY_REASONS`, so a reader sees that one
was sent; an answer's secrets (a secret access key, a session token, a service password, a virtual
MFA device's seed) are left out altogether. Member names become CloudTrail's camelCase.
"""

from __future__ import annotations

import base64
import functools
from datetime import datetime
from typing import Any

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"

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


def request_parameters(params: dict[str, Any]) -> dict[str, Any] | None:
    """A request's parameters as CloudTrail records them: camelCase, secrets marked hidden."""
    if _is_plain(params):  # most calls: a few names and strings, none secret
        return {_camel(k): v for k, v in params.items()} or None
    return _clean(params, hide=True) or None


_PLAIN_TYPES = (str, bool, int)


def _is_plain(params: dict[str, Any]) -> bool:
    """Whether every member is a string, number or boolean under a name that is not secret."""
    return all(type(v) in _PLAIN_TYPES for v in params.values()) and _plain_names(tuple(params))


@functools.lru_cache(maxsize=4096)
def _plain_names(names: tuple[str, ...]) -> bool:
    return not any(str(name).lower() in SECRET_MEMBERS for name in names)


@functools.lru_cache(maxsize=4096)
def _camel(name: str) -> str:
    return camel(name)


def response_elements(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """An answer's elements as CloudTrail records them: camelCase, secrets left out."""
    if not result:
        return None
    return _clean(result, hide=False) or None


def camel(name: str) -> str:
    """CloudTrail's spelling of a model member: its first letter in lower case (`UserName` → `userName`)."""
    return name[:1].lower() + name[1:]


def _clean(value: Any, *, hide: bool) -> Any:
    if isinstance(value, dict):
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            if name.lower() in SECRET_MEMBERS:
                if hide:
                    cleaned[camel(name)] = HIDDEN
                continue
            cleaned[camel(name)] = _clean(item, hide=hide)
        return cleaned
    if isinstance(value, list | tuple):
        return [_clean(item, hide=hide) for item in value]
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
