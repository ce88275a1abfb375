"""What a CloudTrail record says a user or role attempted, in policy terms: each (IAM action, resource).

The trail's writer folds these into `store.last_access` as it inserts the events, off the request
path. An IAM or STS call is its own action on the resource its parameters name; a call the gateway
decided is every permission the gateway asks for it (an ExportTableToPointInTime is also S3's
PutObject on the target bucket), worked out again from the recorded parameters without the backend's
facts. An S3 object's ARN keeps its folder only (`arn:aws:s3:::bucket/logs/*`), so that a principal
writing many objects adds one row a day, not one per object.

Only users and roles (a role through any of its sessions) are tracked: the entities IAM's
last-accessed reports and Access Analyzer's policy generation are about.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from ostiary.store.last_access import Access

log = logging.getLogger("ostiary.trail")

# The errors of a refusal: an attempt, not a use (it counts for last-accessed data only).
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
# Services whose calls Ostiary answers itself: their action is the call's own name.
_OWN_SERVICES = frozenset({"iam", "sts", "access-analyzer", "cloudtrail", "signin"})
_SUFFIX = ".amazonaws.com"


def of_records(texts: Iterable[str]) -> list[Access]:
    """The attempts of records stored as JSON text (a record that cannot be read adds none)."""
    found: list[Access] = []
    for text in texts:
        try:
            record = json.loads(text)
        except ValueError:
            continue
        if isinstance(record, dict):
            found.extend(of_record(record))
    return found


def of_record(record: dict[str, Any]) -> Iterator[Access]:
    """The attempts one record holds: none unless a user or role made it and this is its own account's
    copy (an AssumeRole across accounts is recorded in both)."""
    principal = principal_of(record.get("userIdentity"))
    if principal is None:
        return
    account, principal_id, principal_arn = principal
    if record.get("recipientAccountId") != account:
        return
    try:
        at = datetime.fromisoformat(str(record["eventTime"]).removesuffix("Z")).replace(tzinfo=UTC)
        service = str(record["eventSource"]).removesuffix(_SUFFIX)
        name = str(record["eventName"])
    except (KeyError, ValueError):
        return
    region = str(record.get("awsRegion") or "us-east-1")
    is_allowed = record.get("errorCode") not in DENIED_CODES
    try:
        params = json.dumps(record.get("requestParameters"), sort_keys=True)
    except (TypeError, ValueError):
        return
    self_user, key = _user_of(principal_arn), _key_of(record.get("resources"))
    for action, resource in _permissions(service, name, params, account, region, self_user, key):
        yield Access(account, principal_id, principal_arn, action, resource, at, region, is_allowed)


def principal_of(identity: Any) -> tuple[str, str, str] | None:
    """(account, unique id, ARN) of the user, or of the role of a session, that made a call."""
    if not isinstance(identity, dict):
        return None
    kind = identity.get("type")
    if kind == "IAMUser":
        found = (identity.get("accountId"), identity.get("principalId"), identity.get("arn"))
    elif kind == "AssumedRole":
        issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
        if issuer.get("type") != "Role":
            return None
        found = (issuer.get("accountId"), issuer.get("principalId"), issuer.get("arn"))
    else:
        return None
    if not all(isinstance(part, str) and part for part in found):
        return None
    return str(found[0]), str(found[1]), str(found[2])


def permissions(
    service: str,
    name: str,
    params: dict[str, Any],
    account: str,
    region: str,
    self_user: tuple[str, str] | None = None,
    key_arn: str | None = None,
) -> list[tuple[str, str]]:
    """The (action, resource) pairs a call needed; `self_user` (name, path) is the calling user, whose
    own ARN an IAM call on no named user acts on; `key_arn` the KMS key the record names, which an
    alias in its parameters points to."""
    from ostiary import actions  # the catalogue loads when a batch first needs it, not at the writer's start

    if service in _OWN_SERVICES:
        resource = "*"
        if service in ("iam", "sts"):
            resource = actions.arn_of(service, actions.target_of(service, name, params, self_user), account)
        return [(f"{service}:{name}", resource)]
    from ostiary.gateway.operations import Operation  # the catalogue loads only where events are written
    from ostiary.gateway.permissions import Facts, permissions_of

    facts = Facts(account=account, region=region, caller_account=account, resolve_alias=lambda alias: key_arn)
    try:
        found = permissions_of(Operation(service, name, params), facts)
        return list(dict.fromkeys((p.action, p.resource) for p in found))  # one pair per action and resource
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # parameters recorded oddly
        log.debug("trail: %s:%s mapped by its name only (%s)", service, name, exc)
        return [(f"{service}:{name}", "*")]


@functools.lru_cache(maxsize=4096)
def _permissions(
    service: str,
    name: str,
    params: str,
    account: str,
    region: str,
    self_user: tuple[str, str] | None,
    key_arn: str | None,
) -> tuple[tuple[str, str], ...]:
    """`permissions` of recorded parameters (JSON), each resource folded, worked out once for a call
    repeated with the same parameters (a workload repeats its calls)."""
    found = permissions(service, name, _model_names(json.loads(params)), account, region, self_user, key_arn)
    return tuple((action, _folded(resource)) for action, resource in found)


def _user_of(arn: str) -> tuple[str, str] | None:
    """(name, path) of a user's ARN; None for a role's."""
    kind, _, rest = arn.split(":", 5)[-1].partition("/")
    if kind != "user" or not rest:
        return None
    path, _, user = ("/" + rest).rpartition("/")
    return user, path + "/"


def _key_of(resources: Any) -> str | None:
    """The KMS key a record's resources name (the gateway names the key behind an alias), if one."""
    keys = {
        r.get("ARN")
        for r in resources or ()
        if isinstance(r, dict) and r.get("type") == "AWS::KMS::Key" and isinstance(r.get("ARN"), str)
    }
    return str(keys.pop()) if len(keys) == 1 else None


def _model_names(params: Any) -> dict[str, Any]:
    """A record's requestParameters with their model names back (`roleName` → `RoleName`): the top
    level only, which is where the resources are named."""
    if not isinstance(params, dict):
        return {}
    return {str(k)[:1].upper() + str(k)[1:]: v for k, v in params.items()}


def _folded(resource: str) -> str:
    """An S3 object ARN reduced to its folder: `arn:aws:s3:::b/logs/1.txt` → `arn:aws:s3:::b/logs/*`."""
    if not resource.startswith("arn:aws:s3:::") or "/" not in resource:
        return resource
    folder = resource.rsplit("/", 1)[0]
    return f"{folder}/*"
