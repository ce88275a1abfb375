"""What DynamoDB operations need: table and index ARNs, one permission per table of a batch or a
transaction, PartiQL statements by verb, and the fine-grained keys `dynamodb:LeadingKeys` and
`dynamodb:Attributes` read from keys, items and expressions.

A table's partition key comes from `Facts.key_schema`; when it is unknown, every key attribute's value
(every scalar attribute of an item) is a leading key, which can only make a `ForAllValues` condition
harder to meet, never easier.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ostiary.gateway import kms, ownership
from ostiary.gateway.mapping import PARTITION, Facts, Permission, listed_only, mapped, on_behalf, resources
from ostiary.gateway.operations import Operation
from ostiary.gateway.ownership import ValidationException

_SCALAR_TYPES = ("S", "N", "B")
_PARTIQL_OPERATIONS = frozenset({"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"})
_PARTIQL = re.compile(
    r"""(?:\bFROM|\bINTO|^\s*UPDATE)\s+(?:"(?P<quoted>[^"]+)"|(?P<bare>[A-Za-z0-9_-](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?))"""
    r"""(?:\."(?P<index>[^"]+)")?""",
    re.IGNORECASE,
)
_PARTIQL_VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE")
_PARTIQL_LITERAL = re.compile(r"'(?:[^']|'')*'")  # a string literal ('' inside is a quote)
# What DynamoDB answers a statement it cannot parse; after the colon, our words.
UNREAD_STATEMENT = "Statement wasn't well formed, can't be processed: "
# `name = :value`, where a name or placeholder is whatever the backend takes for one (`#p-x`, `:ä`).
_KEY_EQUALS = re.compile(r"([^\s=()<>,]+)\s*=\s*(:[^\s=()<>,]+)")
_UPDATE_CLAUSE = re.compile(r"\b(SET|REMOVE|ADD|DELETE)\b", re.IGNORECASE)
_REQUEST_KEYS = {
    "dynamodb:Select": "Select",
    "dynamodb:ReturnValues": "ReturnValues",
    "dynamodb:ReturnConsumedCapacity": "ReturnConsumedCapacity",
}
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
_READ_ACTIONS = frozenset({"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem"})
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
    elif name in _PARTIQL_OPERATIONS:
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
    keys = request_keys(params)
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
                arn = table_arn(_table_name(table), Facts(account=facts.account, region=region))
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


def _table_name(table: str) -> str:
    return table.split(":table/", 1)[1].split("/", 1)[0] if table.startswith("arn:") else table


def _on_table(action: str, request: Mapping[str, Any], facts: Facts) -> Permission:
    """One item or table request on its table, or on its index (Query and Scan with `IndexName`)."""
    table = str(request["TableName"])
    # Only Query and Scan read an index: another call's `IndexName` is no member of it, which the backend
    # ignores, and must not move the decision onto the index's ARN.
    named = request.get("IndexName") if action in _INDEX_ACTIONS else None
    index = named if isinstance(named, str) and named else None
    context: dict[str, str | list[str]] = {}
    leading = _leading_keys(request, lambda: facts.key_schema(_table_name(table), index))
    if leading is not None:
        context["dynamodb:LeadingKeys"] = leading
    attributes = _attributes(request)
    if attributes:
        context["dynamodb:Attributes"] = attributes
    context.update(_implicit_keys(action, request, index))
    return Permission(action, table_arn(table, facts, index), context)


def _implicit_keys(action: str, request: Mapping[str, Any], index: str | None) -> dict[str, str | list[str]]:
    """What a request without `Select` or `ReturnValues` still asks for. A read without `Select` asks
    SPECIFIC_ATTRIBUTES with a projection, else every attribute: ALL_ATTRIBUTES of a table,
    ALL_PROJECTED_ATTRIBUTES of an index (the API reference's default of `Select`), so that
    `StringEqualsIfExists` on `dynamodb:Select` cannot be passed by leaving the projection out. A write
    whose `ReturnValuesOnConditionCheckFailure` is ALL_OLD answers a failed condition with the whole
    item: Ostiary asks it as `dynamodb:ReturnValues` ALL_OLD (unless `ReturnValues` asks more)."""
    out: dict[str, str | list[str]] = {}
    if action in _READ_ACTIONS and not isinstance(request.get("Select"), str):
        expression, listed = request.get("ProjectionExpression"), request.get("AttributesToGet")
        projected = (isinstance(expression, str) and expression.strip()) or (
            isinstance(listed, list) and listed
        )
        whole = "ALL_PROJECTED_ATTRIBUTES" if index else "ALL_ATTRIBUTES"
        out["dynamodb:Select"] = "SPECIFIC_ATTRIBUTES" if projected else whole
    on_failure = request.get("ReturnValuesOnConditionCheckFailure")
    if on_failure == "ALL_OLD" and request.get("ReturnValues") in (None, "NONE"):
        out["dynamodb:ReturnValues"] = "ALL_OLD"
    return out


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
    for statement in _statements(params):
        found = statement_table(statement)
        if found is None:
            yield from (Permission(f"dynamodb:PartiQL{v.capitalize()}", "*") for v in _PARTIQL_VERBS)
            continue
        verb, table, index = found
        yield Permission(f"dynamodb:PartiQL{verb.capitalize()}", table_arn(table, facts, index))


def _statements(params: Mapping[str, Any]) -> list[Any]:
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


def refuse_unread_statements(operation: Operation, region: str) -> None:
    """DynamoDB's ValidationException for a PartiQL call with a statement whose one table cannot be
    read (`statement_table`), the backend's parser might find a table the decision did not; or whose
    table is an ARN of another region than the request's (`ownership.refuse_another_region`)."""
    if operation.service != "dynamodb" or operation.name not in _PARTIQL_OPERATIONS:
        return
    for statement in _statements(operation.params):
        found = statement_table(statement)
        if found is None:
            raise ValidationException(f"{UNREAD_STATEMENT}the gateway cannot tell which one table it names")
        ownership.refuse_another_region(Operation("dynamodb", "", {"TableName": found[1]}), region)


def refuse_unread_values(operation: Operation) -> None:
    """DynamoDB's ValidationException for an AttributeValue of a key, an item, a key condition or an
    expression's values that has not exactly one type: the gateway reads none of `{"S": "a", "NULL":
    true}`'s values as a leading key, the backend may read the first (moto does), and a
    `ForAllValues` allow or `ForAnyValue` deny on `dynamodb:LeadingKeys` would not see it."""
    if operation.service == "dynamodb":
        _refuse_values(operation.params, 0)


def _refuse_values(value: Any, depth: int) -> None:
    if depth > 8:  # a request's members are never deeper: RequestItems > table > Keys > key > value
        return
    if isinstance(value, list):
        for member in value:
            _refuse_values(member, depth + 1)
        return
    if not isinstance(value, dict):
        return
    for name, member in value.items():
        if name in _VALUE_MAPS and isinstance(member, dict):
            for attribute in member.values():
                _refuse_value(attribute)
        elif name == "Keys" and isinstance(member, list):
            for key in member:
                for attribute in key.values() if isinstance(key, dict) else ():
                    _refuse_value(attribute)
        elif name == "AttributeValueList" and isinstance(member, list):
            for attribute in member:
                _refuse_value(attribute)
        else:
            _refuse_values(member, depth + 1)


_VALUE_MAPS = frozenset({"Key", "Item", "ExclusiveStartKey", "ExpressionAttributeValues"})


def _refuse_value(attribute: Any) -> None:
    if isinstance(attribute, dict) and len(attribute) > 1:
        raise ValidationException(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the "
            "supported datatypes"
        )
    if isinstance(attribute, dict) and not attribute:
        raise ValidationException(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )


def refuse_unread_key_conditions(
    operation: Operation, key_schema: Callable[[str, str | None], tuple[str, ...] | None]
) -> None:
    """DynamoDB's ValidationException for a Query whose key condition names no partition key value the
    gateway can read (`:v = pk`, a placeholder it does not find): its `dynamodb:LeadingKeys` were
    empty, which a `ForAllValues` condition lets through, whatever partition the backend reads."""
    params = operation.params
    if (operation.service, operation.name) != ("dynamodb", "Query") or not isinstance(
        params.get("TableName"), str
    ):
        return
    if not (params.get("KeyConditionExpression") or params.get("KeyConditions")):
        return
    index = params.get("IndexName") if isinstance(params.get("IndexName"), str) else None
    schema = key_schema(_table_name(params["TableName"]), index)
    if schema and not _key_condition_values(params, schema[0]):
        raise ValidationException(f"Query condition missed key schema element: {schema[0]}")


def refuse_key_updates(
    operation: Operation, key_schema: Callable[[str, str | None], tuple[str, ...] | None]
) -> None:
    """DynamoDB's ValidationException for an update of a key attribute (`AttributeUpdates` or an
    `UpdateExpression` target): moto applies `AttributeUpdates` to the partition key, moving an item the
    caller may write into a partition it may not."""
    if operation.service != "dynamodb":
        return
    updates: list[Any] = [operation.params] if operation.name == "UpdateItem" else []
    if operation.name == "TransactWriteItems" and isinstance(operation.params.get("TransactItems"), list):
        updates = [i.get("Update") for i in operation.params["TransactItems"] if isinstance(i, dict)]
    for update in updates:
        if not isinstance(update, dict) or not isinstance(update.get("TableName"), str):
            continue
        named = _updated_attributes(update)
        schema = key_schema(_table_name(update["TableName"]), None) if named else None
        for key in schema or ():
            if key in named:
                raise ValidationException(
                    f"One or more parameter values were invalid: Cannot update attribute {key}. "
                    "This attribute is part of the key"
                )


def _updated_attributes(update: Mapping[str, Any]) -> set[str]:
    names = update.get("ExpressionAttributeNames")
    aliases = names if isinstance(names, dict) else {}
    found = {str(a) for a in update.get("AttributeUpdates") or {} if isinstance(a, str)}
    expression = update.get("UpdateExpression")
    if isinstance(expression, str):
        found |= {_top_level(t, aliases) for t in _update_targets(expression)}
    return found


def refuse_projected_table_reads(operation: Operation) -> None:
    """DynamoDB's ValidationException for `Select: ALL_PROJECTED_ATTRIBUTES` without an index, which
    moto answers with every attribute of the table's items."""
    params = operation.params
    if (operation.service, operation.name) not in (("dynamodb", "Query"), ("dynamodb", "Scan")):
        return
    if params.get("Select") == "ALL_PROJECTED_ATTRIBUTES" and not params.get("IndexName"):
        raise ValidationException(
            "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"
        )


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


# -- dynamodb:LeadingKeys ---------------------------------------------------------------------------


def _leading_keys(
    request: Mapping[str, Any], key_schema: Callable[[], tuple[str, ...] | None]
) -> list[str] | None:
    """The partition key values a request names; None when it names none (Scan, CreateTable ...), and
    then the table's key schema is not asked for."""
    items: list[dict[str, Any]] = [i for s in ("Key", "Item") if isinstance(i := request.get(s), dict)]
    has_condition = request.get("KeyConditionExpression") or request.get("KeyConditions")
    if not items and not has_condition:
        return None
    schema = key_schema()
    partition = schema[0] if schema else None
    values = [v for item in items for v in _values(item, partition)]
    values += _key_condition_values(request, partition)
    return list(dict.fromkeys(values))


def _values(item: Mapping[str, Any], partition: str | None) -> list[str]:
    names = [partition] if partition else list(item)
    return [v for n in names if (v := _scalar(item.get(n))) is not None]


def _scalar(value: Any) -> str | None:
    """The text of a scalar AttributeValue ({"S": "x"}, {"N": "1"}, {"B": "base64"}), else None."""
    if isinstance(value, dict) and len(value) == 1:
        kind, text = next(iter(value.items()))
        if kind in _SCALAR_TYPES and isinstance(text, str):
            return text
    return None


def _key_condition_values(request: Mapping[str, Any], partition: str | None) -> list[str]:
    names = request.get("ExpressionAttributeNames") or {}
    values = request.get("ExpressionAttributeValues") or {}
    out = []
    expression = request.get("KeyConditionExpression")
    if isinstance(expression, str) and isinstance(values, dict):
        for name, placeholder in _KEY_EQUALS.findall(expression):
            attribute = names.get(name, name) if isinstance(names, dict) else name
            if partition is None or attribute == partition:
                out.append(_scalar(values.get(placeholder)))
    conditions = request.get("KeyConditions")
    for attribute, condition in conditions.items() if isinstance(conditions, dict) else ():
        if (partition is None or attribute == partition) and isinstance(condition, dict):
            if condition.get("ComparisonOperator") == "EQ":
                out += [_scalar(v) for v in condition.get("AttributeValueList") or []]
    return [v for v in out if v is not None]


# -- dynamodb:Attributes ----------------------------------------------------------------------------


def _attributes(request: Mapping[str, Any]) -> list[str]:
    """The top-level attribute names a request reads (projection) or writes (item, update)."""
    names = request.get("ExpressionAttributeNames")
    aliases = names if isinstance(names, dict) else {}
    found: list[str] = []
    projection = request.get("ProjectionExpression")
    if isinstance(projection, str):
        found += [_top_level(p, aliases) for p in _split_top_level(projection)]
    for listed in (request.get("AttributesToGet"), list(request.get("AttributeUpdates") or {})):
        found += [str(a) for a in listed or [] if isinstance(a, str)]
    item = request.get("Item")
    if isinstance(item, dict):
        found += [str(k) for k in item]
    update = request.get("UpdateExpression")
    if isinstance(update, str):
        found += [_top_level(p, aliases) for p in _update_targets(update)]
    # What a request reads to decide, or copies from (`SET allowed = hidden`), it accesses as well: a
    # condition or filter on a hidden attribute would tell its value.
    for member in ("ProjectionExpression", "UpdateExpression", "ConditionExpression", "FilterExpression"):
        expression = request.get(member)
        if isinstance(expression, str):
            found += expression_attributes(expression, aliases)
    for member in ("Expected", "QueryFilter", "ScanFilter"):
        legacy = request.get(member)
        found += [str(a) for a in legacy or {} if isinstance(a, str)] if isinstance(legacy, dict) else []
    return list(dict.fromkeys(a for a in found if a))


# Two readings of an expression's tokens: the narrow one splits `#a-b` into `#a`, `-`, `b`; the wide one
# keeps it one placeholder, as the backend may. A request is asked every attribute of both (never fewer).
_EXPRESSION_TOKENS = (
    re.compile(r":[A-Za-z0-9_]+|#[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*|[0-9]+|\S"),
    re.compile(r"[:#][^\s()\[\],.=<>]+|[^\s()\[\],.=<>:#]+|\S"),
)
_EXPRESSION_WORDS = frozenset({"AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE"})


def expression_attributes(expression: str, aliases: Mapping[str, Any]) -> list[str]:
    """The top-level attribute of every document path an expression names, wherever it stands (an
    operand, a function's argument, an update's target or source): a name or `#placeholder` that is not
    a value (`:v`), a function (`size(`), a keyword, an index (`[0]`) nor a nested part (`.b`)."""
    found: list[str] = []
    for pattern in _EXPRESSION_TOKENS:
        tokens = pattern.findall(expression)
        for i, token in enumerate(tokens):
            if token[0] in ":[]().,=<>" or token.isdigit() or token.upper() in _EXPRESSION_WORDS:
                continue
            if not (token[0] in "#_" or token[0].isalpha()):
                continue
            if (i + 1 < len(tokens) and tokens[i + 1] == "(") or (i > 0 and tokens[i - 1] == "."):
                continue
            found.append(str(aliases.get(token, token)))
    return list(dict.fromkeys(found))


def _split_top_level(expression: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in expression:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _top_level(path: str, aliases: Mapping[str, Any]) -> str:
    first = re.split(r"[.\[]", path.strip(), maxsplit=1)[0].strip()
    return str(aliases.get(first, first))


def _update_targets(expression: str) -> list[str]:
    pieces = _UPDATE_CLAUSE.split(expression)
    targets = []
    for clause, body in zip(pieces[1::2], pieces[2::2], strict=False):
        for action in _split_top_level(body):
            if clause.upper() == "SET":
                targets.append(action.split("=", 1)[0])
            elif clause.upper() == "REMOVE":
                targets.append(action)
            elif action.split():
                targets.append(action.split()[0])
    return targets


def request_keys(params: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """The request keys of DynamoDB that any of its actions may list: Select, ReturnValues, tags."""
    out: dict[str, str | list[str]] = {}
    for key, member in _REQUEST_KEYS.items():
        if isinstance(params.get(member), str):
            out[key] = params[member]
    tags = params.get("Tags")
    if isinstance(tags, list):
        pairs = [(t.get("Key"), t.get("Value")) for t in tags if isinstance(t, dict)]
        out.update({f"aws:RequestTag/{k}": str(v) for k, v in pairs if isinstance(k, str)})
        out["aws:TagKeys"] = [k for k, _ in pairs if isinstance(k, str)]
    if isinstance(params.get("TagKeys"), list):
        out["aws:TagKeys"] = [str(k) for k in params["TagKeys"]]
    return out
