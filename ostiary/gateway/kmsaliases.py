"""KMS aliases per account on a backend every account shares.

AWS gives each account its own alias namespace; the backend has one. So the backend keeps account A's
`alias/x` as `alias/A/x` (A's twelve digits), and the gateway rewrites both ways: the alias members of
a KMS request (an alias name is the caller's, an alias ARN names its account), and the aliases a KMS
answer names (ListAliases, cut to the caller's own; the alias names and ARNs in an error's message).
Every backend alias but AWS's managed `alias/aws/*` carries its owner, so no name the backend sees is
ambiguous, and no name a client sees is another account's or the backend's. `alias/aws/*` are AWS's:
no account may create, point or delete one (NotAuthorizedException, as KMS answers). An S3 upload or a
DynamoDB export naming an alias names the key the caller's alias points to, as the decision resolved it
(`key_for_service`): that service's backend never sees an alias.

A name that is 256 characters already is 269 on the backend: a backend that checks AliasName's length
(AWS does; moto does not) refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from ostiary.errors import AwsError
from ostiary.gateway.operations import Operation
from ostiary.gateway.ownership import NotFoundException

MANAGED = "alias/aws/"
_PREFIX = "alias/"
_ACCOUNT = re.compile(r"\d{12}")
# The members a KMS request names an alias by (an alias name, or an alias ARN where a key may be named).
_MEMBERS = ("AliasName", "KeyId", "SourceKeyId", "DestinationKeyId", "TargetKeyId")
_ALIAS_WRITES = frozenset({"CreateAlias", "UpdateAlias", "DeleteAlias"})
# A backend alias in an answer's text: as an ARN (its account the backend's), or as a name.
_BACKEND_ARN = re.compile(r"(arn:[\w-]+:kms:[\w-]*:)[^:\s\"']*:alias/(\d{12})/")
_BACKEND_NAME = re.compile(r"(?<![\w/:-])alias/(\d{12})/")


class NotAuthorizedException(AwsError):
    """KMS's refusal to create, update or delete an AWS managed alias (`alias/aws/*`) (400)."""

    code, status, sender_fault = "NotAuthorizedException", 400, True


def backend_alias(account: str, alias: str) -> str:
    """The backend's name of `account`'s alias `alias/x`: `alias/ACCOUNT/x` (`alias/aws/*` as it is)."""
    if alias.startswith(MANAGED) or not alias.startswith(_PREFIX):
        return alias
    return f"{_PREFIX}{account}/{alias[len(_PREFIX) :]}"


def named_alias(value: str, account: str) -> tuple[str, str] | None:
    """(owning account, `alias/x`) of a member naming an alias: a name is `account`'s, an ARN names its
    own; None when `value` names no alias (a key id, a key ARN)."""
    if value.startswith(_PREFIX):
        return account, value
    if not value.startswith("arn:"):
        return None
    parts = value.split(":", 5)
    if len(parts) < 6 or parts[2] != "kms" or not parts[5].startswith(_PREFIX):
        return None
    return parts[4], parts[5]


def refuse(operation: Operation, account: str) -> None:
    """Refuse what KMS refuses before the backend sees it: an alias write on `alias/aws/*`, and an alias
    ARN whose account is no account (it names no alias: the backend would look it up in its own)."""
    if operation.service != "kms":
        return
    params = operation.params
    name = params.get("AliasName")
    if operation.name in _ALIAS_WRITES and isinstance(name, str) and name.startswith(MANAGED):
        raise NotAuthorizedException("")
    for member in _MEMBERS:
        value = params.get(member)
        named = named_alias(value, account) if isinstance(value, str) else None
        if named is not None and _ACCOUNT.fullmatch(named[0]) is None:
            raise NotFoundException(f"Alias {value} is not found.")


def backend_body(operation: Operation, account: str, body: bytes) -> bytes | None:
    """A KMS request's JSON body with each alias it names as the backend knows it; None when it names
    none."""
    if operation.service != "kms":
        return None
    params = operation.params
    changed = {}
    for member in _MEMBERS:
        value = params.get(member)
        named = named_alias(value, account) if isinstance(value, str) else None
        if named is not None and backend_alias(*named) != value:
            changed[member] = backend_alias(*named)
    if not changed:
        return None
    request = json.loads(body)  # it parsed already: identify read the operation from it
    request.update(changed)
    return json.dumps(request).encode()


def client_text(text: str) -> str:
    """An answer's text with every backend alias as its owner names it: `alias/A/x` → `alias/x`, and an
    alias ARN of the backend's account → A's."""
    text = _BACKEND_ARN.sub(lambda m: f"{m[1]}{m[2]}:alias/", text)
    return _BACKEND_NAME.sub(_PREFIX, text)


def client_error(body: bytes) -> bytes | None:
    """A KMS error answer with the backend's alias names rewritten (`client_text`); None when it names
    none."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    rewritten = client_text(text)
    return rewritten.encode("utf-8") if rewritten != text else None


Visible = Callable[[list[str]], set[str]]  # key ids → those of the caller's own keys


def listed(body: bytes, account: str, region: str, visible: Visible) -> bytes:
    """ListAliases' answer as `account` sees it: its own aliases (their names and ARNs its own) and AWS's
    managed ones (their target only when it is a key of `account`'s); none when it cannot be read."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    entries = answer.get("Aliases") if isinstance(answer, dict) else None
    if not isinstance(answer, dict) or not isinstance(entries, list):
        return json.dumps({"Aliases": [], "Truncated": False}).encode()
    own_prefix = f"{_PREFIX}{account}/"
    kept: list[dict[str, Any]] = []
    managed: list[dict[str, Any]] = []
    for entry in entries:
        name = entry.get("AliasName") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            continue
        if name.startswith(own_prefix):
            kept.append(_as_own(entry, _PREFIX + name[len(own_prefix) :], account, region))
        elif name.startswith(MANAGED):
            managed.append(_as_own(entry, name, account, region))
            kept.append(managed[-1])
    targets = visible(_targets(managed))
    for entry in managed:
        if entry.get("TargetKeyId") not in targets:
            entry.pop("TargetKeyId", None)
    return json.dumps({**answer, "Aliases": kept}).encode()


def _targets(entries: Iterable[dict[str, Any]]) -> list[str]:
    return [str(e["TargetKeyId"]) for e in entries if isinstance(e.get("TargetKeyId"), str)]


def _as_own(entry: dict[str, Any], name: str, account: str, region: str) -> dict[str, Any]:
    """An entry named `name`, its ARN in `account` (the backend's names its own account)."""
    arn = entry.get("AliasArn")
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    partition, in_region = (parts[1], parts[3]) if len(parts) == 6 else ("aws", region)
    return {**entry, "AliasName": name, "AliasArn": f"arn:{partition}:kms:{in_region}:{account}:{name}"}


def key_for_service(key_id: str, account: str, region: str, resolve: Callable[[str, str], str | None]) -> str:
    """The KMS key id another service (S3, a DynamoDB export) gets for `key_id`: an alias becomes the key
    ARN the owner's alias points to (`resolve(owner, alias)`), as the decision asked it; an alias that
    points nowhere its own ARN, in its owner's account (no backend alias is named so). Any other
    `key_id` as it is."""
    named = named_alias(key_id, account)
    if named is None or named[1].startswith(MANAGED):
        return key_id
    owner, alias = named
    target = resolve(owner, alias)
    if target is None:
        return f"arn:aws:kms:{region}:{owner}:{alias}" if key_id.startswith(_PREFIX) else key_id
    return target if target.startswith("arn:") else f"arn:aws:kms:{region}:{owner}:key/{target}"


S3_KEY_HEADER = "x-amz-server-side-encryption-aws-kms-key-id"
SSE_HEADER = "x-amz-server-side-encryption"
Resolve = Callable[[str, str], str | None]  # (owning account, `alias/x`) → its key's ARN or id, or None


def service_headers(
    headers: list[tuple[str, str]], account: str, region: str, resolve: Resolve
) -> list[tuple[str, str]]:
    """An S3 request's headers with its SSE-KMS key named as `key_for_service` names it."""
    return [
        (k, key_for_service(v, account, region, resolve) if k == S3_KEY_HEADER else v) for k, v in headers
    ]


def service_body(
    operation: Operation, account: str, region: str, body: bytes, resolve: Resolve
) -> bytes | None:
    """A DynamoDB export's JSON body with its `S3SseKmsKeyId` named as `key_for_service` names it; None
    when it names no alias."""
    if (operation.service, operation.name) != ("dynamodb", "ExportTableToPointInTime"):
        return None
    value = operation.params.get("S3SseKmsKeyId")
    if not isinstance(value, str) or named_alias(value, account) is None:
        return None
    request = json.loads(body)  # it parsed already: identify read the operation from it
    request["S3SseKmsKeyId"] = key_for_service(value, account, region, resolve)
    return json.dumps(request).encode()


_MASTER_KEY = re.compile(rb"(<KMSMasterKeyID>)([^<]*)(</KMSMasterKeyID>)")
_BACKEND_KEY = re.compile(r"alias/(\d{12})/(.+)")


def bucket_encryption_body(operation: Operation, account: str, region: str, body: bytes) -> bytes | None:
    """PutBucketEncryption's document with each `KMSMasterKeyID` that names an alias as the backend knows
    it (`alias/A/x`; an alias ARN keeps its form, `arn:...:A:alias/A/x`), so that S3 encrypts with the
    owner's key and GetBucketEncryption answers the alias as it was given (`client_text`); None when it
    names none. An alias name is the caller's, as KMS reads it."""
    if (operation.service, operation.name) != ("s3", "PutBucketEncryption"):
        return None

    def rewritten(found: re.Match[bytes]) -> bytes:
        value = found[2].decode("utf-8", "replace").strip()
        named = named_alias(value, account)
        if named is None or named[1].startswith(MANAGED):
            return found[0]
        backend = backend_alias(*named)
        if value.startswith("arn:"):
            parts = value.split(":", 5)
            backend = ":".join([*parts[:5], backend])
        return found[1] + backend.encode() + found[3]

    changed = _MASTER_KEY.sub(rewritten, body)
    return changed if changed != body else None


def from_backend(key_id: str | None, region: str) -> str | None:
    """A KMS key id the backend tells of (a bucket's default key, an object's key): a backend alias
    (`alias/A/x`, or its ARN) as the alias ARN of its owner A (`arn:aws:kms:REGION:A:alias/x`), which
    the decision resolves in A's aliases; any other id as it is."""
    if key_id is None:
        return None
    named = key_id.split(":", 5)[5] if key_id.startswith("arn:") and key_id.count(":") >= 5 else key_id
    found = _BACKEND_KEY.fullmatch(named)
    parts = key_id.split(":", 5) if key_id.startswith("arn:") else ["arn", "aws", "kms", region, ""]
    # An ARN is a backend alias only in the form `bucket_encryption_body` writes: its account the alias's
    # owner (`key_for_service` names a missing alias `alias/B/x` of A as `arn:...:A:alias/B/x`).
    if found is None or parts[4] not in ("", found[1]):
        return key_id
    return f"arn:{parts[1]}:kms:{parts[3] or region}:{found[1]}:alias/{found[2]}"


def default_key_headers(
    operation: Operation,
    default: tuple[str, str | None] | None,
    account: str,
    region: str,
    resolve: Resolve,
) -> list[tuple[str, str]]:
    """The headers of an upload relying on its bucket's default SSE-KMS key (`default`, as
    `from_backend` names it) when an alias names that key: the key as `key_for_service` names it (the key
    ARN its owner's alias points to), so that the backend encrypts with the key the decision was made on
    and answers its ARN, as S3 does."""
    if operation.params.get("ServerSideEncryption") or default is None or default[1] is None:
        return []
    if default[0] not in ("aws:kms", "aws:kms:dsse") or named_alias(default[1], account) is None:
        return []
    return [(SSE_HEADER, default[0]), (S3_KEY_HEADER, key_for_service(default[1], account, region, resolve))]


_CHECKSUM_HEADERS = ("x-amz-checksum-", "x-amz-sdk-checksum-algorithm")


def digests_of(headers: list[tuple[str, str]], body: bytes) -> list[tuple[str, str]]:
    """The headers of a request whose body was rewritten (`bucket_encryption_body`): its Content-MD5 and
    CRC32 checksum computed anew, any other checksum of the body as the client sent it dropped (S3 would
    refuse it as not matching)."""
    out: list[tuple[str, str]] = []
    for name, value in headers:
        if name == "content-md5":
            value = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324 - S3's digest
        elif name == "x-amz-checksum-crc32":
            value = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        elif name.startswith(_CHECKSUM_HEADERS):
            continue
        out.append((name, value))
    return out
