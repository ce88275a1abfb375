"""Ostiary's policy engine: parse, compile and evaluate AWS IAM policies. Standard library only."""

from __future__ import annotations

from ostiary.policy.errors import PolicyError, PolicySyntaxError
from ostiary.policy.findings import Finding, validate_policy
from ostiary.policy.model import Condition, Policy, Position, Statement
from ostiary.policy.parse import parse_policy

__all__ = [
    "Condition",
    "Finding",
    "Policy",
    "PolicyError",
    "PolicySyntaxError",
    "Position",
    "Statement",
    "parse_policy",
    "validate_policy",
]
