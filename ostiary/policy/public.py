"""Whether a resource policy is "public" as S3's Block Public Access judges it ("The meaning of
'public'", Amazon S3 User Guide), for BlockPublicPolicy and RestrictPublicBuckets.

A policy is non-public when every Allow statement grants only to fixed values: a fixed principal
(an account, user, role, service principal... with no wildcard and no policy variable), or, for a
statement whose principal is not fixed (`"*"`, a wildcard, a NotPrincipal), a condition fixing one of
the keys S3 lists to fixed values: "A set of Classless Inter-Domain Routings (CIDRs), using
aws:SourceIp", aws:SourceArn, aws:SourceVpc, aws:SourceVpce, aws:SourceOwner, aws:SourceAccount,
s3:x-amz-server-side-encryption-aws-kms-key-id, aws:userid "outside the pattern AROLEID:*",
s3:DataAccessPointArn, s3:DataAccessPointAccount, and the principal's own keys (aws:PrincipalOrgID,
aws:PrincipalAccount, aws:PrincipalArn). "Bucket policies that grant access conditioned on the
aws:SourceIp condition key with very broad IP ranges (for example, 0.0.0.0/1) are evaluated as
'public.' This includes values broader than /8 for IPv4 and /32 for IPv6 (excluding RFC1918 private
ranges)."

A condition fixes a key only when it must hold for the request to match: a positive operator
(`StringEquals`, `StringLike` with a value without wildcards, `ArnEquals`, `IpAddress`...), never
its negation (`StringNotEquals`) nor its `...IfExists` form (an absent key passes). Deny statements
never make a policy public. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress

from ostiary.policy.model import Condition, Policy, Statement

# Keys whose fixed values make a statement non-public (lower case: keys are case-insensitive).
FIXING_KEYS = frozenset(
    {
        "aws:sourceip",
        "aws:sourcearn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceowner",
        "aws:sourceaccount",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "aws:userid",
        "s3:dataaccesspointarn",
        "s3:dataaccesspointaccount",
        "aws:principalorgid",
        "aws:principalaccount",
        "aws:principalarn",
    }
)
# Operators under which a key must hold one of the values (their set prefixes and IfExists aside).
_FIXING_OPERATORS = frozenset(
    {
        "stringequals",
        "stringequalsignorecase",
        "stringlike",
        "arnequals",
        "arnlike",
        "ipaddress",
        "numericequals",
    }
)
_BROADEST_IPV4 = 8  # a shorter prefix is "very broad"
_BROADEST_IPV6 = 32


def is_public(policy: Policy) -> bool:
    """Whether any Allow statement of the policy grants to a principal or condition that is not fixed."""
    return any(statement_is_public(s) for s in policy.statements)


def statement_is_public(statement: Statement) -> bool:
    """Whether one statement makes its policy public (see the module's rules)."""
    if statement.effect != "Allow":
        return False
    if has_fixed_principal(statement):
        return False
    return not any(fixes(condition) for condition in statement.conditions)


def has_fixed_principal(statement: Statement) -> bool:
    """Whether the statement's Principal names only fixed principals (a NotPrincipal never does)."""
    if statement.is_not_principal or not statement.principals:
        return False
    return all(is_fixed(value) and kind != "*" for kind, value in statement.principals)


def fixes(condition: Condition) -> bool:
    """Whether a condition holds a key S3 lists to fixed values, so that it must be one of them."""
    if condition.key.lower() not in FIXING_KEYS or not condition.values:
        return False
    operator = condition.operator.lower()
    qualifier, _, base = operator.rpartition(":")
    if qualifier not in ("", "foranyvalue") or base.endswith("ifexists") or base not in _FIXING_OPERATORS:
        return False
    if not all(is_fixed(value) for value in condition.values):
        return False
    if condition.key.lower() == "aws:sourceip":
        return all(_is_narrow(value) for value in condition.values)
    return True


def is_fixed(value: str) -> bool:
    """A value with no wildcard (`*`, `?`) and no policy variable (`${...}`)."""
    return "*" not in value and "?" not in value and "${" not in value


def _is_narrow(cidr: str) -> bool:
    """Whether an aws:SourceIp value is no broader than /8 (IPv4) or /32 (IPv6), or lies within a private
    (RFC 1918) range."""
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return False
    if isinstance(network, ipaddress.IPv4Network):
        return network.prefixlen >= _BROADEST_IPV4 or any(network.subnet_of(p) for p in _RFC1918)
    return network.prefixlen >= _BROADEST_IPV6


_RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
