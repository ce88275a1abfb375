"""KMS key policies as the engine takes them: a key's own policy compiled once per text, and AWS's
default key policy (the one KMS gives a key created without one), which names the account and so lets
its identity policies decide. A key policy that does not parse allows nothing."""

from __future__ import annotations

import functools
import json
from typing import Any

from ostiary.policy import PolicySyntaxError, compile_policy, parse_policy


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
