"""The Principal element: its shapes, and what IAM accepts as a principal on write."""

from __future__ import annotations

from typing import Any

from ostiary.policy.errors import PolicySyntaxError

_KINDS = ("AWS", "Service", "Federated", "CanonicalUser")
_SYNTAX = "Syntax errors in policy."
_IAM_TYPES = ("user/", "role/", "federated-user/")
_STS_TYPES = ("assumed-role/", "federated-user/")
_SERVICE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")


def principal_pairs(value: Any, path: str) -> tuple[tuple[str, str], ...]:
    """The element as (kind, value) pairs; `"*"` is ("*", "*"). Raise PolicySyntaxError if invalid."""
    if value == "*":
        return (("*", "*"),)
    if not isinstance(value, dict) or not value or not set(value) <= set(_KINDS):
        raise PolicySyntaxError(_SYNTAX, path)
    pairs: list[tuple[str, str]] = []
    for kind, items in value.items():
        names = [items] if isinstance(items, str) else items
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise PolicySyntaxError(_SYNTAX, f"{path}.{kind}")
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
