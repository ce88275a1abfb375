"""The condition keys of DynamoDB's item and table requests, read from their keys, items and
expressions: `dynamodb:LeadingKeys` (the partition key values a request names), `dynamodb:Attributes`
(the top-level attributes it reads, writes or decides on), `dynamodb:Select` and
`dynamodb:ReturnValues` as a request asks them even unsaid, and the request keys any action may list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ostiary.gateway.mapping import tag_keys

_SCALAR_TYPES = ("S", "N", "B")
# `name = :value`, where a name or placeholder is whatever the backend takes for one (`#p-x`, `:ä`).
_KEY_EQUALS = re.compile(r"([^\s=()<>,]+)\s*=\s*(:[^\s=()<>,]+)")
_UPDATE_CLAUSE = re.compile(r"\b(SET|REMOVE|ADD|DELETE)\b", re.IGNORECASE)
_REQUEST_KEYS = {
    "dynamodb:Select": "Select",
    "dynamodb:ReturnValues": "ReturnValues",
    "dynamodb:ReturnConsumedCapacity": "ReturnConsumedCapacity",
}
_READ_ACTIONS = frozenset({"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem"})


def implicit_keys(action: str, request: Mapping[str, Any], index: str | None) -> dict[str, str | list[str]]:
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


# -- dynamodb:LeadingKeys ---------------------------------------------------------------------------


def leading_keys(
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
    values += key_condition_values(request, partition)
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


def key_condition_values(request: Mapping[str, Any], partition: str | None) -> list[str]:
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


def attributes(request: Mapping[str, Any]) -> list[str]:
    """The top-level attribute names a request reads (projection) or writes (item, update)."""
    names = request.get("ExpressionAttributeNames")
    aliases = names if isinstance(names, dict) else {}
    found: list[str] = []
    projection = request.get("ProjectionExpression")
    if isinstance(projection, str):
        found += [top_level(p, aliases) for p in _split_top_level(projection)]
    for listed in (request.get("AttributesToGet"), list(request.get("AttributeUpdates") or {})):
        found += [str(a) for a in listed or [] if isinstance(a, str)]
    item = request.get("Item")
    if isinstance(item, dict):
        found += [str(k) for k in item]
    update = request.get("UpdateExpression")
    if isinstance(update, str):
        found += [top_level(p, aliases) for p in update_targets(update)]
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


def top_level(path: str, aliases: Mapping[str, Any]) -> str:
    first = re.split(r"[.\[]", path.strip(), maxsplit=1)[0].strip()
    return str(aliases.get(first, first))


def update_targets(expression: str) -> list[str]:
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
    out.update(tag_keys(params, "Key", "Value"))
    return out
