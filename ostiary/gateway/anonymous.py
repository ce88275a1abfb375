"""Unsigned requests, decided as anonymous: S3 alone serves them, and only where a bucket policy allows
`"*"` every permission the request needs, decided with what the connection and the clock say. S3's
AccessDenied, word for word, for anything else: another service, a bucket without a policy, the
bucket-policy calls, a public policy RestrictPublicBuckets restricts to its own account. Anonymous
requests are always decided, whatever `--enforce` says.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ostiary import enforce
from ostiary.errors import AccessDenied
from ostiary.gateway import multidelete
from ostiary.gateway.operations import Operation
from ostiary.gateway.ownership import BUCKET_POLICY_ACTIONS
from ostiary.gateway.permissions import Permission, permissions_of
from ostiary.policy import Principal, Request, authorize
from ostiary.protocol import HttpRequest

if TYPE_CHECKING:
    from ostiary.gateway.decide import Authorizer

ANONYMOUS_DENIED = "Access Denied"  # S3's refusal of an anonymous caller, word for word
_ANONYMOUS = Principal(arn="*", type="anonymous")


def decide(
    authorizer: Authorizer, request: HttpRequest, operation: Operation, region: str, now: datetime
) -> tuple[int, ...]:
    """S3's AccessDenied unless a bucket policy allows `"*"` every permission of an unsigned request
    (a DeleteObjects' objects one by one: the positions of the refused ones are returned)."""
    if operation.service != "s3":
        raise AccessDenied(ANONYMOUS_DENIED)
    context = _anonymous_context(request, region, now)
    facts = authorizer.facts(authorizer.settings.account_id, region)
    if multidelete.is_decided_per_object(operation):
        return multidelete.refused(operation, facts, lambda p: _decide_one(authorizer, p, context, region))
    for permission in permissions_of(operation, facts):
        _decide_one(authorizer, permission, context, region)
    return ()


def _decide_one(
    authorizer: Authorizer, permission: Permission, context: dict[str, str | list[str]], region: str
) -> None:
    owned = authorizer.owned(permission, authorizer.settings.account_id, region)
    policy = authorizer.resource_policy(owned, authorizer.settings.account_id, region)
    if policy is None or owned.owner is None or permission.action in BUCKET_POLICY_ACTIONS:
        raise AccessDenied(ANONYMOUS_DENIED)
    if authorizer.restricted(owned, region):
        raise AccessDenied(ANONYMOUS_DENIED)
    keys = {**context, **permission.context, "aws:ResourceAccount": owned.owner}
    asked = Request(_ANONYMOUS, permission.action, owned.permission.resource, keys)
    if not authorize(asked, resource=policy, resource_account=owned.owner).is_allowed:
        raise AccessDenied(ANONYMOUS_DENIED)


def _anonymous_context(request: HttpRequest, region: str, now: datetime) -> dict[str, str | list[str]]:
    """The request context of an unsigned request: what the connection and the clock say."""
    return {
        "aws:PrincipalType": "Anonymous",
        "aws:SourceIp": request.client_ip,
        "aws:SecureTransport": "true" if request.is_secure else "false",
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
        "aws:RequestedRegion": region or enforce.DEFAULT_REGION,
        "aws:ViaAWSService": "false",
    }
