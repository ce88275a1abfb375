"""The Principal element: its shapes, and what IAM accepts as a principal on write."""

from __future__ import annotations

import json
from typing import Any

from ostiary.policy.errors import PolicySyntaxError
from ostiary.policy.grammar import SYNTAX

_KINDS = ("AWS", "Service", "Federated", "CanonicalUser")
_IAM_TYPES = ("user/", "role/", "federated-user/")
_STS_TYPES = ("assumed-role/", "federated-user/")
_SERVICE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")


def principal_pairs(value: Any, path: str) -> tuple[tuple[str, str], ...]:
    """The element as (kind, value) pairs; `"*"` is ("*", "*"). Raise PolicySyntaxError if invalid."""
    if value == "*":
        return (("*", "*"),)
    if not isinstance(value, dict) or not value or not set(value) <= set(_KINDS):
        raise PolicySyntaxError(SYNTAX, path)
    pairs: list[tuple[str, str]] = []
    for kind, items in value.items():
        names = [items] if isinstance(items, str) else items
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise PolicySyntaxError(SYNTAX, f"{path}.{kind}")
        for name in names:
            if not is_valid_principal(kind, name):
                raise PolicySyntaxError(f'Invalid principal in policy: "{kind.upper()}":"{name}"', path)
            pairs.append((kind, name))
    return tuple(pairs)


def is_valid_principal(kind: str, name: str) -> bool:
    """Whether IAM accepts the name as a principal of this kind (existence is not checked here)."""
    if name == "*":
        return kind in ("AWS", "Service", "Federated")
    if kind == "AWS":
        return is_account_id(name) or _is_principal_arn(name) or _is_unique_id(name)
    if kind == "Service":
        return "." in name and set(name) <= _SERVICE_CHARS and not name.startswith(".")
    if kind == "Federated":
        return bool(name) and not any(c.isspace() for c in name) and "*" not in name
    return bool(name) and name.isalnum()


def is_account_id(name: str) -> bool:
    """Twelve digits."""
    return len(name) == 12 and name.isdigit()


def _is_principal_arn(name: str) -> bool:
    """An IAM or STS principal ARN: root, user, role, assumed-role session, federated user."""
    parts = name.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or parts[3] or "*" in name:
        return False
    service, account, rest = parts[2], parts[4], parts[5]
    if not is_account_id(account):
        return False
    if service == "iam":
        return rest == "root" or (rest.startswith(_IAM_TYPES) and not rest.endswith("/"))
    return service == "sts" and rest.startswith(_STS_TYPES) and not rest.endswith("/")


def _is_unique_id(name: str) -> bool:
    """A principal's unique id such as AIDA… or AROA… (IAM stores these for deleted entities)."""
    return len(name) >= 16 and name[0] == "A" and name.isalnum() and name.isupper()


def match_level(kind: str, name: str, principal: Any) -> int:
    """How one Principal entry names the caller: 0 not, 1 its account, 2 its role or user, 3 itself.

    A role session's role, or the IAM user who called GetFederationToken, is level 2.
    """
    if kind == "*" or (name == "*" and kind == "AWS"):
        return 3
    if kind == "AWS":
        return _aws_level(name, principal)
    if kind == "Service":
        return 3 if principal.type == "service" and (principal.arn == name or name == "*") else 0
    if kind == "Federated":
        return 3 if principal.federation and _same_provider(name, principal.provider or principal.arn) else 0
    return 0


def _aws_level(name: str, principal: Any) -> int:
    """The level of an `AWS` entry: account id or root ARN, user, role or session ARN, unique id."""
    if principal.type in ("service", "anonymous") or principal.federation:
        return 0
    # A user or role ARN names the entity that holds the name now (AWS keeps its unique id): a session of
    # one deleted since is named by its unique id alone, never by the ARN a new entity may have taken.
    if name == principal.arn and (principal.is_current or principal.type != "user"):
        return 3
    account = name if is_account_id(name) else _root_account(name)
    if account is not None:
        if account != principal.account:
            return 0
        return 3 if principal.type == "root" else 1
    if principal.type == "assumed-role" and (
        name == principal.role_id or (principal.is_current and name == principal.role_arn)
    ):
        return 2
    if principal.type == "federated" and principal.is_current and name == principal.user_arn:
        return 2  # the IAM user who called GetFederationToken: the session policy still limits
    return 3 if name == principal.user_id else 0


def _root_account(name: str) -> str | None:
    """The account of `arn:PARTITION:iam::ACCOUNT:root`, or None."""
    parts = name.split(":")
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam" and parts[5] == "root":
        return parts[4]
    return None


def _same_provider(name: str, provider: str | None) -> bool:
    """Whether a Federated entry names the provider (by host name or by provider ARN)."""
    if provider is None:
        return False
    if name in ("*", provider):
        return True
    return provider.endswith("-provider/" + name) or name.endswith("-provider/" + provider)


def is_user_or_role_arn(name: str) -> bool:
    """Whether a principal is an IAM user or role ARN (`arn:aws:iam::ACCOUNT:user/...`, `.../role/...`):
    the principals IAM binds to their unique id when a policy naming them is saved."""
    parts = name.split(":", 5)
    return _is_principal_arn(name) and parts[2] == "iam" and parts[5].startswith(("user/", "role/"))


def is_unique_id(name: str) -> bool:
    """Whether a principal is a user's or role's unique id (AIDA…, AROA…)."""
    return _is_unique_id(name)


def aws_principals(document: str) -> tuple[str, ...]:
    """Every `AWS` principal the Principal and NotPrincipal elements of a (valid) policy name, in order,
    each once; a text that is not a policy names none."""
    found: dict[str, None] = {}
    for element in _principal_elements(_loaded(document)):
        for name in _aws_names(element):
            found.setdefault(name, None)
    return tuple(found)


def with_aws_principal(document: str, old: str, new: str) -> str | None:
    """The policy with `old` replaced by `new` wherever an `AWS` principal names it (Principal and
    NotPrincipal only, never a Condition or a Resource), as compact JSON; None when none names it."""
    data = _loaded(document)
    changed = False
    for element in _principal_elements(data):
        value = element.get("AWS")
        if value == old:
            element["AWS"], changed = new, True
        elif isinstance(value, list) and old in value:
            element["AWS"], changed = [new if v == old else v for v in value], True
    if not changed:
        return None
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _loaded(document: str) -> Any:
    try:
        return json.loads(document)
    except (ValueError, RecursionError):
        return None


def _principal_elements(data: Any) -> list[dict[str, Any]]:
    """The Principal and NotPrincipal objects of a decoded policy (statements as an object or a list)."""
    raw = data.get("Statement") if isinstance(data, dict) else None
    statements = [raw] if isinstance(raw, dict) else raw if isinstance(raw, list) else []
    return [
        s[key]
        for s in statements
        if isinstance(s, dict)
        for key in ("Principal", "NotPrincipal")
        if isinstance(s.get(key), dict)
    ]


def _aws_names(element: dict[str, Any]) -> list[str]:
    value = element.get("AWS")
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [n for n in names if isinstance(n, str)]
