"""Findings for `ostiary policy validate`: IAM's refusal, if any, and advice on what it accepts."""

from __future__ import annotations

from dataclasses import dataclass

from ostiary.policy.errors import PolicySyntaxError
from ostiary.policy.model import Policy
from ostiary.policy.parse import parse_policy


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: severity `error` (IAM refuses the document) or `warning`, a message, a JSON path."""

    severity: str
    message: str
    path: str = ""


def validate_policy(document: str, kind: str = "identity") -> list[Finding]:
    """The problems in a document: one error when IAM would refuse it, else warnings."""
    try:
        policy = parse_policy(document, kind)
    except PolicySyntaxError as error:
        return [Finding("error", error.message, error.path)]
    return _warnings(policy)


def _warnings(policy: Policy) -> list[Finding]:
    """Advice on an accepted document."""
    found: list[Finding] = []
    if policy.version != "2012-10-17":
        found.append(
            Finding("warning", "version is not `2012-10-17`: policy variables are not substituted", "Version")
        )
    for statement in policy.statements:
        path = f"Statement[{statement.index}]"
        if statement.effect == "Allow" and statement.is_not_action and statement.resources == ("*",):
            found.append(
                Finding("warning", "allow with NotAction on every resource grants very wide access", path)
            )
        if statement.is_not_principal and statement.effect == "Allow":
            found.append(Finding("warning", "allow with NotPrincipal is not supported by AWS", path))
    return found
