"""CloudTrail records: one per call, in CloudTrail's record format (eventVersion 1.08).

`api_call` builds the record of an IAM, STS or gateway call from what the request flow knows: who
called (`identity`), the operation and its parameters, the answer or the error, and the request's
facts. `copies` gives the records each account's trail holds: a call on another account's resource
(AssumeRole of a role elsewhere, a gateway call on another account's key) is recorded in both
accounts, each with its own eventID and the same sharedEventID.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ostiary.trail import redaction

EVENT_VERSION = "1.08"

# The operations that change nothing, by the first word of their name.
_READ_PREFIXES = ("Get", "List", "Describe", "Lookup", "Head", "Simulate", "Query", "Scan", "BatchGet")
# DynamoDB's item operations and S3's object operations are data events, not management events.
_DATA_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchGetItem",
        "BatchWriteItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)
_GLOBAL_SERVICES = frozenset({"iam"})  # their events are all in us-east-1
_SOURCES = {"access-analyzer": "access-analyzer.amazonaws.com", "s3": "s3.amazonaws.com"}
# Parameters that name a resource, with the CloudTrail resource type they name.
_RESOURCE_PARAMS = (
    ("UserName", "AWS::IAM::User"),
    ("RoleName", "AWS::IAM::Role"),
    ("RoleArn", "AWS::IAM::Role"),
    ("GroupName", "AWS::IAM::Group"),
    ("PolicyArn", "AWS::IAM::Policy"),
    ("InstanceProfileName", "AWS::IAM::InstanceProfile"),
    ("AccessKeyId", "AWS::IAM::AccessKey"),
    ("SAMLProviderArn", "AWS::IAM::SAMLProvider"),
    ("OpenIDConnectProviderArn", "AWS::IAM::OIDCProvider"),
    ("SerialNumber", "AWS::IAM::MFADevice"),
)
_RESOURCE_MEMBERS = dict(_RESOURCE_PARAMS)
_ARN_TYPES = {
    ("s3", ""): "AWS::S3::Bucket",
    ("dynamodb", "table"): "AWS::DynamoDB::Table",
    ("kms", "key"): "AWS::KMS::Key",
    ("kms", "alias"): "AWS::KMS::Alias",
}


@dataclass(frozen=True)
class Request:
    """What a record says of the request itself."""

    request_id: str
    time: datetime
    source_ip: str
    user_agent: str
    region: str


def api_call(
    identity: dict[str, Any],
    account_id: str,
    service: str,
    operation: str,
    params: dict[str, Any],
    request: Request,
    *,
    result: dict[str, Any] | None = None,
    error: tuple[str, str] | None = None,
    resources: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The record of one call answered for `account_id` (its recipientAccountId).

    `error` is (errorCode, errorMessage) of a refused or failed call; `resources` the ARNs it acted on
    ({"ARN", "accountId", "type"}), else those its parameters name.
    """
    is_data = operation in _DATA_OPERATIONS or (service == "s3" and "Key" in params)
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": identity,
        "eventTime": _time_text(request.time),
        "eventSource": event_source(service),
        "eventName": operation,
        "awsRegion": "us-east-1" if service in _GLOBAL_SERVICES else request.region,
        "sourceIPAddress": request.source_ip,
        "userAgent": request.user_agent,
    }
    if error is not None:
        record["errorCode"], record["errorMessage"] = error
    record["requestParameters"] = redaction.request_parameters(params)
    read_only = operation.startswith(_READ_PREFIXES)
    # CloudTrail keeps the answer of the calls that change something only
    changed = error is None and not read_only
    record["responseElements"] = redaction.response_elements(result) if changed else None
    record["requestID"] = request.request_id
    record["eventID"] = event_id()
    record["readOnly"] = read_only
    named = resources if resources is not None else resources_of(params, result, account_id)
    if named:
        record["resources"] = named
    record["eventType"] = "AwsApiCall"
    record["managementEvent"] = not is_data
    record["recipientAccountId"] = account_id
    record["eventCategory"] = "Data" if is_data else "Management"
    return record


class _EventIds:
    """Unique event ids in AWS's UUID form (version 4), from a generator seeded with 256 random bytes
    once per process (again in a forked worker, which must not repeat its parent's ids): an id costs no
    system call (os.urandom costs tens of µs in some sandboxes)."""

    _VARIANT_MASK = ~(0xF << 76 | 0x3 << 62) & (1 << 128) - 1  # the version nibble and variant bits
    _VERSION_4 = 0x4 << 76 | 0x2 << 62

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self._random = random.Random(os.urandom(256))

    def next(self) -> str:
        h = "%032x" % (self._random.getrandbits(128) & self._VARIANT_MASK | self._VERSION_4)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_event_ids = _EventIds()


def event_id() -> str:
    """A new eventID."""
    return _event_ids.next()


_last_second: tuple[int, str] = (-1, "")  # the last second formatted, and its text (one tuple: threads)


def _time_text(moment: datetime) -> str:
    """An eventTime (`2026-12-04T16:00:00Z`), formatted once a second (strftime costs µs)."""
    global _last_second
    second = int(moment.timestamp())
    last = _last_second
    if last[0] != second:
        last = _last_second = (second, moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return last[1]


def copies(record: dict[str, Any], accounts: set[str]) -> list[dict[str, Any]]:
    """The record as each account's trail holds it: itself alone, or one copy per account (the caller's
    first) with its own eventID, all sharing one sharedEventID."""
    own = record["recipientAccountId"]
    if len(accounts) == 1 and own in accounts:  # the common case: one account's call
        return [record]
    others = sorted(a for a in accounts if a and a != own)
    if not others:
        return [record]
    shared = event_id()
    found = []
    for account in [own, *others]:
        copy = dict(record, eventID=event_id(), recipientAccountId=account, sharedEventID=shared)
        found.append(copy)
    return found


def event_source(service: str) -> str:
    """The eventSource of a service: `iam.amazonaws.com`, `sts.amazonaws.com`, `s3.amazonaws.com`..."""
    return _SOURCES.get(service, f"{service}.amazonaws.com")


def resources_of(
    params: dict[str, Any], result: dict[str, Any] | None, account_id: str
) -> list[dict[str, str]]:
    """The resources of a record: the ARNs a call's parameters name and, for new credentials, their key."""
    found: list[dict[str, str]] = []
    for member in sorted(params.keys() & _RESOURCE_MEMBERS):
        value = params[member]
        owner = _arn_account(value) if isinstance(value, str) else None
        if isinstance(value, str) and owner is not None:
            found.append({"ARN": value, "accountId": owner, "type": _RESOURCE_MEMBERS[member]})
    credentials = (result or {}).get("Credentials")
    if isinstance(credentials, dict) and isinstance(credentials.get("AccessKeyId"), str):
        found.append(
            {"ARN": credentials["AccessKeyId"], "accountId": account_id, "type": "AWS::IAM::AccessKey"}
        )
    return found


def lookup_resources(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The (ResourceType, ResourceName) pairs LookupEvents finds a record by: the names and ARNs its
    parameters give, and its resources' ARNs."""
    found: list[tuple[str, str]] = []
    params = record.get("requestParameters") or {}
    for member, kind in _RESOURCE_PARAMS:
        value = params.get(redaction.camel(member)) if isinstance(params, dict) else None
        if isinstance(value, str) and value and value != redaction.HIDDEN:
            found.append((kind, value))
    for resource in record.get("resources") or ():
        pair = (str(resource.get("type", "")), str(resource.get("ARN", "")))
        if pair not in found:
            found.append(pair)
    return found


def username_of(identity: dict[str, Any]) -> str | None:
    """LookupEvents' Username of a record: the IAM user's name, a session's name, or `root`."""
    kind = identity.get("type")
    if kind == "IAMUser":
        return identity.get("userName")
    if kind == "Root":
        return "root"
    if kind in ("AssumedRole", "FederatedUser"):
        return str(identity.get("arn", "")).rsplit("/", 1)[-1] or None
    return None


def arn_resource(arn: str, caller_account: str) -> dict[str, str]:
    """A gateway resource as a record's `resources` names it, its type read from the ARN."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return {"ARN": arn, "accountId": caller_account}
    service, account, rest = parts[2], parts[4], parts[5]
    if service == "s3":
        kind = "AWS::S3::Object" if "/" in rest else "AWS::S3::Bucket"
    else:
        kind = _ARN_TYPES.get((service, rest.split("/", 1)[0]), f"AWS::{service.upper()}::Resource")
    return {"ARN": arn, "accountId": account or caller_account, "type": kind}


def _arn_account(value: str) -> str | None:
    if not value.startswith("arn:"):
        return None
    parts = value.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[4].isdigit() else None
