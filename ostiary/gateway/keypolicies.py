"""KMS key policies as the engine takes them: a key's own policy compiled once per text, and AWS's
default key policy (the one KMS gives a key created without one), which names the account and so lets
its identity policies decide. A key policy that does not parse allows nothing."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from ostiary.errors import AwsError
from ostiary.gateway.operations import Operation
from ostiary.policy import (
    PolicySyntaxError,
    aws_principals,
    compile_policy,
    is_unique_id,
    is_user_or_role_arn,
    parse_policy,
)

MAX_POLICY_BYTES = 32 * 1024  # KMS's limit on a key policy
_ROOT_PREFIX = "arn:aws:iam::"
_MAKES_KEY = frozenset({"CreateKey", "ReplicateKey"})  # calls that give a new key its policy


class MalformedPolicyDocumentException(AwsError):
    """KMS's refusal of a key policy (JSON 1.1 error, 400)."""

    code, status, sender_fault = "MalformedPolicyDocumentException", 400, True


INVALID_PRINCIPALS = "Policy contains a statement with one or more invalid principals."  # KMS's text


def validate(text: str, principal_exists: Callable[[str], bool] | None = None) -> None:
    """Refuse a key policy KMS would refuse for its form: over 32 KB, or not the policy grammar (the
    engine's own parser, as a resource policy: a principal in every statement), or naming an IAM user
    or role (by ARN or unique id) that `principal_exists(name)` says does not exist."""
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise MalformedPolicyDocumentException(
            f"1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have "
            f"length less than or equal to {MAX_POLICY_BYTES}"
        )
    try:
        parse_policy(text, "resource")
    except PolicySyntaxError as exc:
        raise MalformedPolicyDocumentException(exc.message) from None
    if principal_exists is not None:
        named = [n for n in aws_principals(text) if is_user_or_role_arn(n) or is_unique_id(n)]
        if not all(principal_exists(arn) for arn in named):
            raise MalformedPolicyDocumentException(INVALID_PRINCIPALS)


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


def with_default_policy(operation: Operation, account: str, body: bytes) -> bytes | None:
    """The body of a CreateKey or ReplicateKey that names no policy, with AWS's default key policy of
    the caller's `account` (None: the body as it is). The backend would give the key its own default
    policy, which names the backend's account: an Ostiary account of that id would get the key."""
    if operation.service != "kms" or operation.name not in _MAKES_KEY or "Policy" in operation.params:
        return None
    return json.dumps({**operation.params, "Policy": default_key_policy(account)}).encode()


def _is_default_of_another(document: Any, account: str) -> bool:
    """Whether a parsed key policy is AWS's default key policy of an account other than `account`."""
    if not isinstance(document, dict) or document.get("Id") != "key-default-1":
        return False
    statements = document.get("Statement")
    if not isinstance(statements, list) or len(statements) != 1 or not isinstance(statements[0], dict):
        return False
    principal = statements[0].get("Principal")
    root = principal.get("AWS") if isinstance(principal, dict) else None
    if not isinstance(root, str) or not root.startswith(_ROOT_PREFIX) or not root.endswith(":root"):
        return False
    other = root[len(_ROOT_PREFIX) : -len(":root")]
    default = json.loads(default_key_policy(other))
    return other != account and json.dumps(document, sort_keys=True) == json.dumps(default, sort_keys=True)


@functools.lru_cache(maxsize=1024)
def compiled(text: str | None, account: str) -> Any:
    """The compiled key policy `text`, or the default one of `account` (the key's owner) when there is
    none or the text is the default key policy of another account (the backend's own, given to a key
    made before the gateway gave each new key its owner's); None when the text does not parse (then no
    key policy allows, as AWS would not have stored it)."""
    if text:
        try:
            if _is_default_of_another(json.loads(text), account):
                text = None
        except (ValueError, RecursionError):
            pass  # not JSON: refused by the parse below
    try:
        return compile_policy(
            parse_policy(text or default_key_policy(account), "resource"), "KeyPolicy", "resource"
        )
    except PolicySyntaxError:
        return None
