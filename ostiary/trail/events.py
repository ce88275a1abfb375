"""CloudTrail records: one per call, in CloudTrail's record format (eventVersion 1.08).

A call is recorded in two steps. On the request path, `call` takes what the request flow knows (who
called, the operation and its parameters, the answer or the error, the request's facts) and keeps it
as a frame of primitives, its secrets already out (`redaction`): that is what a segment holds. Where
segments are read (the writer process, a replay, the in-process fallback), `records` makes the records
of a frame: the eventTime's text, eventSource, readOnly, eventCategory, resources, and the copies: a
call on another account's resource (AssumeRole of a role elsewhere, a gateway call on another
account's key) is recorded in both accounts, each with its own eventID and the same sharedEventID.
Those ids are derived from the request id, so a frame read twice gives the same records.
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import os
import random
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ostiary.trail import plans, redaction

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
_RESOURCE_CAMEL = {redaction.camel(member): kind for member, kind in _RESOURCE_PARAMS}
_RESOURCE_ORDER = {redaction.camel(member): i for i, (member, _) in enumerate(_RESOURCE_PARAMS)}
_ARN_TYPES = {
    ("s3", ""): "AWS::S3::Bucket",
    ("dynamodb", "table"): "AWS::DynamoDB::Table",
    ("kms", "key"): "AWS::KMS::Key",
    ("kms", "alias"): "AWS::KMS::Alias",
}


# A call frame's layout (`call`): its first item, changed whenever the layout changes.
FRAME_VERSION = "call-1"
_FRAME_LENGTH = 16


def call(
    identity: dict[str, Any] | bytes,
    account_id: str,
    service: str,
    operation: str,
    params: dict[str, Any],
    request_id: str,
    when: float,
    source_ip: str,
    user_agent: str,
    region: str,
    *,
    result: dict[str, Any] | None = None,
    error: tuple[str, str] | None = None,
    resources: list[Resource] | None = None,
    others: Iterable[str] = (),
) -> tuple[Any, ...]:
    """A call answered for `account_id`, as a segment holds it: the request path's share of its records,
    primitives only (`records` makes the records of it where segments are read).

    `identity` is the userIdentity, or that in `marshal`'s format (made once per caller: see
    `identity.marshalled_identity`). Secrets are out of it already: the parameters are redacted, and the
    answer is kept (redacted) only where CloudTrail keeps it, for a call that changed something. `when`
    is the time in seconds since the epoch; `error` is (errorCode, errorMessage) of a refused or failed
    call; `resources` the ARNs it acted on (`arn_resource`), else those its parameters name; `others`
    the other accounts whose trails get a copy.
    """
    kept = error is None and not _read_only(operation)
    asked, answered = plans.of(service, operation)
    credentials = result.get("Credentials") if result else None
    issued = credentials.get("AccessKeyId") if isinstance(credentials, dict) else None
    return (
        FRAME_VERSION,
        identity,
        account_id,
        service,
        operation,
        redaction.request_parameters(params, asked),
        redaction.response_elements(result, answered) if kept else None,
        error,
        request_id,
        when,
        source_ip,
        user_agent,
        region,
        resources,
        issued if isinstance(issued, str) else None,
        tuple(others),
    )


def records(frame: Any, identities: dict[bytes, Any] | None = None) -> list[dict[str, Any]]:
    """The records a segment's frame stands for, in CloudTrail's record format: a call's record in its
    account's trail, and a copy in each other account's (see `copies`); a finished record (a console
    sign-in's) as it is. Nothing for what is neither. The writer process, a replay and the in-process
    fallback all read frames with it; `identities`, the userIdentity of each marshalled one read
    already, lets a batch's records share them (a batch has few callers: read once each)."""
    if isinstance(frame, dict):
        return [frame] if "eventID" in frame else []
    if not (isinstance(frame, tuple) and len(frame) == _FRAME_LENGTH and frame[0] == FRAME_VERSION):
        return []
    (_, identity, account_id, service, operation, params, response, error, request_id, when) = frame[:10]
    source_ip, user_agent, region, resources, issued, others = frame[10:]
    if isinstance(identity, bytes):
        if identities is None:
            identity = marshal.loads(identity)
        else:
            found = identities.get(identity)
            if found is None:
                found = identities[identity] = marshal.loads(identity)
            identity = found
    is_data = operation in _DATA_OPERATIONS or (service == "s3" and "key" in (params or ()))
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": identity,
        "eventTime": _time_text(when),
        "eventSource": event_source(service),
        "eventName": operation,
        "awsRegion": "us-east-1" if service in _GLOBAL_SERVICES else region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
    }
    if error is not None:
        record["errorCode"], record["errorMessage"] = error
    record["requestParameters"] = params
    record["responseElements"] = response
    record["requestID"] = request_id
    record["eventID"] = event_id_of(request_id, account_id)
    record["readOnly"] = _read_only(operation)
    if resources is not None:
        named = [
            {"ARN": arn, "accountId": owner, "type": kind} if kind else {"ARN": arn, "accountId": owner}
            for arn, owner, kind in resources
        ]
    else:
        named = _named_resources(params, issued, account_id)
    if named:
        record["resources"] = named
    record["eventType"] = "AwsApiCall"
    record["managementEvent"] = not is_data
    record["recipientAccountId"] = account_id
    record["eventCategory"] = "Data" if is_data else "Management"
    return copies(record, {account_id, *others}) if others else [record]


@functools.lru_cache(maxsize=1024)
def _read_only(operation: str) -> bool:
    """Whether an operation changes nothing (CloudTrail's readOnly)."""
    return operation.startswith(_READ_PREFIXES)


_VARIANT_MASK = ~(0xF << 76 | 0x3 << 62) & (1 << 128) - 1  # the version nibble and variant bits
_VERSION_4 = 0x4 << 76 | 0x2 << 62


def _uuid4_text(bits: int) -> str:
    """128 bits written as a version-4 UUID (its version and variant bits set)."""
    h = "%032x" % (bits & _VARIANT_MASK | _VERSION_4)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def event_id_of(request_id: str, account_id: str) -> str:
    """The eventID of a call's record in one account's trail, in AWS's UUID form (version 4): derived
    from the request id (itself random) and the account, so that a segment read twice (a replay after
    a crash) gives the same ids and the store skips what it holds. (`_uuid4_text` of the digest,
    written with string operations: the same text at two thirds of the cost.)"""
    h = hashlib.blake2b(f"{request_id}/{account_id}".encode(), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


_VARIANT = {digit: "%x" % (0x8 | int(digit, 16) & 0x3) for digit in "0123456789abcdef"}


class _EventIds:
    """Unique random event ids in AWS's UUID form (version 4), for records made whole where they
    happen (a console sign-in), from a generator seeded with 256 random bytes once per process (again
    in a forked worker, which must not repeat its parent's ids): an id costs no system call (os.urandom
    costs tens of µs in some sandboxes)."""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self._random = random.Random(os.urandom(256))

    def next(self) -> str:
        return _uuid4_text(self._random.getrandbits(128))


_event_ids = _EventIds()


def event_id() -> str:
    """A new random eventID."""
    return _event_ids.next()


_last_second: tuple[int, str] = (-1, "")  # the last second formatted, and its text (one tuple: threads)


def _time_text(when: float) -> str:
    """An eventTime (`2026-12-04T16:00:00Z`) of a time in seconds since the epoch, formatted once a
    second (strftime costs µs)."""
    global _last_second
    second = int(when)
    last = _last_second
    if last[0] != second:
        text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        last = _last_second = (second, text)
    return last[1]


def copies(record: dict[str, Any], accounts: set[str]) -> list[dict[str, Any]]:
    """The record as each account's trail holds it: itself alone, or one copy per account (the caller's
    first) with its own eventID, all sharing one sharedEventID (each derived from the request id)."""
    own = record["recipientAccountId"]
    if len(accounts) == 1 and own in accounts:  # the common case: one account's call
        return [record]
    others = sorted(a for a in accounts if a and a != own)
    if not others:
        return [record]
    request_id = record["requestID"]
    shared = event_id_of(request_id, "shared")
    found = []
    for account in [own, *others]:
        copy = dict(record, eventID=event_id_of(request_id, account), recipientAccountId=account)
        copy["sharedEventID"] = shared
        found.append(copy)
    return found


def event_source(service: str) -> str:
    """The eventSource of a service: `iam.amazonaws.com`, `sts.amazonaws.com`, `s3.amazonaws.com`..."""
    return _SOURCES.get(service, f"{service}.amazonaws.com")


def _named_resources(
    params: dict[str, Any] | None, issued_key: str | None, account_id: str
) -> list[dict[str, str]]:
    """The resources of a call's record: the ARNs its (recorded) parameters name and, for new
    credentials, their key."""
    found: list[dict[str, str]] = []
    for member in sorted(params.keys() & _RESOURCE_CAMEL) if params else ():
        value = params[member]  # type: ignore[index]
        owner = _arn_account(value) if isinstance(value, str) else None
        if isinstance(value, str) and owner is not None:
            found.append({"ARN": value, "accountId": owner, "type": _RESOURCE_CAMEL[member]})
    if issued_key is not None:
        found.append({"ARN": issued_key, "accountId": account_id, "type": "AWS::IAM::AccessKey"})
    return found


def lookup_resources(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The (ResourceType, ResourceName) pairs LookupEvents finds a record by: the names and ARNs its
    parameters give, and its resources' ARNs."""
    found: list[tuple[str, str]] = []
    params = record.get("requestParameters")
    if isinstance(params, dict) and params:
        for member in sorted(params.keys() & _RESOURCE_CAMEL, key=_RESOURCE_ORDER.__getitem__):
            value = params[member]
            if isinstance(value, str) and value and value != redaction.HIDDEN:
                found.append((_RESOURCE_CAMEL[member], value))
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


# A resource a gateway call acts on: its ARN, its account, its CloudTrail type (None: not known).
Resource = tuple[str, str, str | None]


@functools.lru_cache(maxsize=4096)
def arn_resource(arn: str, caller_account: str) -> Resource:
    """A gateway resource as a record's `resources` names it, its type read from the ARN."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return (arn, caller_account, None)
    service, account, rest = parts[2], parts[4], parts[5]
    if service == "s3":
        kind = "AWS::S3::Object" if "/" in rest else "AWS::S3::Bucket"
    else:
        kind = _ARN_TYPES.get((service, rest.split("/", 1)[0]), f"AWS::{service.upper()}::Resource")
    return (arn, account or caller_account, kind)


def _arn_account(value: str) -> str | None:
    if not value.startswith("arn:"):
        return None
    parts = value.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[4].isdigit() else None
