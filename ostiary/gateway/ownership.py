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
from collections.abc import Callable, Iterator
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


class NotFoundException(AwsError):
    """KMS's answer to a key ARN of another region than the request's (400)."""

    code, status, sender_fault = "NotFoundException", 400, True


class ValidationException(AwsError):
    """DynamoDB's answer to a table ARN of another region than the request's (400)."""

    code, status, sender_fault = "ValidationException", 400, True


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


def named_by(arn: str, resolve_alias: Callable[[str, str, str], str | None]) -> Named:
    """The resource an ARN names: a bucket (or an object in it), a table (or its index or stream), a
    key, or the key an alias points to (`resolve_alias(region, account, "alias/x")` gives the key ARN
    of that account's alias)."""
    found = _named.get(arn)
    if found is not None:
        return found
    named = _named_by(arn, resolve_alias)
    if ":alias/" not in arn:  # the rest is the ARN's text alone
        if len(_named) >= _NAMED_KEPT:
            _named.clear()
        _named[arn] = named
    return named


def _named_by(arn: str, resolve_alias: Callable[[str, str, str], str | None]) -> Named:
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
        target = resolve_alias(region, account, rest)
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


# The members a KMS or DynamoDB call names its key or table by (a name, an id or an ARN).
_KEY_MEMBERS = ("KeyId", "SourceKeyId", "DestinationKeyId", "TargetKeyId")
_TABLE_MEMBERS = ("TableName", "TableArn", "SourceTableArn", "ResourceArn")


def refuse_another_region(operation: Operation, region: str) -> None:
    """Refuse, as KMS and DynamoDB do, a key or table named by an ARN of another region than the
    request's: the backend acts on the key id or table name in the request's region (moto takes a key
    ARN's id whatever its region, DynamoDB Local a table ARN's name), while the decision and its owner
    would be the ARN's region's."""
    if operation.service not in ("kms", "dynamodb"):
        return
    for value in _named_arns(operation):
        found = _ARN.match(value) if isinstance(value, str) and value.startswith("arn:") else None
        if found is None or found["region"] == region:
            continue
        if operation.service == "kms":
            raise NotFoundException(f"Invalid arn {found['region']}")
        raise ValidationException(f"1 validation error detected: Invalid AWS region in '{value}'")


def _named_arns(operation: Operation) -> Iterator[Any]:
    params = operation.params
    for member in _KEY_MEMBERS if operation.service == "kms" else _TABLE_MEMBERS:
        yield params.get(member)
    if operation.service != "dynamodb":
        return
    items = params.get("RequestItems")
    if isinstance(items, dict):
        yield from items
    transaction = params.get("TransactItems")
    for item in transaction if isinstance(transaction, list) else ():
        for request in item.values() if isinstance(item, dict) else ():
            yield request.get("TableName") if isinstance(request, dict) else None


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


def outlived(resource: Resource) -> bool:
    """Whether a deleted resource's name stays its owner's: a table's does, because the backend keeps
    its backups and exports, which ARNs name by the table (`table/NAME/backup/...`) and which stay the
    deleting account's (forgotten, they would be the default account's, and any account's that made the
    name again). The owner may make the table again; another account cannot. A bucket's name is free
    again, as in S3."""
    return resource.service == "dynamodb"


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
    {
        ("s3", "ListBuckets"),
        ("dynamodb", "ListTables"),
        ("dynamodb", "ListGlobalTables"),
        ("dynamodb", "ListBackups"),
        ("dynamodb", "ListExports"),
        ("dynamodb", "ListImports"),
        ("kms", "ListKeys"),
        ("kms", "ListAliases"),
        ("kms", "ListRetirableGrants"),
    }
)
Visible = Callable[[str, str, list[str]], set[str]]  # (service, region, names) → the caller's own names
# (operation, its parameters) → the backend's answer: a page of ListTables or ListGlobalTables
NextPage = Callable[[str, dict[str, Any]], dict[str, Any]]
Owners = Callable[[Any], list[Resource]]  # an entry of a list → what it belongs to ([]: unreadable)
InRegion = Callable[[str, Any], list[Resource]]  # (the request's region, an entry) → what it belongs to


def visible_answer(
    operation: Operation,
    region: str,
    body: bytes,
    visible: Visible,
    next_page: NextPage | None = None,
    account: str | None = None,
) -> bytes | None:
    """A list answer without the resources of other accounts; None when nothing was removed (or the
    body cannot be read: then it is not a list this module knows, and nothing is shown of it).

    `next_page(operation, params)` is the backend's page of ListTables or ListGlobalTables: a page
    that ends on another account's table is continued from the caller's own (`_own_page`). The
    caller's `account` also sees a grant on another account's key whose retiring principal is of its
    account, as AWS shows it (ListRetirableGrants: "This can include grants on KMS keys owned by other
    AWS accounts")."""
    kind = (operation.service, operation.name)
    body = plain(body)
    if kind == ("s3", "ListBuckets"):
        return _bucket_list(body, visible)
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    paged = _PAGED.get(kind)
    if paged is not None:
        limit = operation.params.get("Limit")
        limit = limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else 100
        return _own_page(paged, operation.params, answer, region, visible, next_page, limit)
    found = _ENTRIES.get(kind)
    if found is None:
        return None
    member, owners_in = found
    entries = answer.get(member)
    entries = entries if isinstance(entries, list) else []
    kept = _owned(entries, lambda entry: owners_in(region, entry), visible)
    if kind == ("kms", "ListRetirableGrants") and account:
        kept_ids = {id(e) for e in kept}
        kept = [e for e in entries if id(e) in kept_ids or _retired_by(e, account)]
    return _replaced(answer, member, kept)


def _retired_by(entry: Any, account: str) -> bool:
    """Whether a grant's retiring principal is of `account` (an ARN with it, or the account's id)."""
    principal = entry.get("RetiringPrincipal") if isinstance(entry, dict) else None
    if not isinstance(principal, str):
        return False
    found = _ARN.match(principal)
    return (found["account"] if found is not None else principal) == account


def _owned(entries: list[Any], owners: Owners, visible: Visible) -> list[Any]:
    """The entries all of whose resources are the caller's (one look at the store per region)."""
    of = [owners(entry) for entry in entries]
    asked: dict[tuple[str, str], set[str]] = {}
    for resources in of:
        for r in resources:
            asked.setdefault((r.service, r.region), set()).add(r.name)
    own = {(s, g): visible(s, g, sorted(names)) for (s, g), names in asked.items()}
    return [
        entry
        for entry, resources in zip(entries, of, strict=True)
        if resources and all(r.name in own[(r.service, r.region)] for r in resources)
    ]


def _table_of_arn(region: str, arn: Any) -> list[Resource]:
    """The table an ARN names (a table's, or its backup's, export's or import's), in the ARN's region.
    The name follows the last `:table/` (a name has no colon): moto writes an export's ARN as
    `arn:...:table/<the table's ARN>/import/<id>`."""
    found = _ARN.match(arn) if isinstance(arn, str) and ":table/" in arn else None
    if found is None:
        return []
    name = arn.rsplit(":table/", 1)[1].split("/", 1)[0]
    return [Resource("dynamodb", found["region"] or region, name)] if name else []


def _backup_table(region: str, entry: Any) -> list[Resource]:
    """ListBackups' entry: its `TableName`, in its `TableArn`'s region."""
    if not isinstance(entry, dict) or not isinstance(entry.get("TableName"), str):
        return []
    at = _table_of_arn(region, entry.get("TableArn"))
    return [Resource("dynamodb", at[0].region if at else region, entry["TableName"])]


def _key_of(region: str, entry: Any) -> list[Resource]:
    """ListKeys' or ListRetirableGrants' entry: its `KeyId`, a key ARN (in its region) or a key id."""
    key = entry.get("KeyId") if isinstance(entry, dict) else None
    if not isinstance(key, str) or not key:
        return []
    found = _ARN.match(key)
    if found is None:
        return [Resource("kms", region, key)]
    rest = found["rest"]
    return [Resource("kms", found["region"] or region, rest[4:])] if rest.startswith("key/") else []


def _member(name: str, owners: InRegion) -> InRegion:
    """An entry's owners read from its member `name`."""
    return lambda region, entry: owners(region, entry.get(name) if isinstance(entry, dict) else None)


# The lists cut entry by entry: (service, operation) → the answer's member listing them, what each
# belongs to. Their tokens are sealed (`listtokens.SEALED`).
_ENTRIES: dict[tuple[str, str], tuple[str, InRegion]] = {
    ("kms", "ListKeys"): ("Keys", _key_of),
    ("kms", "ListRetirableGrants"): ("Grants", _key_of),
    ("dynamodb", "ListBackups"): ("BackupSummaries", _backup_table),
    ("dynamodb", "ListExports"): ("ExportSummaries", _member("ExportArn", _table_of_arn)),
    ("dynamodb", "ListImports"): ("ImportSummaryList", _member("TableArn", _table_of_arn)),
}


@dataclass(frozen=True)
class _Paged:
    """A list whose page ends on a name the caller may be told: its members, and the request's filters
    a continued page keeps."""

    operation: str
    entries: str
    last: str
    start: str
    owners: InRegion
    name: Callable[[Any], str | None]
    filters: tuple[str, ...] = ()


def _table_named(region: str, entry: Any) -> list[Resource]:
    return [Resource("dynamodb", region, entry)] if isinstance(entry, str) and entry else []


def _global_table(region: str, entry: Any) -> list[Resource]:
    """ListGlobalTables' entry: its table in each region of its replication group (the caller's region
    when it names none). A global table is the caller's when every one of them is."""
    name = _global_table_name(entry)
    if name is None:
        return []
    group = entry.get("ReplicationGroup")
    regions = {
        r["RegionName"] for r in group or [] if isinstance(r, dict) and isinstance(r.get("RegionName"), str)
    }
    return [Resource("dynamodb", r, name) for r in sorted(regions or {region})]


def _global_table_name(entry: Any) -> str | None:
    name = entry.get("GlobalTableName") if isinstance(entry, dict) else None
    return name if isinstance(name, str) and name else None


_PAGED = {
    ("dynamodb", "ListTables"): _Paged(
        "ListTables",
        "TableNames",
        "LastEvaluatedTableName",
        "ExclusiveStartTableName",
        _table_named,
        lambda entry: entry if isinstance(entry, str) else None,
    ),
    ("dynamodb", "ListGlobalTables"): _Paged(
        "ListGlobalTables",
        "GlobalTables",
        "LastEvaluatedGlobalTableName",
        "ExclusiveStartGlobalTableName",
        _global_table,
        _global_table_name,
        ("RegionName",),
    ),
}


def _own_page(
    paged: _Paged,
    params: dict[str, Any],
    answer: dict[str, Any],
    region: str,
    visible: Visible,
    next_page: NextPage | None,
    limit: int,
) -> bytes | None:
    """ListTables' or ListGlobalTables' page of the caller's own. Its last-evaluated name never names
    another account's table: a page that has own entries ends on the last of them (the next page looks
    at the rest again), and a page with none is followed on the backend until one turns up or the list
    ends."""

    def own_of(page: dict[str, Any]) -> list[Any]:
        entries = page.get(paged.entries)
        named = [e for e in entries if paged.name(e)] if isinstance(entries, list) else []
        return _owned(named, lambda entry: paged.owners(region, entry), visible)

    every = answer.get(paged.entries)
    own = own_of(answer)
    last = answer.get(paged.last)
    last = last if isinstance(last, str) else None
    if last is None and isinstance(every, list) and len(own) == len(every):
        return None
    while last is not None and not own and next_page is not None:
        more = {k: params[k] for k in paged.filters if k in params}
        page = next_page(paged.operation, {**more, paged.start: last, "Limit": 100})
        own = own_of(page)
        found = page.get(paged.last)
        last = found if isinstance(found, str) and found != last else None
    names = [paged.name(e) for e in own]
    if len(own) > limit:
        own, last = own[:limit], names[limit - 1]
    elif last is not None and last not in names:
        last = names[-1] if names else None
    out: dict[str, Any] = {k: v for k, v in answer.items() if k != paged.last}
    out[paged.entries] = own
    if last is not None:
        out[paged.last] = last
    return json.dumps(out).encode()


def plain(body: bytes) -> bytes:
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
