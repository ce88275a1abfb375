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
import marshal
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

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
            record = orjson.loads(text)
        except ValueError:  # orjson.JSONDecodeError is one
            continue
        if isinstance(record, dict):
            found.extend(of_record(record))
    return found


def of_record(record: dict[str, Any]) -> Iterator[Access]:
    """The attempts one record holds: none unless a user or role made it and this is its own account's
    copy (an AssumeRole across accounts is recorded in both)."""
    found = _attempt(record, principal_of(record.get("userIdentity")), {})
    if found is None:
        return
    (account, principal_id, principal_arn), at, _, region, is_allowed, pairs = found
    for action, resource in pairs:
        yield Access(account, principal_id, principal_arn, action, resource, at, region, is_allowed)


def folded(records: Iterable[dict[str, Any]]) -> list[Access]:
    """The attempts of many records (a batch the writer inserts) folded as `last_access` keeps them:
    one per principal, UTC day, action and resource, at its latest time (with that time's region),
    allowed if any of them was. Each identity and each time is read once, each distinct call's
    permissions worked out once (a workload repeats its calls)."""
    principals: dict[int, tuple[Any, tuple[str, str, str] | None]] = {}  # by identity: a batch shares a few
    times: dict[str, tuple[datetime, str]] = {}
    latest: dict[tuple[str, str, str, str, str], list[Any]] = {}
    for record in records:
        identity = record.get("userIdentity")
        known = principals.get(id(identity))
        if known is None or known[0] is not identity:  # (kept with it: its id is not reused meanwhile)
            known = principals[id(identity)] = (identity, principal_of(identity))
        principal = known[1]
        found = _attempt(record, principal, times)
        if found is None:
            continue
        (account, principal_id, principal_arn), at, day, region, is_allowed, pairs = found
        for action, resource in pairs:
            key = (account, principal_id, day, action, resource)
            row = latest.get(key)
            if row is None:
                latest[key] = [principal_arn, at, region, is_allowed]
            elif at > row[1]:
                row[:] = [principal_arn, at, region, is_allowed or row[3]]
            elif is_allowed:
                row[3] = True
    return [
        Access(account, principal_id, arn, action, resource, at, region, is_allowed)
        for (account, principal_id, _, action, resource), (arn, at, region, is_allowed) in latest.items()
    ]


_Attempt = tuple[tuple[str, str, str], datetime, str, str, bool, tuple[tuple[str, str], ...]]


def _attempt(
    record: dict[str, Any], principal: tuple[str, str, str] | None, times: dict[str, tuple[datetime, str]]
) -> _Attempt | None:
    """(principal, time, UTC day, region, allowed, (action, resource) pairs) of a record, None when it
    is no attempt of a user or role in its own account; `times` the datetimes and days of the
    eventTimes read already."""
    if principal is None or record.get("recipientAccountId") != principal[0]:
        return None
    account, _, principal_arn = principal
    try:
        text = record["eventTime"]
        when = times.get(text)
        if when is None:
            at = datetime.fromisoformat(str(text).removesuffix("Z")).replace(tzinfo=UTC)
            when = times[text] = (at, at.strftime("%Y-%m-%d"))
        service = str(record["eventSource"]).removesuffix(_SUFFIX)
        name = str(record["eventName"])
    except (KeyError, ValueError, TypeError):
        return None
    region = str(record.get("awsRegion") or "us-east-1")
    is_allowed = record.get("errorCode") not in DENIED_CODES
    try:
        params = marshal.dumps(_by_folder(service, record.get("requestParameters")))
    except ValueError:  # not what a record holds
        return None
    self_user, key = _user_of(principal_arn), _key_of(record.get("resources"))
    pairs = _permissions(service, name, params, account, region, self_user, key)
    if pairs is None:
        return None
    return principal, when[0], when[1], region, is_allowed, pairs


def _by_folder(service: str, params: Any) -> Any:
    """An S3 call's parameters with its object key reduced to the key's folder (`logs/1.txt` →
    `logs/_`): the pairs are the same (an object's ARN is kept by its folder), and the calls on a
    folder's many objects share one `_permissions` of them instead of one each."""
    if service != "s3" or not isinstance(params, dict):
        return params
    key = params.get("key")
    if not isinstance(key, str) or not key:
        return params
    folder, slash, _ = key.rpartition("/")
    return {**params, "key": f"{folder}{slash}_"}


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

    facts = Facts(
        account=account, region=region, caller_account=account, resolve_alias=lambda owner, alias: key_arn
    )
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
    params: bytes,
    account: str,
    region: str,
    self_user: tuple[str, str] | None,
    key_arn: str | None,
) -> tuple[tuple[str, str], ...] | None:
    """`permissions` of recorded parameters (`params`: in marshal's format, a cheap key), each resource
    folded, worked out once for a call repeated with the same parameters; None for parameters JSON
    cannot hold (not a record's)."""
    try:  # the parameters as the stored record gives them back (JSON's types)
        recorded = json.loads(json.dumps(marshal.loads(params)))
    except (TypeError, ValueError):
        return None
    pairs = permissions(service, name, _model_names(recorded), account, region, self_user, key_arn)
    return tuple((action, _folded(resource)) for action, resource in pairs)


@functools.lru_cache(maxsize=1024)
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
