"""What CloudTrail keeps of an operation's parameters and answer, read once per operation from its
botocore model (`of`): a plan of the members to hide, at any depth, applied by `redaction`.

- a member whose shape is sensitive (`"sensitive": true`: a password, a private key, SSE-C's key, a
  secret's string, a SecureString's value), or a list or map of such, is a secret: a request's is
  recorded as `HIDDEN_DUE_TO_SECURITY_REASONS`, an answer's left out;
- a blob is data, not a parameter (KMS's plaintexts, messages, signatures and ciphertexts, a secret's
  binary, a virtual MFA device's seed): left out, as CloudTrail's KMS records leave them out;
- DynamoDB's attribute values are customer data: CloudTrail's data events keep a key's (`Key`, `Keys`,
  `ExclusiveStartKey`), an item's attribute names (`Item` → its names), a PartiQL statement with its
  literals `***(Redacted)`, and leave every other value out (expression attribute values, updates,
  filters, statement parameters);
- an SQS message's body and an SNS message are hidden, their attributes' values left out;
- a map's keys are data, not member names: kept as sent (a KMS encryption context's, a table's name in
  `RequestItems`, an attribute's name, a tag's key), where a structure's member names are camelCased;
- a DynamoDB key is recorded as CloudTrail's data events record it: its attribute names as sent, each
  value without its type (`"key": {"Artist": "No One You Know"}`, DynamoDB's developer guide); so is a
  put's (PutItem's, a TransactWriteItems' Put's), which its request does not name apart from its item:
  the gateway adds it (`item_keys`) when the table's key schema is known.

Operations with nothing to hide and no map (most of IAM's and STS's) have no plan: their parameters take
the plain path.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from botocore.model import ServiceModel, Shape

HIDE = "hide"  # a secret: a request's marked hidden, an answer's left out
DROP = "drop"  # data: left out
NAMES = "names"  # an item: its attribute names
STATEMENT = "statement"  # a PartiQL statement: its literals redacted
KEY = "key"  # a DynamoDB key: its attribute names as sent, each value without its type

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"

# A plan: an action (above), or a structure's {member: plan} of the members that hold something to hide
# or a map, or ("[]", plan) of a list's items, or ("{}", plan) of a map (its keys kept as sent) and of its
# values (None: nothing in them to hide, and no map).
Plan = Any

_MODEL_NAMES = {"access-analyzer": "accessanalyzer"}  # our services' names that are not the model's
_SERVED = frozenset({"iam", "sts"})  # the models Ostiary serves itself (protocol/data)
# Customer data no model marks sensitive. CloudTrail records an SQS message's body as hidden (SQS's
# developer guide, SendMessage's data event); an SNS message is taken as the same (our choice: AWS's
# records of Publish are not at hand); message attributes' values are left out.
_HIDDEN_MEMBERS = frozenset({("sqs", "MessageBody"), ("sns", "Message")})
_DATA_SHAPES = frozenset(
    {("dynamodb", "AttributeValue"), ("sqs", "MessageAttributeValue"), ("sns", "MessageAttributeValue")}
)
_KEY_MEMBERS = frozenset({"Key", "Keys", "ExclusiveStartKey"})  # a key's values: kept, as CloudTrail does
_ITEM_MEMBERS = frozenset({"Item"})
# The puts whose records name their item's key beside its attribute names (`item_keys` adds the `Key`):
# PutItem's and a TransactWriteItems' Put's, in DynamoDB's developer guide's records of them.
_KEYED_PUTS = frozenset({"PutItemInput", "Put"})
_STATEMENT_MEMBERS = frozenset({"Statement"})


@functools.lru_cache(maxsize=2048)
def of(service: str, operation: str) -> tuple[Plan | None, Plan | None]:
    """The plans of an operation's parameters and of its answer (None: nothing to hide), or (None,
    None) for an operation no model names."""
    model = _model(service)
    if model is None or operation not in model.operation_names:
        return None, None
    op = model.operation_model(operation)
    name = model.service_name
    found = tuple(
        _plan(shape, name, {}) if shape is not None else None for shape in (op.input_shape, op.output_shape)
    )
    return found[0], found[1]


def _model(service: str) -> ServiceModel | None:
    if service in _SERVED:
        from ostiary.protocol import models

        return models.service(service).model
    from ostiary.gateway.operations import service_model  # the gateway imports the trail

    return service_model(_MODEL_NAMES.get(service, service))


def _plan(shape: Shape, service: str, planned: dict[str, Plan | None]) -> Plan | None:
    """A shape's plan. `planned` holds the structures planned (or being planned) for this operation: a
    recursive shape's plan refers to itself, so a secret is hidden at any depth of it."""
    kind = shape.type_name
    if kind == "blob":
        return DROP
    if shape.metadata.get("sensitive"):
        return HIDE
    if (service, shape.name) in _DATA_SHAPES:
        return DROP
    if kind == "structure":
        if shape.name in planned:  # planned already, or under way (a recursion: the same plan)
            return planned[shape.name]
        members: dict[str, Plan] = {}
        planned[shape.name] = members
        for name, member in shape.members.items():
            if (service, name) in _HIDDEN_MEMBERS:
                members[name] = HIDE
                continue
            if service == "dynamodb" and name in _KEY_MEMBERS:
                if member.type_name == "map":
                    members[name] = KEY
                elif member.type_name == "list" and member.member.type_name == "map":
                    members[name] = ("[]", KEY)
                continue
            if service == "dynamodb" and name in _ITEM_MEMBERS and member.type_name == "map":
                members[name] = NAMES
                continue
            if service == "dynamodb" and name in _STATEMENT_MEMBERS and member.type_name == "string":
                members[name] = STATEMENT
                continue
            found = _plan(member, service, planned)
            if found is not None:
                members[name] = found
        if service == "dynamodb" and shape.name in _KEYED_PUTS and "Item" in shape.members:
            members["Key"] = KEY
        if not members:
            planned[shape.name] = None
        return members or None
    if kind == "list":
        inner = _plan(shape.member, service, planned)
        if inner is None or isinstance(inner, str):
            return inner  # a list of secrets is a secret
        return ("[]", inner)
    if kind == "map":
        inner = _plan(shape.value, service, planned)
        if isinstance(inner, str):
            return inner  # a map of secrets is a secret, a map of data is data
        return ("{}", inner)  # its keys kept as sent
    return None


def flat(plan: dict[str, Plan], name: str) -> Plan | None:
    """The plan of a query protocol's flattened member (`Parent.member.1.Child`, `Map.entry.1.value`),
    planned by the member it starts with: the action it falls under, if any."""
    parts = name.split(".")
    step: Plan | None = plan.get(parts[0])
    for part in parts[1:]:
        if step is None or isinstance(step, str):
            break
        if isinstance(step, tuple):
            kind, inner = step
            if kind == "entry":  # a map entry's `key` (a name: nothing hidden) or `value`
                if part == "key":
                    return None
                step = inner
            elif part.isdigit():
                step = inner if kind == "[]" else ("entry", inner)
            continue  # `member`, `entry`
        step = step.get(part)
    return step if isinstance(step, str) else None


# PartiQL: a double-quoted name, a bare word and a tuple's attribute name (`'k':`) are kept; another
# single-quoted string, a number or an Ion literal (in backticks) is a value.
_PARTIQL_TOKEN = re.compile(
    r"\"(?:[^\"]|\"\")*\"|[A-Za-z_$][\w$]*|'(?:[^']|'')*'(?=\s*:)"
    r"|(?P<value>'(?:[^']|'')*'|`[^`]*`|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
)
REDACTED = "***(Redacted)"


def redacted_statement(statement: str) -> str:
    """A PartiQL statement as CloudTrail records it: its literal values `***(Redacted)`. CloudTrail
    keeps a key's; the table's key schema is not known here, so every literal is redacted."""
    return _PARTIQL_TOKEN.sub(_redact_literal, statement)


def _redact_literal(match: re.Match[str]) -> str:
    return REDACTED if match["value"] is not None else match[0]
