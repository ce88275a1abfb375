"""IAM identity policies to Cedar, for the constructs of the engine benchmark's workload.

The model: one principal, one action entity and one resource entity; the IAM action (lower-cased, as
IAM compares actions without case) and the resource ARN travel in the context as "$action" and
"$resource", beside the IAM condition keys (lower-cased names, as IAM compares key names without
case). Allow becomes `permit`, Deny `forbid`: Cedar's "forbid overrides permit, default deny" is
IAM's rule for identity policies. Wildcards become `like` patterns. Cedar has no string
concatenation, so a policy variable that is part of a longer string (`home/${aws:username}/*`) is
replaced at translation time by the principal's value: the translation is per principal, as a
compiled policy set is. A variable that is a whole condition value stays dynamic
(`context["aws:principaltag/team"]`).
"""

from __future__ import annotations

import re
from typing import Any

ACTION_KEY, RESOURCE_KEY = "$action", "$resource"
BOOL_KEYS = frozenset({"aws:multifactorauthpresent", "aws:securetransport", "aws:viaawsservice"})
IP_KEYS = frozenset({"aws:sourceip"})
_VAR = re.compile(r"\$\{([^}]*)\}")
_POSITIVE = {"StringEquals", "StringLike", "Bool", "IpAddress", "StringEqualsIgnoreCase"}
_NEGATIVE = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "NotIpAddress": "IpAddress"}


class Unsupported(ValueError):
    """A construct this translation cannot express in Cedar."""


def principal_values(principal: dict[str, Any]) -> dict[str, str]:
    """The policy variables fixed by the principal, by lower-cased key."""
    values = {
        "aws:username": principal.get("name", ""),
        "aws:userid": principal.get("user_id", ""),
        "aws:principalarn": principal["arn"],
        "aws:principalaccount": principal["account"],
        "aws:principaltype": "User",
    }
    values.update({f"aws:principaltag/{k.lower()}": v for k, v in principal.get("tags", {}).items()})
    return values


def context(request_context: dict[str, Any], action: str, resource: str) -> dict[str, Any]:
    """The Cedar context of one request: lower-cased keys, typed booleans and IP addresses."""
    out: dict[str, Any] = {ACTION_KEY: action.lower(), RESOURCE_KEY: resource}
    for key, value in request_context.items():
        name = key.lower()
        if isinstance(value, list):
            raise Unsupported(f"multivalued key {key}")
        if name in BOOL_KEYS:
            out[name] = value.lower() == "true"
        elif name in IP_KEYS:
            out[name] = {"__extn": {"fn": "ip", "arg": value}}
        else:
            out[name] = value
    return out


def translate(policies: list[tuple[str, dict]], principal: dict[str, Any]) -> str:
    """Cedar policy text for the identity policies of `principal`."""
    fixed = principal_values(principal)
    out = []
    for name, doc in policies:
        statements = doc["Statement"]
        for index, statement in enumerate(statements if isinstance(statements, list) else [statements]):
            label = statement.get("Sid") or str(index)
            out.append(f'@id("{name}/{label}")\n{_statement(statement, fixed)}')
    return "\n".join(out)


def _statement(statement: dict[str, Any], fixed: dict[str, str]) -> str:
    """One permit or forbid."""
    effect = {"Allow": "permit", "Deny": "forbid"}[statement["Effect"]]
    parts = []
    if "Action" in statement:
        parts.append(_any(ACTION_KEY, [a.lower() for a in _list(statement["Action"])]))
    else:
        parts.append(f"!{_any(ACTION_KEY, [a.lower() for a in _list(statement['NotAction'])])}")
    if "Resource" in statement:
        parts.append(_any(RESOURCE_KEY, _resources(statement["Resource"], fixed)))
    else:
        parts.append(f"!{_any(RESOURCE_KEY, _resources(statement['NotResource'], fixed))}")
    for operator, tests in statement.get("Condition", {}).items():
        for key, values in tests.items():
            parts.append(_condition(operator, key.lower(), _list(values), fixed))
    body = " &&\n  ".join(p for p in parts if p != "true") or "true"
    return f"{effect}(principal, action, resource) when {{\n  {body}\n}};"


def _list(value: Any) -> list[str]:
    """A string or list element as a list."""
    return value if isinstance(value, list) else [value]


def _resources(values: Any, fixed: dict[str, str]) -> list[str]:
    """Resource patterns with the principal's variables put in; one that cannot resolve matches nothing."""
    out = []
    for value in _list(values):
        resolved = _substitute(value, fixed)
        if resolved is not None:
            out.append(resolved)
    return out


def _substitute(value: str, fixed: dict[str, str]) -> str | None:
    """`value` with its principal variables replaced, or None when one has no value."""
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1).strip().lower()
        if name in ("*", "?", "$"):
            raise Unsupported(f"${{{name}}} in a pattern")
        if name not in fixed:
            if name.startswith("aws:principaltag/"):
                missing = True
                return ""
            raise Unsupported(f"request variable ${{{match.group(1)}}} inside a string")
        return fixed[name]

    resolved = _VAR.sub(one, value)
    return None if missing else resolved


def _any(key: str, patterns: list[str]) -> str:
    """An OR of wildcard matches of context[key] against IAM patterns."""
    if not patterns:
        return "false"
    if "*" in patterns:
        return "true"
    tests = [_match(f'context["{key}"]', p) for p in patterns]
    return tests[0] if len(tests) == 1 else "(" + " || ".join(tests) + ")"


def _match(expr: str, pattern: str) -> str:
    """`expr == "p"` or `expr like "p*"`; IAM's `?` has no Cedar counterpart."""
    if "?" in pattern:
        raise Unsupported(f"? wildcard in {pattern!r}")
    if "*" not in pattern:
        return f"{expr} == {_str(pattern)}"
    escaped = pattern.replace("\\", "\\\\").replace('"', '\\"')
    return f'{expr} like "{escaped}"'


def _str(value: str) -> str:
    """A Cedar string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _condition(operator: str, key: str, values: list[str], fixed: dict[str, str]) -> str:
    """One condition key test, with IAM's meaning for an absent key."""
    if ":" in operator:
        raise Unsupported(f"set operator {operator}")
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    has = f'context has "{key}"'
    if base in _NEGATIVE:
        return f"(!({has}) || !{_values(_NEGATIVE[base], key, values, fixed)})"
    if base not in _POSITIVE:
        raise Unsupported(f"operator {operator}")
    test = _values(base, key, values, fixed)
    return f"(!({has}) || {test})" if if_exists else f"({has} && {test})"


def _values(base: str, key: str, values: list[str], fixed: dict[str, str]) -> str:
    """The OR over a condition's values, for a key known to be present."""
    expr = f'context["{key}"]'
    tests = []
    for value in values:
        whole = _VAR.fullmatch(value)
        if whole and base in ("StringEquals", "StringLike") and "," not in whole.group(1):
            var = whole.group(1).strip().lower()
            tests.append(f'(context has "{var}" && {expr} == context["{var}"])')
            continue
        resolved = _substitute(value, fixed) if base.startswith("String") else value
        if resolved is None:
            continue
        if base == "StringEquals":
            tests.append(f"{expr} == {_str(resolved)}")
        elif base == "StringEqualsIgnoreCase":
            raise Unsupported("StringEqualsIgnoreCase (Cedar has no case folding)")
        elif base == "StringLike":
            tests.append(_match(expr, resolved))
        elif base == "Bool":
            if key not in BOOL_KEYS:
                raise Unsupported(f"Bool on {key}")
            tests.append(f"{expr} == {'true' if resolved.lower() == 'true' else 'false'}")
        elif base == "IpAddress":
            if key not in IP_KEYS:
                raise Unsupported(f"IpAddress on {key}")
            tests.append(f'{expr}.isInRange(ip("{resolved}"))')
    if not tests:
        return "false"
    return tests[0] if len(tests) == 1 else "(" + " || ".join(tests) + ")"
