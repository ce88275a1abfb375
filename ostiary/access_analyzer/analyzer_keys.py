"""Which analyzer a request names (by name, or by ARN in the caller's account and region), the checks
on its name, and the page tokens of Access Analyzer's listings."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from ostiary import services
from ostiary.access_analyzer.errors import ResourceNotFoundException, ValidationException, field_errors
from ostiary.store import analyzers as store

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_ARN = re.compile(r"[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:analyzer/.{1,255}\Z", re.DOTALL)
_ARN_PATTERN = "[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:analyzer/.{1,255}"


def region_of(ctx: services.Context) -> str:
    """The region the request was signed for (the server's own when none)."""
    return ctx.region or ctx.settings.region


def analyzer_arn(ctx: services.Context, name: str) -> str:
    """The ARN of the caller's analyzer `name` in the request's region."""
    return f"arn:aws:access-analyzer:{region_of(ctx)}:{ctx.account_id}:analyzer/{name}"


def check_name(value: Any, member: str = "analyzerName") -> str:
    """An analyzer name as the model constrains it, refused as AWS's validator words it."""
    if not isinstance(value, str):
        raise field_errors([{"name": member, "message": "Member must not be null"}])
    errors = []
    if not 1 <= len(value) <= 255:
        errors.append(
            {"name": member, "value": value[:300], "message": "Member must have length between 1 and 255"}
        )
    if not _NAME.match(value):
        errors.append(
            {
                "name": member,
                "value": value[:300],
                "message": "Member must satisfy regular expression pattern: [A-Za-z_][A-Za-z0-9_.-]*",
            }
        )
    if errors:
        raise field_errors(errors)
    return value


def key_of_name(ctx: services.Context, name: Any) -> store.Key:
    """The caller's analyzer named `name` (checked) in the request's region."""
    return (ctx.account_id, region_of(ctx), check_name(name))


def key_of_arn(ctx: services.Context, arn: Any, member: str = "analyzerArn") -> store.Key:
    """The caller's analyzer an ARN names (in the region signed for); any other account's or region's
    is not found, exactly as a missing one."""
    if not isinstance(arn, str):
        raise field_errors([{"name": member, "message": "Member must not be null"}])
    if not _ARN.match(arn):
        raise field_errors(
            [
                {
                    "name": member,
                    "value": arn[:300],
                    "message": f"Member must satisfy regular expression pattern: {_ARN_PATTERN}",
                }
            ]
        )
    parts = arn.split(":", 5)
    name = parts[5].split("/", 1)[1]
    if parts[:5] != ["arn", "aws", "access-analyzer", region_of(ctx), ctx.account_id] or not _NAME.match(
        name
    ):
        raise not_found(arn)
    return (ctx.account_id, region_of(ctx), name)


def not_found(resource_id: str) -> ResourceNotFoundException:
    """The refusal of an analyzer that does not exist (or is not the caller's)."""
    return ResourceNotFoundException("Analyzer not found", resource_id, "Analyzer")


def existing(conn: Any, key: store.Key, *, lock: bool = False) -> Any:
    """The analyzer's row (locked for the transaction with `lock`), or ResourceNotFoundException."""
    row = store.find(conn, key, lock=lock)
    if row is None:
        raise not_found(key[2])
    return row


def page_size(value: Any, default: int) -> int:
    """maxResults: a positive integer (its default when absent)."""
    if value is None:
        return default
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise field_errors(
            [{"name": "maxResults", "value": str(value)[:300], "message": "Member must be an integer"}]
        ) from None
    if size < 1:
        raise field_errors(
            [
                {
                    "name": "maxResults",
                    "value": str(size),
                    "message": "Member must have value greater than or equal to 1",
                }
            ]
        )
    return min(size, default)


def make_token(purpose: str, value: str) -> str:
    """A page token of a listing (`purpose`) continuing after `value`."""
    return base64.urlsafe_b64encode(json.dumps([purpose, value]).encode()).decode()


def read_token(token: Any, purpose: str) -> str | None:
    """Where a page starts, from a token issued for the same listing (else ValidationException)."""
    if token is None:
        return None
    try:
        kind, value = json.loads(base64.urlsafe_b64decode(str(token)[:4096].encode()))
    except (ValueError, TypeError, RecursionError):  # RecursionError: a forged token of nested arrays
        raise ValidationException("Invalid next token", "other") from None
    if kind != purpose or not isinstance(value, str):
        raise ValidationException("Invalid next token", "other")
    return value


def client_token(value: Any) -> str | None:
    """A clientToken (a retry of a create carries its first call's): at most 64 characters."""
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise field_errors([{"name": "clientToken", "message": "Member must have length between 1 and 64"}])
    return value
