"""AWS-shaped identifiers: unique ids (AIDA, AROA ...), access key ids and secrets."""

from __future__ import annotations

import secrets
import string
import uuid

_BASE32 = string.ascii_uppercase + "234567"
_SECRET_CHARS = string.ascii_letters + string.digits + "+/"


def unique_id(prefix: str) -> str:
    """A unique id as IAM writes it: a 4-letter prefix and 17 base-32 characters (21 in all)."""
    return prefix + "".join(secrets.choice(_BASE32) for _ in range(17))


def access_key_id(prefix: str = "AKIA") -> str:
    """An access key id: AKIA (long-term) or ASIA (temporary), then 16 base-32 characters."""
    return prefix + "".join(secrets.choice(_BASE32) for _ in range(16))


def secret_access_key() -> str:
    """A 40-character secret access key."""
    return "".join(secrets.choice(_SECRET_CHARS) for _ in range(40))


def request_id() -> str:
    """A request id in AWS's UUID form."""
    return str(uuid.uuid4())
