"""What DynamoDB operations need: table and index ARNs, one permission per table of a batch or a
transaction, PartiQL statements by verb, and the fine-grained keys `dynamodb:LeadingKeys` and
`dynamodb:Attributes` read from keys, items and expressions.

A table's partition key comes from `Facts.key_schema`; when it is unknown, every key attribute's value
(every scalar attribute of an item) is a leading key, which can only make a `ForAllValues` condition
harder to meet, never easier. The keys are read in `dynamodb_keys`; what the backend must not see is
refused in `dynamodb_refusals`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ostiary.gateway import dynamodb_keys, kms
from ostiary.gateway.mapping import PARTITION, Facts, Permission, listed_only, mapped, on_behalf, resources
from ostiary.gateway.operations import Operation

PARTIQL_OPERATIONS = frozenset({"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"})
_PARTIQL = re.compile(
    r"""(?:\bFROM|\bINTO|^\s*UPDATE)\s+(?:"(?P<quoted>[^"]+)"|(?P<bare>[A-Za-z0-9_-](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?))"""
    r"""(?:\."(?P<index>[^"]+)")?""",
    re.IGNORECASE,
)
_PARTIQL_VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE")
_PARTIQL_LITERAL = re.compile(r"'(?:[^']|'')*'")  # a string literal ('' inside is a quote)
# What a restore does on its new table with the caller's permissions ("DynamoDB read and write
# permissions on the target table are necessary for restore functionality").
RESTORE_TARGET_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchWriteItem",
)
# What an import writes to CloudWatch Logs with the caller's permissions (its debugging information).
IMPORT_LOGS_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
    "logs:PutRetentionPolicy",
)
# What the caller must be allowed on the target bucket's objects for DynamoDB to write an export there
# ("Requesting a table export in DynamoDB", "Set up S3 permissions").
EXPORT_S3_ACTIONS = ("s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl")
DYNAMODB_PRINCIPAL = "dynamodb.amazonaws.com"
_S3_SSE = {"KMS": "aws:kms", "AES256": "AES256"}
_INDEX_ACTIONS = frozenset({"dynamodb:Query", "dynamodb:Scan"})
_TRANSACT_WRITE_ACTIONS = {
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
}


def permissions(operation: Operation, facts: Facts) -> list[Permission]:
    """Every (action, resource, keys) a DynamoDB operation needs."""
    name, params = operation.name, operation.params
    if name in ("BatchGetItem", "BatchWriteItem"):
        found = _merged(_batch(name, params, facts))
    elif name in ("TransactGetItems", "TransactWriteItems"):
        found = _merged(_transaction(name, params, facts))
    elif name in PARTIQL_OPERATIONS:
        found = _merged(_partiql(params, facts))
    elif name == "ExportTableToPointInTime":
        return export_permissions(params, facts)
    elif name in ("RestoreTableFromBackup", "RestoreTableToPointInTime"):
        return restore_permissions(name, params, facts)
    elif name == "ImportTable":
        return import_permissions(params, facts)
    elif name == "ListTables":  # AWS names every table of the account in its refusal: `...:table/*`
        found = [Permission("dynamodb:ListTables", table_arn("*", facts))]
    elif isinstance(params.get("TableName"), str):
        found = [_on_table(f"dynamodb:{name}", params, facts)]
        if name == "CreateTable" and params.get("ResourcePolicy"):  # "You need to specify the
            # CreateTable and PutResourcePolicy IAM actions" (CreateTable's ResourcePolicy)
            found.append(Permission("dynamodb:PutResourcePolicy", found[0].resource))
        if name == "UpdateTable":
            found += replica_permissions(params, facts)
    elif _named_arn(params) is not None:
        found = [Permission(f"dynamodb:{name}", str(_named_arn(params)))]
    else:
        found = list(mapped("dynamodb", name, params, facts))
    keys = dynamodb_keys.request_keys(params)
    return [
        Permission(
            p.action, p.resource, listed_only(p.action, {**keys, **p.context}), p.resource_account, p.creates
        )
        for p in found
    ]


# What adding or removing a replica asks in the replica's region ("Using IAM with global tables",
# version 2019.11.21): the source region's dynamodb:UpdateTable is the call's own.
REPLICA_CREATE_ACTIONS = (
    "dynamodb:CreateTable",
    "dynamodb:CreateTableReplica",
    "dynamodb:Scan",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
    "dynamodb:PutItem",
    "dynamodb:GetItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)
REPLICA_DELETE_ACTIONS = ("dynamodb:DeleteTable", "dynamodb:DeleteTableReplica")


def replica_permissions(params: Mapping[str, Any], facts: Facts) -> list[Permission]:
    """UpdateTable's `ReplicaUpdates`: each replica created or deleted asks its actions on the table of
    the same name in the replica's region (a created one is the caller's own)."""
    updates, table = params.get("ReplicaUpdates"), params.get("TableName")
    if not isinstance(updates, list) or not isinstance(table, str):
        return []
    found: list[Permission] = []
    for update in updates:
        for kind, actions in (("Create", REPLICA_CREATE_ACTIONS), ("Delete", REPLICA_DELETE_ACTIONS)):
            region = (update.get(kind) or {}).get("RegionName") if isinstance(update, dict) else None
            if isinstance(region, str) and region:
                arn = table_arn(table_name(table), Facts(account=facts.account, region=region))
                found += [Permission(a, arn, creates=kind == "Create") for a in actions]
    return found


def _named_arn(params: Mapping[str, Any]) -> str | None:
    """The backup, export or import a call names by its ARN (DeleteBackup's `BackupArn` ...): the resource
    its action is asked on, never "*", which a policy denying that ARN would not match."""
    for member in ("BackupArn", "ExportArn", "ImportArn"):
        value = params.get(member)
        if isinstance(value, str) and value.startswith("arn:"):
            return value
    return None


def export_permissions(params: Mapping[str, Any], facts: Facts) -> list[Permission]:
    """ExportTableToPointInTime: the export on the table, then what DynamoDB does with the caller's
    credentials: S3's writes on the objects under `S3Prefix` (`bucket/prefix/AWSDynamoDB/*`), and with
    `S3SseAlgorithm: KMS` the key S3 encrypts them with (kms:GenerateDataKey via S3 in the key's region).

    The bucket's owner (`S3BucketOwner`, else the caller's account, as DynamoDB assumes) is the objects'
    resource account; another account's bucket policy must allow as well (`Permission.resource_account`).
    """
    table = params.get("TableArn")
    found = [Permission("dynamodb:ExportTableToPointInTime", table_arn(table, facts) if table else "*")]
    bucket = params.get("S3Bucket")
    if not isinstance(bucket, str) or not bucket:
        return found
    prefix = params.get("S3Prefix")
    key = f"{prefix}/AWSDynamoDB/*" if isinstance(prefix, str) and prefix else "AWSDynamoDB/*"
    objects = resources("s3:PutObject", {"BucketName": bucket, "ObjectName": key}, facts)[0]
    named = params.get("S3BucketOwner")
    owner = named if isinstance(named, str) and named else facts.caller_account or facts.account
    other = owner if owner != (facts.caller_account or facts.account) else None
    algorithm = _S3_SSE.get(str(params.get("S3SseAlgorithm", "")))
    key_id = params.get("S3SseKmsKeyId") if isinstance(params.get("S3SseKmsKeyId"), str) else None
    s3_keys: dict[str, str | list[str]] = {}
    if algorithm:
        s3_keys["s3:x-amz-server-side-encryption"] = algorithm
    if algorithm == "aws:kms" and key_id:
        s3_keys["s3:x-amz-server-side-encryption-aws-kms-key-id"] = key_id
    s3_keys["s3:ResourceAccount"] = owner
    forwarded = on_behalf((DYNAMODB_PRINCIPAL,))
    for action in EXPORT_S3_ACTIONS:
        context = {**listed_only(action, s3_keys), **forwarded, "aws:ResourceAccount": owner}
        found.append(Permission(action, objects, context, other))
    if algorithm == "aws:kms":
        encryption = {"aws:s3:arn": objects}
        found += kms.for_service(
            ("kms:GenerateDataKey",), key_id, "s3", facts, encryption, (DYNAMODB_PRINCIPAL,)
        )
    return found


def restore_permissions(name: str, params: Mapping[str, Any], facts: Facts) -> list[Permission]:
    """A restore into a new table ("Using IAM with DynamoDB backup and restore"): the restore on its
    source (the backup, and for a backup the new table too, as the reference lists both; the source
    table of a point-in-time restore), then DynamoDB's reads and writes on the new table, which the
    restore makes with the caller's permissions. The new table is the caller's own (`creates`)."""
    action = f"dynamodb:{name}"
    target = params.get("TargetTableName")
    new = table_arn(target, facts) if isinstance(target, str) and target else None
    found: list[Permission] = []
    if name == "RestoreTableFromBackup":
        backup = params.get("BackupArn")
        found.append(
            Permission(action, backup if isinstance(backup, str) and backup.startswith("arn:") else "*")
        )
        if new is not None:
            found.append(Permission(action, new, creates=True))
    else:
        source = params.get("SourceTableArn") or params.get("SourceTableName")
        found.append(
            Permission(action, table_arn(source, facts) if isinstance(source, str) and source else "*")
        )
    if new is not None:
        found += [Permission(a, new, creates=True) for a in RESTORE_TARGET_ACTIONS]
    return found


def import_permissions(params: Mapping[str, Any], facts: Facts) -> list[Permission]:
    """ImportTable ("Requesting a table import in DynamoDB"): the import on the new table (the caller's
    own), S3's reads of the source (`s3:GetObject` on the objects under `S3KeyPrefix`, `s3:ListBucket`
    on the bucket, another account's bucket as `S3BucketOwner` says) and CloudWatch Logs' writes of the
    import's log group, `/aws-dynamodb/*` in the table's region."""
    creation = params.get("TableCreationParameters")
    table = creation.get("TableName") if isinstance(creation, dict) else None
    new = table_arn(table, facts) if isinstance(table, str) and table else "*"
    found = [Permission("dynamodb:ImportTable", new, creates=new != "*")]
    source = params.get("S3BucketSource")
    bucket = source.get("S3Bucket") if isinstance(source, dict) else None
    if isinstance(source, dict) and isinstance(bucket, str) and bucket:
        prefix = source.get("S3KeyPrefix")
        key = f"{prefix}*" if isinstance(prefix, str) and prefix else "*"
        named = source.get("S3BucketOwner")
        caller = facts.caller_account or facts.account
        other = named if isinstance(named, str) and named and named != caller else None
        objects = resources("s3:GetObject", {"BucketName": bucket, "ObjectName": key}, facts)[0]
        listing = resources("s3:ListBucket", {"BucketName": bucket}, facts)[0]
        found.append(Permission("s3:GetObject", objects, {}, other))
        found.append(Permission("s3:ListBucket", listing, {}, other))
        found += _import_decrypt(bucket, prefix if isinstance(prefix, str) else "", facts)
    logs = f"arn:{PARTITION}:logs:{facts.region}:{facts.account}:log-group:/aws-dynamodb/*"
    found += [Permission(action, logs) for action in IMPORT_LOGS_ACTIONS]
    return found


def _import_decrypt(bucket: str, prefix: str, facts: Facts) -> list[Permission]:
    """kms:Decrypt (via S3, called via DynamoDB) on the key of each SSE-KMS source object, as the backend
    tells of the objects under the prefix when the import is asked: S3 decrypts an SSE-KMS object for
    whoever reads it, here DynamoDB with the caller's permissions (as its s3:GetObject)."""
    found: list[Permission] = []
    seen: set[tuple[str | None, str]] = set()
    for key, _, key_id, bucket_key in facts.prefix_encryption(bucket, prefix):
        arn = resources("s3:GetObject", {"BucketName": bucket, "ObjectName": key}, facts)[0]
        context = arn.split("/", 1)[0] if bucket_key else arn
        if (key_id, context) in seen:
            continue
        seen.add((key_id, context))
        found += kms.for_service(
            ("kms:Decrypt",), key_id, "s3", facts, {"aws:s3:arn": context}, (DYNAMODB_PRINCIPAL,)
        )
    return found


def table_arn(table: str, facts: Facts, index: str | None = None) -> str:
    """A table's ARN (a table named by its ARN keeps it), or its index's: `.../table/T/index/I`."""
    base = table if table.startswith("arn:") else _table_arns.get((table, facts.region, facts.account))
    if base is None:
        if len(_table_arns) >= _TABLE_ARNS_KEPT:
            _table_arns.clear()
        base = resources("dynamodb:GetItem", {"TableName": table}, facts)[0]
        _table_arns[(table, facts.region, facts.account)] = base
    return f"{base}/index/{index}" if index else base


_TABLE_ARNS_KEPT = 4096
_table_arns: dict[tuple[str, str, str], str] = {}  # by table name, region and account


def table_name(table: str) -> str:
    return table.split(":table/", 1)[1].split("/", 1)[0] if table.startswith("arn:") else table


def _on_table(action: str, request: Mapping[str, Any], facts: Facts) -> Permission:
    """One item or table request on its table, or on its index (Query and Scan with `IndexName`)."""
    table = str(request["TableName"])
    # Only Query and Scan read an index: another call's `IndexName` is no member of it, which the backend
    # ignores, and must not move the decision onto the index's ARN.
    named = request.get("IndexName") if action in _INDEX_ACTIONS else None
    index = named if isinstance(named, str) and named else None
    context: dict[str, str | list[str]] = {}
    leading = dynamodb_keys.leading_keys(request, lambda: facts.key_schema(table_name(table), index))
    if leading is not None:
        context["dynamodb:LeadingKeys"] = leading
    attributes = dynamodb_keys.attributes(request)
    if attributes:
        context["dynamodb:Attributes"] = attributes
    context.update(dynamodb_keys.implicit_keys(action, request, index))
    return Permission(action, table_arn(table, facts, index), context)


def _batch(name: str, params: Mapping[str, Any], facts: Facts) -> Iterator[Permission]:
    items = params.get("RequestItems")
    for table, request in (items or {}).items() if isinstance(items, dict) else ():
        if name == "BatchGetItem" and isinstance(request, dict):
            keys = request.get("Keys") if isinstance(request.get("Keys"), list) else []
            for key in keys or [{}]:
                yield _on_table("dynamodb:BatchGetItem", {**request, "TableName": table, "Key": key}, facts)
        elif isinstance(request, list):
            for write in request:
                put = (write.get("PutRequest") or {}) if isinstance(write, dict) else {}
                delete = (write.get("DeleteRequest") or {}) if isinstance(write, dict) else {}
                item = {"TableName": table, "Item": put.get("Item"), "Key": delete.get("Key")}
                yield _on_table("dynamodb:BatchWriteItem", item, facts)


def _transaction(name: str, params: Mapping[str, Any], facts: Facts) -> Iterator[Permission]:
    items = params.get("TransactItems")
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        kinds = {"Get": "dynamodb:GetItem"} if name == "TransactGetItems" else _TRANSACT_WRITE_ACTIONS
        for kind, action in kinds.items():
            request = item.get(kind)
            if isinstance(request, dict) and isinstance(request.get("TableName"), str):
                found = _on_table(action, request, facts)
                context = {**found.context, "dynamodb:EnclosingOperation": name}
                yield Permission(found.action, found.resource, context)


def _partiql(params: Mapping[str, Any], facts: Facts) -> Iterator[Permission]:
    """A PartiQL statement is dynamodb:PartiQL<Verb> on the table (or index) it names; one that cannot
    be read needs every PartiQL action on "*" (and is refused before the backend: `unread_statement`)."""
    for statement in statements_of(params):
        found = statement_table(statement)
        if found is None:
            yield from (Permission(f"dynamodb:PartiQL{v.capitalize()}", "*") for v in _PARTIQL_VERBS)
            continue
        verb, table, index = found
        yield Permission(f"dynamodb:PartiQL{verb.capitalize()}", table_arn(table, facts, index))


def statements_of(params: Mapping[str, Any]) -> list[Any]:
    statements = [params.get("Statement")]
    for name in ("Statements", "TransactStatements"):
        listed = params.get(name)
        statements += [s.get("Statement") for s in listed or [] if isinstance(s, dict)]
    return [s for s in statements if s is not None]


def statement_table(statement: Any) -> tuple[str, str, str | None] | None:
    """(verb, table, index or None) of a PartiQL statement that names one table, None when it cannot be
    read so: no verb, no table, or more than one table reference once its string literals are set
    aside (`SELECT 'FROM mine' FROM theirs` names `theirs`, never `mine`)."""
    if not isinstance(statement, str):
        return None
    words = statement.split()
    verb = words[0].upper().split("(")[0] if words else ""
    verb = "SELECT" if verb == "EXISTS" else verb
    if verb not in _PARTIQL_VERBS:
        return None
    bare = _PARTIQL_LITERAL.sub("''", statement)
    found = list(_PARTIQL.finditer(bare))
    if len(found) != 1 or bare[found[0].end() :].lstrip()[:1] in (",", "."):
        return None
    return verb, found[0]["quoted"] or found[0]["bare"], found[0]["index"]


def _merged(found: Iterable[Permission]) -> list[Permission]:
    """One permission per (action, resource), the list keys of its requests joined."""
    out: dict[tuple[str, str], Permission] = {}
    for permission in found:
        key = (permission.action, permission.resource)
        if key not in out:
            out[key] = permission
            continue
        context = dict(out[key].context)
        for name, value in permission.context.items():
            old = context.get(name)
            if isinstance(old, list) and isinstance(value, list):
                context[name] = old + [v for v in value if v not in old]
            else:
                context.setdefault(name, value)
        out[key] = Permission(permission.action, permission.resource, context)
    return list(out.values())
