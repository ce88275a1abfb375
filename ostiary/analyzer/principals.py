"""Who the checks ask about: one IAM user for identity policies, a finite universe for resource policies.

A resource policy tells principals apart only by what its Principal elements name, so one principal per
class is enough: each named principal, another user and the root of each named account, a stranger
account, each named service and federated provider, and an anonymous caller. Whether a statement's
Principal (or NotPrincipal) element covers one of them is asked of the engine itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ostiary.analyzer import formula as f
from ostiary.analyzer.encode import Space
from ostiary.analyzer.proof import Example
from ostiary.policy import CompiledPolicy, Policy, Principal, Request, authorize, compile_policy, parse_policy

CALLER_ACCOUNT = "444455556666"
_STRANGER_ACCOUNTS = ("999988887777", "999988886666", "999988885555")
_ALLOW_ALL = compile_policy(
    parse_policy('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'),
    "ostiary-allow-all",
    "identity",
)


def caller() -> Principal:
    """The IAM user identity policies are decided for."""
    return Principal(f"arn:aws:iam::{CALLER_ACCOUNT}:user/ostiary-check", "user", account=CALLER_ACCOUNT)


def anonymous() -> Principal:
    """An anonymous caller."""
    return Principal("*", "anonymous")


class Universe:
    """The principals of a check and how the engine decides a request of each."""

    def __init__(self, principals: Sequence[Principal], resource_account: str | None) -> None:
        self.principals = list(principals)
        self.resource_account = resource_account  # None: identity policies

    def compile(self, policy: Policy) -> CompiledPolicy:
        """The policy compiled as the engine runs it."""
        kind = "identity" if self.resource_account is None else "resource"
        return compile_policy(policy, "ostiary-check", kind)

    def request(self, example: Example) -> Request:
        """The engine's request for an example."""
        return Request(self.principals[example.principal], example.action, example.resource, example.context)

    def arguments(self, compiled: CompiledPolicy, principal: Principal | None = None) -> dict[str, Any]:
        """`authorize`'s arguments deciding a request against the policy alone."""
        if self.resource_account is None:
            return {"identity": compiled, "resource_known": False}
        account = self.resource_account
        if principal is not None and principal.account == account:
            account = next(a for a in _STRANGER_ACCOUNTS if a != principal.account)
        identity = _ALLOW_ALL if principal is None or principal.has_identity_policies else ()
        return {"identity": identity, "resource": compiled, "resource_account": account}

    def allows(self, compiled: CompiledPolicy, example: Example) -> bool:
        """Whether the engine allows the example request under the policy."""
        principal = self.principals[example.principal]
        return authorize(self.request(example), **self.arguments(compiled, principal)).is_allowed

    def applies(self, policy: Policy) -> list[list[int]] | None:
        """For each statement, the principals its Principal element covers (None: identity policies)."""
        if self.resource_account is None:
            return None
        found = []
        for statement in policy.statements:
            if statement.principals is None:
                found.append(list(range(len(self.principals))))
                continue
            probe = self.compile(_probe(statement.principals, statement.is_not_principal))
            found.append(
                [
                    i
                    for i, principal in enumerate(self.principals)
                    if authorize(
                        Request(principal, "ostiary:probe", "*"), **self.arguments(probe, principal)
                    ).is_allowed
                ]
            )
        return found

    def own_keys(self, space: Space) -> f.Node:
        """Each principal's own keys (aws:PrincipalArn…) are present in its requests."""
        parts = []
        for i, principal in enumerate(self.principals):
            keys = [space.has_values(k) for k in principal.derived if k in space.keys]
            if keys:
                parts.append(f.implies(f.term(space.principal == i), f.all_of(keys)))
        return f.all_of(parts)


def _probe(pairs: tuple[tuple[str, str], ...], is_not: bool) -> Policy:
    """A policy of one Allow of everything with this Principal element."""
    element: Any
    if pairs == (("*", "*"),):
        element = "*"
    else:
        element = {}
        for kind, name in pairs:
            element.setdefault(kind, []).append(name)
    statement = {
        "Effect": "Allow",
        "Action": "*",
        "Resource": "*",
        "NotPrincipal" if is_not else "Principal": element,
    }
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [statement]}), "resource")


def resource_universe(policies: Sequence[Policy], owner: str) -> Universe:
    """One principal per class the policies' Principal elements can tell apart."""
    found: dict[tuple[str, str], Principal] = {}
    accounts: set[str] = set()

    def add(principal: Principal) -> None:
        found.setdefault((principal.type, principal.arn), principal)

    for policy in policies:
        for statement in policy.statements:
            for kind, name in statement.principals or ():
                if kind == "AWS" and name != "*":
                    _named(name, add, accounts)
                elif kind == "Service" and name != "*":
                    add(Principal(name, "service"))
                elif kind == "Federated" and name != "*":
                    add(Principal(f"arn:aws:sts::{owner}:federated-user/ostiary", "federated",
                                  federation="web-identity", provider=name))  # fmt: skip
    for account in sorted(accounts):
        add(Principal(f"arn:aws:iam::{account}:root", "root", account=account))
        add(Principal(f"arn:aws:iam::{account}:user/ostiary-other", "user", account=account))
    stranger = next(a for a in _STRANGER_ACCOUNTS if a not in accounts)
    add(Principal(f"arn:aws:iam::{stranger}:user/ostiary-stranger", "user", account=stranger))
    add(Principal("ostiary-check.amazonaws.com", "service"))
    add(anonymous())
    return Universe(list(found.values()), owner)


def _named(name: str, add: Any, accounts: set[str]) -> None:
    """The principals an `AWS` entry distinguishes."""
    parts = name.split(":")
    if len(name) == 12 and name.isdigit():
        accounts.add(name)
        return
    if len(parts) == 6 and parts[0] == "arn":
        account = parts[4]
        accounts.add(account)
        if parts[5] == "root":
            return
        kind = "assumed-role" if parts[2] == "sts" and parts[5].startswith("assumed-role/") else "user"
        add(Principal(name, kind, account=account))
        return
    add(
        Principal(
            f"arn:aws:iam::{_STRANGER_ACCOUNTS[-1]}:user/ostiary-id",
            "user",
            account=_STRANGER_ACCOUNTS[-1],
            user_id=name,
        )
    )
