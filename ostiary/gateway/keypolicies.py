"""KMS key policies as the engine takes them: a key's own policy compiled once per text, and AWS's
default key policy (the one KMS gives a key created without one), which names the account and so lets
its identity policies decide. A key policy that does not parse allows nothing."""

from __future__ import annotations

import functools
import json
from typing import Any

from ostiary.errors import AwsError
from ostiary.policy import PolicySyntaxError, compile_policy, parse_policy

MAX_POLICY_BYTES = 32 * 1024  # KMS's limit on a key policy


class MalformedPolicyDocumentException(AwsError):
    """KMS's refusal of a key policy (JSON 1.1 error, 400)."""

    code, status, sender_fault = "MalformedPolicyDocumentException", 400, True


def validate(text: str) -> None:
    """Refuse a key policy KMS would refuse for its form: over 32 KB, or not the policy grammar (the
    engine's own parser, as a resource policy: a principal in every statement)."""
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise MalformedPolicyDocumentException(
            f"1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have "
            f"length less than or equal to {MAX_POLICY_BYTES}"
        )
    try:
        parse_policy(text, "resource")
    except PolicySyntaxError as exc:
        raise MalformedPolicyDocumentException(exc.message) from None


def default_key_policy(account: str) -> str:
    """AWS's default key policy for a key of `account`."""
    statement = {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    return json.dumps({"Version": "2012-10-17", "Id": "key-default-1", "Statement": [statement]})


@functools.lru_cache(maxsize=1024)
def compiled(text: str | None, account: str) -> Any:
    """The compiled key policy `text`, or the default one of `account` when there is none; None when
    the text does not parse (then no key policy allows, as AWS would not have stored it)."""
    try:
        return compile_policy(
            parse_policy(text or default_key_policy(account), "resource"), "KeyPolicy", "resource"
        )
    except PolicySyntaxError:
        return None
