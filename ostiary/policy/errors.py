"""Errors of the policy language: a document AWS would refuse.

`PolicyError` is the base; `PolicySyntaxError` carries AWS's exact MalformedPolicyDocument text in
`.message`, plus where the problem is (a JSON path such as `Statement[1].Resource`, and a position).
Evaluation never raises these: problems met while evaluating are values in `Decision.errors`.
"""

from __future__ import annotations


class PolicyError(Exception):
    """Base of the policy package's errors."""


class PolicySyntaxError(PolicyError):
    """A document AWS refuses with MalformedPolicyDocument; `.message` is AWS's text."""

    def __init__(self, message: str, path: str = "", position: tuple[int, int] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.position = position

    def __repr__(self) -> str:
        return f"PolicySyntaxError({self.message!r}, path={self.path!r})"
