"""Policy documents on write: the engine's grammar, then IAM's size quotas, with AWS's errors.

One grammar serves the whole product: documents are parsed only by `ostiary.policy.parse_policy`;
this module translates its refusals into MalformedPolicyDocument and counts sizes as IAM does
(characters without white space).
"""

from __future__ import annotations

from ostiary.errors import LimitExceededException, MalformedPolicyDocumentException
from ostiary.policy import PolicySyntaxError, parse_policy

IDENTITY = "identity"  # managed policies, inline policies, permissions boundaries
TRUST = "trust"  # a role's assume-role policy
RESOURCE = "resource"

USER_INLINE_MAX = 2048  # all of a user's inline policies together
GROUP_INLINE_MAX = 5120
ROLE_INLINE_MAX = 10240
MANAGED_MAX = 6144
TRUST_MAX = 2048


def policy_size(document: str) -> int:
    """The size IAM counts against its quotas: the characters that are not white space."""
    return sum(1 for c in document if not c.isspace())


def check_document(
    document: str,
    kind: str,
    max_chars: int,
    *,
    managed: bool = False,
    owner: str | None = None,
    used_chars: int = 0,
) -> str:
    """Validate `document` as a policy of `kind` within `max_chars`; return it unchanged.

    `owner` ("user alice", "group admins", "role app") marks an inline policy, whose quota counts
    the entity's other inline policies too (`used_chars`), and picks AWS's inline-policy message.
    `managed` adds the rule of managed policies (Version 2012-10-17).
    Raises LimitExceeded for an oversized document, MalformedPolicyDocument for an invalid one.
    """
    if used_chars + policy_size(document) > max_chars:
        raise LimitExceededException(_size_message(kind, max_chars, owner))
    _parse(document, kind, managed)
    return document


def _size_message(kind: str, max_chars: int, owner: str | None) -> str:
    if owner is not None:
        return f"Maximum policy size of {max_chars} bytes exceeded for {owner}"
    if kind == TRUST:
        return f"Cannot exceed quota for ACLSizePerRole: {max_chars}"
    return f"Cannot exceed quota for PolicySize: {max_chars}"


def _parse(document: str, kind: str, managed: bool) -> None:
    try:
        parse_policy(document, kind, managed=managed)
    except PolicySyntaxError as exc:
        raise MalformedPolicyDocumentException(exc.message) from exc
