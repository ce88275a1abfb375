"""The key of an item a DynamoDB put writes, for its record: CloudTrail's PutItem data event names it
beside the item's attribute names (`"key": {"Artist": "No One You Know", "SongTitle": "Scared of My
Shadow"}`), and so does a TransactWriteItems' Put (DynamoDB's developer guide, "Understanding DynamoDB
log file entries"). A put's request names no key apart from its item: it is the item's key attributes,
by the table's key schema.

Only the key's attributes are taken from the item (its other values are customer data, never recorded),
and only when the table's key schema is known without asking the backend (`known_schema`: kept since a
decision looked it up); else the record names no key. BatchWriteItem's puts are left as they are: no
record of AWS's shows what CloudTrail writes of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# A table's (partition key, sort key) names, when known without asking the backend.
KnownSchema = Callable[[str], tuple[str, ...] | None]


def keyed(service: str, operation: str, params: dict[str, Any], known_schema: KnownSchema) -> dict[str, Any]:
    """`params` with each put's `Key` (its item's key attributes, typed as sent) before its `Item`, for
    its record (`plans` records it without the types); `params` itself when there is none to add."""
    if service != "dynamodb":
        return params
    if operation == "PutItem":
        return _keyed_put(params, known_schema)
    if operation == "TransactWriteItems" and isinstance(params.get("TransactItems"), list):
        items = params["TransactItems"]
        found = [_keyed_transact_item(item, known_schema) for item in items]
        if any(new is not old for new, old in zip(found, items, strict=True)):
            return {**params, "TransactItems": found}
    return params


def _keyed_transact_item(item: Any, known_schema: KnownSchema) -> Any:
    if not isinstance(item, dict) or not isinstance(item.get("Put"), dict):
        return item
    put = _keyed_put(item["Put"], known_schema)
    return item if put is item["Put"] else {**item, "Put": put}


def _keyed_put(put: dict[str, Any], known_schema: KnownSchema) -> dict[str, Any]:
    """A put with its item's key, when its table's key schema is known and the item holds the key."""
    table, item = put.get("TableName"), put.get("Item")
    if "Key" in put or not isinstance(table, str) or not isinstance(item, dict):
        return put
    schema = known_schema(_table_name(table))
    key = {name: item[name] for name in schema or () if name in item}
    if not key:
        return put
    keyed: dict[str, Any] = {}
    for name, value in put.items():
        if name == "Item":
            keyed["Key"] = key
        keyed[name] = value
    return keyed


def _table_name(table: str) -> str:
    """A table named by its name or its ARN (`arn:aws:dynamodb:r:a:table/Music`): its name."""
    return table.split(":table/", 1)[1].split("/", 1)[0] if table.startswith("arn:") else table
