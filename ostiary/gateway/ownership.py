"""Which account owns the bucket, table or key a permission names, and what each account may see of a
backend that all accounts share.

The gateway forwards every account's calls to one backend, so a bucket, table or key exists once,
for the account that created it through the gateway (`store/resources.py`); one Ostiary never saw
created belongs to the default account. Here: the resource an ARN names, the ARN rewritten to carry
its owner's account, what an operation creates or deletes, and list answers cut to the caller's own.
Pure apart from the `owner_of` callables the callers pass in.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import unescape

from ostiary.errors import AwsError
from ostiary.frozen import quick_init
from ostiary.gateway.operations import Operation
from ostiary.store.resources import GLOBAL_REGION


class BucketAlreadyExists(AwsError):
    """S3's answer to CreateBucket of a name another account owns (409)."""

    code, status, sender_fault = "BucketAlreadyExists", 409, True


class ResourceInUseException(AwsError):
    """DynamoDB's answer to CreateTable of a name that exists (400)."""

    code, status, sender_fault = "ResourceInUseException", 400, True


class MethodNotAllowed(AwsError):
    """S3's answer to an allowed bucket-policy call by another account than the bucket owner's (405)."""

    code, status, sender_fault = "MethodNotAllowed", 405, True


BUCKET_TAKEN = (
    "The requested bucket name is not available. The bucket namespace is shared by all users of the "
    "system. Please select a different name and try again."
)
METHOD_NOT_ALLOWED = "The specified method is not allowed against this resource."

# Actions that make the resource they name: it is the caller's, never another account's to decide.
CREATING_ACTIONS = frozenset({"s3:CreateBucket", "dynamodb:CreateTable"})
# S3's bucket-policy calls, which only the owner's account may make (AWS: 405 for any other).
BUCKET_POLICY_ACTIONS = frozenset({"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"})

_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):(?P<rest>.*)$"
)
_BUCKET_ELEMENT = re.compile(r"<Bucket>(?:(?!</Bucket>).)*</Bucket>", re.DOTALL)
_NAME_ELEMENT = re.compile(r"<Name>([^<]*)</Name>")


@quick_init
@dataclass(frozen=True)
class Resource:
    """A bucket (region ''), a table (in its region) or a key (by key id, in its region)."""

    service: str
    region: str
    name: str


@quick_init
@dataclass(frozen=True)
class Named:
    """What a permission's ARN names: the resource (None for "*" or a pattern) and the account in the ARN."""

    resource: Resource | None
    account: str


_NAMED_KEPT = 4096
_named: dict[str, Named] = {}  # by ARN, what names no alias (that alone asks `resolve_alias`)


def named_by(arn: str, resolve_alias: Callable[[str, str], str | None]) -> Named:
    """The resource an ARN names: a bucket (or an object in it), a table (or its index or stream), a
    key, or the key an alias points to (`resolve_alias(region, "alias/x")` gives its key ARN)."""
    found = _named.get(arn)
    if found is not None:
        return found
    named = _named_by(arn, resolve_alias)
    if ":alias/" not in arn:  # the rest is the ARN's text alone
        if len(_named) >= _NAMED_KEPT:
            _named.clear()
        _named[arn] = named
    return named


def _named_by(arn: str, resolve_alias: Callable[[str, str], str | None]) -> Named:
    found = _ARN.match(arn)
    if found is None:
        return Named(None, "")
    service, region, account, rest = found["service"], found["region"], found["account"], found["rest"]
    if service == "s3" and not account and not region:
        bucket = rest.split("/", 1)[0]
        return Named(_exact(Resource("s3", GLOBAL_REGION, bucket)), "")
    if service == "dynamodb" and rest.startswith("table/"):
        return Named(_exact(Resource("dynamodb", region, rest[6:].split("/", 1)[0])), account)
    if service == "kms" and rest.startswith("key/"):
        return Named(_exact(Resource("kms", region, rest[4:])), account)
    if service == "kms" and rest.startswith("alias/") and "*" not in rest:
        target = resolve_alias(region, rest)
        key = _ARN.match(target) if target else None
        if key is not None and key["rest"].startswith("key/"):
            return Named(_exact(Resource("kms", region, key["rest"][4:])), account)
    return Named(None, account)


def _exact(resource: Resource) -> Resource | None:
    """The resource, or None when its name is empty or a pattern."""
    name = resource.name
    return resource if name and "*" not in name and "?" not in name else None


def with_account(arn: str, account: str) -> str:
    """The ARN with `account` in its account field (S3 ARNs, which have none, stay as they are)."""
    if arn.startswith("arn:aws:s3:::"):  # a bucket's or an object's: no account field, at any length
        return arn
    found = _ARN.match(arn)
    if found is None or not found["account"]:
        return arn
    return f"arn:{found['partition']}:{found['service']}:{found['region']}:{account}:{found['rest']}"


def table_name(value: Any) -> str | None:
    """A table's name from a `TableName` member (a name or a table ARN)."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("arn:") and ":table/" in value:
        return value.split(":table/", 1)[1].split("/", 1)[0] or None
    return value


def created(operation: Operation, region: str, answer: Any) -> Resource | None:
    """The resource a successful operation created (CreateBucket, CreateTable, CreateKey), or None."""
    if (operation.service, operation.name) == ("kms", "CreateKey") and isinstance(answer, dict):
        metadata = answer.get("KeyMetadata")
        key_id = metadata.get("KeyId") if isinstance(metadata, dict) else None
        return Resource("kms", region, key_id) if isinstance(key_id, str) and key_id else None
    return target(operation, region)


def deleted(operation: Operation, region: str) -> Resource | None:
    """The resource a successful operation deleted (DeleteBucket, DeleteTable), or None.

    A key scheduled for deletion still exists (its owner may cancel the deletion): it stays owned.
    """
    params = operation.params
    if (operation.service, operation.name) == ("s3", "DeleteBucket") and isinstance(
        params.get("Bucket"), str
    ):
        return Resource("s3", GLOBAL_REGION, params["Bucket"])
    if (operation.service, operation.name) == ("dynamodb", "DeleteTable"):
        table = table_name(params.get("TableName"))
        return Resource("dynamodb", region, table) if table else None
    return None


def target(operation: Operation, region: str) -> Resource | None:
    """The bucket or table an operation creates, as the request names it (a key's id is the answer's)."""
    params = operation.params
    if (operation.service, operation.name) == ("s3", "CreateBucket") and isinstance(
        params.get("Bucket"), str
    ):
        return Resource("s3", GLOBAL_REGION, params["Bucket"])
    if operation.service == "dynamodb" and operation.name in _TABLE_MEMBER_OF_CREATION:
        table = table_name(_created_table_member(operation))
        return Resource("dynamodb", region, table) if table else None
    return None


# The member that names the table a DynamoDB operation creates.
_TABLE_MEMBER_OF_CREATION = {
    "CreateTable": "TableName",
    "RestoreTableFromBackup": "TargetTableName",
    "RestoreTableToPointInTime": "TargetTableName",
    "ImportTable": "TableCreationParameters.TableName",
}


def _created_table_member(operation: Operation) -> Any:
    value: Any = operation.params
    for part in _TABLE_MEMBER_OF_CREATION[operation.name].split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


# -- list answers, cut to the caller's own resources -----------------------------------------------

LISTS = frozenset(
    {("s3", "ListBuckets"), ("dynamodb", "ListTables"), ("kms", "ListKeys"), ("kms", "ListAliases")}
)
Visible = Callable[[str, str, list[str]], set[str]]  # (service, region, names) → the caller's own names


def visible_answer(
    operation: Operation,
    region: str,
    body: bytes,
    visible: Visible,
    next_tables: Callable[[str], dict[str, Any]] | None = None,
) -> bytes | None:
    """A list answer without the resources of other accounts; None when nothing was removed (or the
    body cannot be read: then it is not a list this module knows, and nothing is shown of it).

    `next_tables(name)` is the backend's ListTables page after `name` (100 names at most): a page
    that ends on another account's table is continued from the caller's own (`_own_tables`)."""
    kind = (operation.service, operation.name)
    body = _plain(body)
    if kind == ("s3", "ListBuckets"):
        return _bucket_list(body, visible)
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    if kind == ("dynamodb", "ListTables"):
        limit = operation.params.get("Limit")
        return _own_tables(answer, region, visible, next_tables, limit if isinstance(limit, int) else 100)
    if kind == ("kms", "ListKeys"):
        keys = [k for k in answer.get("Keys") or [] if isinstance(k, dict)]
        own = visible("kms", region, [str(k.get("KeyId")) for k in keys])
        return _replaced(answer, "Keys", [k for k in keys if str(k.get("KeyId")) in own])
    if kind == ("kms", "ListAliases"):
        aliases = [a for a in answer.get("Aliases") or [] if isinstance(a, dict)]
        targets = [str(a["TargetKeyId"]) for a in aliases if a.get("TargetKeyId")]
        own = visible("kms", region, targets)
        kept = [a for a in aliases if not a.get("TargetKeyId") or str(a["TargetKeyId"]) in own]
        return _replaced(answer, "Aliases", kept)
    return None


def _own_tables(
    answer: dict[str, Any],
    region: str,
    visible: Visible,
    next_tables: Callable[[str], dict[str, Any]] | None,
    limit: int,
) -> bytes | None:
    """ListTables' page of the caller's own tables. Its `LastEvaluatedTableName` never names another
    account's table: a page that has own tables ends on the last of them (the next page looks at the
    rest again), and a page with none is followed on the backend until one turns up or the list ends."""
    names = _table_names(answer)
    own = [n for n in names if n in visible("dynamodb", region, names)]
    last = answer.get("LastEvaluatedTableName")
    last = last if isinstance(last, str) else None
    if last is None and len(own) == len(names):
        return None
    while last is not None and not own and next_tables is not None:
        page = next_tables(last)
        names = _table_names(page)
        own = [n for n in names if n in visible("dynamodb", region, names)]
        found = page.get("LastEvaluatedTableName")
        last = found if isinstance(found, str) and found != last else None
    if len(own) > limit:
        own, last = own[:limit], own[limit - 1]
    elif last is not None and last not in own:
        last = own[-1] if own else None
    out: dict[str, Any] = {k: v for k, v in answer.items() if k != "LastEvaluatedTableName"}
    out["TableNames"] = own
    if last is not None:
        out["LastEvaluatedTableName"] = last
    return json.dumps(out).encode()


def _table_names(answer: dict[str, Any]) -> list[str]:
    return [n for n in answer.get("TableNames") or [] if isinstance(n, str)]


def _plain(body: bytes) -> bytes:
    """A body as its bytes, gunzipped when the backend gzipped it (a replacement is never compressed)."""
    if body[:2] != b"\x1f\x8b":
        return body
    try:
        return gzip.decompress(body)
    except (OSError, EOFError):
        return body


def headers_for(headers: tuple[tuple[str, str], ...], body: bytes) -> tuple[tuple[str, str], ...]:
    """An answer's headers once its body is replaced: DynamoDB's `x-amz-crc32` (which SDKs check) and
    `content-length` of the new body, which is never compressed (`content-encoding` goes)."""
    out: list[tuple[str, str]] = []
    for name, value in headers:
        if name == "content-encoding":
            continue
        if name == "x-amz-crc32":
            value = str(zlib.crc32(body))
        elif name == "content-length":
            value = str(len(body))
        out.append((name, value))
    return tuple(out)


def _replaced(answer: dict[str, Any], member: str, kept: list[Any]) -> bytes | None:
    if len(kept) == len(answer.get(member) or []):
        return None
    return json.dumps({**answer, member: kept}).encode()


def _bucket_list(body: bytes, visible: Visible) -> bytes | None:
    """ListBuckets' XML without the `<Bucket>` elements of buckets another account owns."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    elements = _BUCKET_ELEMENT.findall(text)
    names = {e: _bucket_name(e) for e in elements}
    own = visible("s3", GLOBAL_REGION, [n for n in names.values() if n is not None])
    hidden = [e for e, n in names.items() if n is None or n not in own]
    if not hidden:
        return None
    drop = set(hidden)
    return _BUCKET_ELEMENT.sub(lambda m: "" if m[0] in drop else m[0], text).encode("utf-8")


def _bucket_name(element: str) -> str | None:
    found = _NAME_ELEMENT.search(element)
    return unescape(found[1]) if found else None
