"""Who outside an account a resource policy lets in: the external-access grants of a role's trust policy,
a bucket policy or a key policy, read from the engine's parse of the document. Pure.

grants = external_grants(parse_policy(text, "trust"), "123456789012", "sts")
grants[0].principal, grants[0].actions, grants[0].condition, grants[0].is_public
"""

from __future__ import annotations

from dataclasses import dataclass

from ostiary.policy import Condition, Policy, Statement, glob_matches

PUBLIC = ("AWS", "*")

# Keys whose values name who may call or from where: a wildcard principal limited by them is not public.
_LIMITING_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:SourceIp",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:userid",
        "aws:username",
        "aws:SourceOwner",
        "kms:CallerAccount",
        "s3:DataAccessPointAccount",
        "aws:VpcSourceIp",
    )
)
# Keys that, tested for equality with the owner's account (or its ARNs), keep the statement inside it.
_ACCOUNT_KEYS = frozenset(
    k.lower() for k in ("aws:PrincipalAccount", "aws:SourceAccount", "kms:CallerAccount", "aws:PrincipalArn")
)
_EQUALITY = frozenset(("stringequals", "stringlike", "arnequals", "arnlike"))


@dataclass(frozen=True)
class Grant:
    """Access a policy gives one principal outside the owner's account: the principal as written
    (kind, value), the actions, the conditions it holds under (key, values joined) and whether it is
    anyone's."""

    principal: tuple[str, str]
    actions: tuple[str, ...]
    condition: tuple[tuple[str, str], ...]
    is_public: bool


def external_grants(policy: Policy, owner_account: str, service: str) -> list[Grant]:
    """Every grant of `policy` (a resource or trust policy of a resource of `service` in
    `owner_account`) to a principal outside the account, merged per principal and condition, less
    what an unconditional Deny takes back."""
    denies = [s for s in policy.statements if s.effect == "Deny" and not s.conditions]
    merged: dict[tuple[tuple[str, str], tuple[tuple[str, str], ...]], list[str]] = {}
    for statement in policy.statements:
        if statement.effect != "Allow" or statement.principals is None:
            continue
        actions = _actions(statement, service)
        if not actions or _stays_inside(statement.conditions, owner_account):
            continue
        condition = tuple(sorted((c.key, ",".join(c.values)) for c in statement.conditions))
        for principal in _outside_principals(statement, owner_account):
            kept = [a for a in actions if not _denied(denies, principal, a)]
            if kept:
                listed = merged.setdefault((principal, condition), [])
                listed.extend(a for a in kept if a not in listed)
    return [
        Grant(principal, tuple(sorted(actions)), condition, _is_public(principal, condition))
        for (principal, condition), actions in merged.items()
    ]


def _actions(statement: Statement, service: str) -> list[str]:
    """The statement's actions that apply to a resource of `service` (NotAction: all of the service's)."""
    if statement.is_not_action:
        whole = f"{service}:*"
        return [] if any(glob_matches(p.lower(), whole) for p in statement.actions) else [whole]
    return [a for a in statement.actions if a == "*" or a.split(":", 1)[0].lower() == service]


def _outside_principals(statement: Statement, owner_account: str) -> list[tuple[str, str]]:
    """The statement's principals from outside the account (NotPrincipal: anyone)."""
    if statement.is_not_principal:
        return [PUBLIC]
    found: list[tuple[str, str]] = []
    for kind, value in statement.principals or ():
        principal = _outside(kind, value, owner_account)
        if principal is not None and principal not in found:
            found.append(principal)
    return found


def _outside(kind: str, value: str, owner_account: str) -> tuple[str, str] | None:
    if kind == "*" or (kind == "AWS" and value == "*"):
        return PUBLIC
    if kind == "AWS":
        account = value if value.isdigit() else _arn_account(value)
        return None if account is None or account == owner_account else ("AWS", value)
    if kind in ("Federated", "CanonicalUser"):
        return (kind, value)
    return None  # an AWS service principal acts for the account's own use


def _arn_account(value: str) -> str | None:
    """The account of a principal ARN, or None (a unique id of a deleted principal names no one)."""
    parts = value.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[0] == "arn" else None


def _stays_inside(conditions: tuple[Condition, ...], owner_account: str) -> bool:
    """Whether a condition holds only for callers of the owner's account (equality on its id or ARNs)."""
    for condition in conditions:
        operator = condition.operator.lower()
        if condition.key.lower() not in _ACCOUNT_KEYS or operator not in _EQUALITY or not condition.values:
            continue
        if all(v == owner_account or _arn_account(v) == owner_account for v in condition.values):
            return True
    return False


def _denied(denies: list[Statement], principal: tuple[str, str], action: str) -> bool:
    """Whether an unconditional Deny names this principal and covers this action."""
    for deny in denies:
        if deny.is_not_principal or deny.is_not_action or deny.principals is None:
            continue
        covers = any(k == "*" or v == "*" or (k, v) == principal for k, v in deny.principals)
        if covers and any(glob_matches(p.lower(), action.lower()) for p in deny.actions):
            return True
    return False


def _is_public(principal: tuple[str, str], condition: tuple[tuple[str, str], ...]) -> bool:
    return principal == PUBLIC and not any(key.lower() in _LIMITING_KEYS for key, _ in condition)
