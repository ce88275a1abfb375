"""DynamoDB requests refused before the backend sees them, with DynamoDB's own ValidationException: what
the backend might read otherwise than the decision did (a PartiQL statement whose one table cannot be
read, an AttributeValue of more than one type, a Query's partition value the gateway cannot find), an
update of a key attribute, an index's projection asked of a table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ostiary.gateway import dynamodb_keys, ownership
from ostiary.gateway.dynamodb import PARTIQL_OPERATIONS, statement_table, statements_of, table_name
from ostiary.gateway.operations import Operation
from ostiary.gateway.ownership import ValidationException

# What DynamoDB answers a statement it cannot parse; after the colon, our words.
UNREAD_STATEMENT = "Statement wasn't well formed, can't be processed: "


def refuse_unread_statements(operation: Operation, region: str) -> None:
    """DynamoDB's ValidationException for a PartiQL call with a statement whose one table cannot be
    read (`statement_table`), the backend's parser might find a table the decision did not; or whose
    table is an ARN of another region than the request's (`ownership.refuse_another_region`)."""
    if operation.service != "dynamodb" or operation.name not in PARTIQL_OPERATIONS:
        return
    for statement in statements_of(operation.params):
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
    schema = key_schema(table_name(params["TableName"]), index)
    if schema and not dynamodb_keys.key_condition_values(params, schema[0]):
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
        schema = key_schema(table_name(update["TableName"]), None) if named else None
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
        found |= {dynamodb_keys.top_level(t, aliases) for t in dynamodb_keys.update_targets(expression)}
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
