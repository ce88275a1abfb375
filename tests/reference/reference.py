"""A naive evaluator written straight from AWS's documented policy evaluation logic.

No index, no cache, no compilation: every statement of every policy is read from the JSON
document for every request. It covers the grammar the differential test generates: Action /
NotAction, Resource / NotResource with `${…}` variables, Principal / NotPrincipal, and the string,
numeric, Bool, IpAddress and Null operators with ForAllValues / ForAnyValue and IfExists.
"""

from __future__ import annotations

import ipaddress
from typing import Any

WORDS = {
    "identity": "identity-based policy",
    "resource": "resource-based policy",
    "boundary": "permissions boundary",
    "session": "session policy",
    "scp": "service control policy",
}
NEGATED = {
    "StringNotEquals",
    "StringNotLike",
    "NumericNotEquals",
    "NotIpAddress",
    "StringNotEqualsIgnoreCase",
}


def wildcard(pattern: str, text: str, case: bool = True) -> bool:
    """`*` is any run of characters and `?` exactly one."""
    if not case:
        pattern, text = pattern.lower(), text.lower()
    return glob_tokens(["" if c == "*" else None if c == "?" else c for c in pattern], text)


def glob_tokens(tokens: list[str | None], text: str) -> bool:
    """Glob by dynamic programming, O(n·m): a token is one literal character, "" for `*`, None for `?`.

    `row[j]` says whether the tokens read so far match `text[:j]`.
    """
    row = [True] + [False] * len(text)
    for token in tokens:
        if token == "":
            for j in range(1, len(text) + 1):
                row[j] = row[j] or row[j - 1]
        else:
            row = [False] + [row[j] and (token is None or text[j] == token) for j in range(len(text))]
    return row[-1]


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def substitute(text: str, context: dict[str, list[str]]) -> str | None:
    """Replace `${key}` by its single value (as a literal: wildcards escaped); None if unresolved."""
    out = ""
    rest = text
    while "${" in rest:
        before, _, after = rest.partition("${")
        name, closed, rest = after.partition("}")
        if not closed:
            return out + before + "${" + after
        out += before
        if name in ("*", "?", "$"):
            out += "\0" + name
            continue
        key, _, default = name.partition(",")
        values = context.get(key.strip().lower())
        if values is not None and len(values) == 1:
            out += "\0" + "\0".join(values[0])
        elif default.strip().startswith("'"):
            out += "\0" + "\0".join(default.strip()[1:-1])
        else:
            return None
    return out + rest


def glob_with_literals(pattern: str, text: str) -> bool:
    """Wildcard match where characters prefixed by NUL are literal."""
    tokens: list[str | None] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\0":
            tokens.append(pattern[index + 1])
            index += 2
            continue
        tokens.append("" if char == "*" else None if char == "?" else char)
        index += 1
    return glob_tokens(tokens, text)


def plain(pattern: str) -> str:
    return pattern.replace("\0", "")


def positive(operator: str, policy_value: str, value: str) -> bool:
    """The base operator, positive form, on one pair of values."""
    base = operator.replace("Not", "", 1) if operator in NEGATED else operator
    if base in ("StringEquals", "StringEqualsIgnoreCase"):
        if base.endswith("IgnoreCase"):
            return plain(policy_value).lower() == value.lower()
        return plain(policy_value) == value
    if base == "StringLike":
        return glob_with_literals(policy_value, value)
    if base.startswith("Numeric"):
        try:
            a, b = float(value), float(plain(policy_value))
        except ValueError:
            return False
        return {"NumericEquals": a == b, "NumericLessThan": a < b, "NumericGreaterThan": a > b}[base]
    if base == "Bool":
        return plain(policy_value).lower() == value.lower()
    if base == "IpAddress":
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(plain(policy_value), strict=False)
        except (ValueError, TypeError):
            return False
    raise ValueError(operator)


def condition_holds(
    operator: str, key: str, policy_values: list[str], context: dict[str, list[str]], variables: bool
) -> bool:
    """One condition, by AWS's documented rules for set modifiers, IfExists and absent keys."""
    modifier = ""
    if ":" in operator and operator.startswith("For"):
        modifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    values = context.get(key.lower())
    if operator == "Null":
        absent = not values
        return any((v.lower() == "true") == absent for v in policy_values)
    if values is None:
        if if_exists or modifier == "ForAllValues":
            return True
        return operator in NEGATED and modifier != "ForAnyValue"
    rendered = [substitute(v, context) if variables else v.replace("\0", "") for v in policy_values]
    rendered = [r for r in rendered if r is not None]  # a value with an unresolved variable matches nothing
    negated = operator in NEGATED

    def hit(value: str) -> bool:
        return any(positive(operator, p, value) for p in rendered)

    if modifier == "ForAllValues":
        return all(hit(v) != negated for v in values)
    if modifier == "ForAnyValue":
        return any(hit(v) != negated for v in values)
    return any(hit(v) for v in values) != negated


def principal_level(element: Any, principal: dict[str, Any]) -> int:
    """0 not named, 1 its account named, 2 its role named, 3 itself (or everyone)."""
    if element == "*":
        return 3
    best = 0
    # a session whose user or role was deleted is not named by that ARN (another may hold it now)
    current = principal.get("is_current", True)
    for name in listed(element.get("AWS", [])):
        if name == "*" or (name == principal["arn"] and (current or principal["type"] != "user")):
            best = max(best, 3)
        elif name in (principal.get("account"), f"arn:aws:iam::{principal.get('account')}:root"):
            best = max(best, 3 if principal["type"] == "root" else 1)
        elif current and name in (principal.get("role_arn"), principal.get("user_arn")):
            best = max(best, 2)  # the session's role, or the IAM user who called GetFederationToken
    return best


def statement_applies(
    statement: dict[str, Any],
    request: dict[str, Any],
    context: dict[str, list[str]],
    principal: dict[str, Any],
    variables: bool,
) -> int:
    """0 when the statement does not apply, else its principal level (3 when it names none)."""
    action = request["action"]
    if "Action" in statement and not any(wildcard(a, action, False) for a in listed(statement["Action"])):
        return 0
    if "NotAction" in statement and any(wildcard(a, action, False) for a in listed(statement["NotAction"])):
        return 0
    patterns = listed(statement.get("Resource", statement.get("NotResource", "*")))
    hits = any(
        glob_with_literals(p, request["resource"])
        for p in ((substitute(r, context) if variables else r) for r in patterns)
        if p is not None
    )
    if hits == ("NotResource" in statement):
        return 0
    level = 3
    if "Principal" in statement:
        level = principal_level(statement["Principal"], principal)
    elif "NotPrincipal" in statement:
        # spared only when named itself (a session by its session ARN), and never when bounded
        excluded = principal_level(statement["NotPrincipal"], principal)
        level = 0 if excluded == 3 and not principal.get("has_boundary") else 3
    if level == 0:
        return 0
    for operator, tests in statement.get("Condition", {}).items():
        for key, values in tests.items():
            if not condition_holds(operator, key, [str(v) for v in listed(values)], context, variables):
                return 0
    return level
