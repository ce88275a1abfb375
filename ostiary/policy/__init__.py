"""Ostiary's policy engine: parse, compile and evaluate AWS IAM policies. Standard library only.

policy = parse_policy(text, "identity")               # PolicySyntaxError with IAM's message
compiled = compile_policy(policy, "arn:…:policy/p", "identity")
decision = authorize(Request(principal, "s3:GetObject", arn, context), identity=[compiled])
"""

from __future__ import annotations

from ostiary.policy.authorize import authorize, authorize_assume_role, authorize_unnamed
from ostiary.policy.cache import PolicySet, PolicySetCache
from ostiary.policy.case import decision_line, evaluate_case
from ostiary.policy.compile import CompiledPolicy, combine_policies, compile_policy
from ostiary.policy.decision import ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, Decision, MatchedStatement
from ostiary.policy.errors import PolicyError, PolicySyntaxError
from ostiary.policy.findings import Finding, validate_policy
from ostiary.policy.matchers import glob_matches
from ostiary.policy.model import Condition, Policy, Position, Statement
from ostiary.policy.parse import parse_policy
from ostiary.policy.principals import aws_principals, is_unique_id, is_user_or_role_arn, with_aws_principal
from ostiary.policy.request import Principal, Request

__all__ = [
    "ALLOW",
    "EXPLICIT_DENY",
    "IMPLICIT_DENY",
    "CompiledPolicy",
    "Condition",
    "Decision",
    "Finding",
    "MatchedStatement",
    "Policy",
    "PolicyError",
    "PolicySet",
    "PolicySetCache",
    "PolicySyntaxError",
    "Position",
    "Principal",
    "Request",
    "Statement",
    "authorize",
    "authorize_assume_role",
    "authorize_unnamed",
    "aws_principals",
    "combine_policies",
    "compile_policy",
    "decision_line",
    "evaluate_case",
    "glob_matches",
    "is_unique_id",
    "is_user_or_role_arn",
    "parse_policy",
    "validate_policy",
    "with_aws_principal",
]
