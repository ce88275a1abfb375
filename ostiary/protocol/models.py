"""The service models Ostiary serves, loaded once and compiled into small lookup tables for the codec.

The models are botocore's IAM and STS models, copied into `data/` from the botocore version the suite
was run with (DATA_SOURCE): the API served does not change with whatever botocore is installed. A newer
client's members that these models lack are ignored by the parser, as AWS's query services ignore
parameters they do not know.

A `Node` is one shape reduced to what parsing and serializing need: its kind, its members with their wire
names, and its constraints (length, range, pattern, enum). Nodes are built once per shape and shared, so
recursive shapes work and every request walks plain attributes instead of botocore's lazy properties.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.model import ServiceModel, Shape

SERVICES = ("iam", "sts")
DATA_SOURCE = "botocore 1.44.8"  # where data/<service>.json.gz were copied from (service-2.json.gz)
_DATA = Path(__file__).with_name("data")


@dataclass(eq=False)
class Node:
    """One shape as the codec sees it."""

    name: str
    kind: str  # structure | list | map | string | integer | long | boolean | timestamp | blob | float ...
    members: dict[str, Node] = field(default_factory=dict)  # structure: member name → node
    wire_names: dict[str, str] = field(default_factory=dict)  # structure: member name → serialized name
    required: tuple[str, ...] = ()
    member: Node | None = None  # list element
    member_wire: str = "member"
    key: Node | None = None  # map
    value: Node | None = None
    key_wire: str = "key"
    value_wire: str = "value"
    flattened: bool = False
    min: int | float | None = None
    max: int | float | None = None
    pattern: str | None = None
    regex: re.Pattern[str] | None = None
    enum: frozenset[str] | None = None


@dataclass(frozen=True)
class Operation:
    """One operation: its input and output nodes and the XML element that wraps its result."""

    service: str
    name: str
    input: Node | None
    output: Node | None
    result_wrapper: str | None


@dataclass(frozen=True)
class Service:
    """One service's model: operations by name, API version and XML namespace."""

    name: str
    api_version: str
    namespace: str
    operations: dict[str, Operation]
    model: ServiceModel = field(repr=False)


def _load(name: str) -> ServiceModel:
    with gzip.open(_DATA / f"{name}.json.gz", "rt", encoding="utf-8") as f:
        return ServiceModel(json.load(f), service_name=name)


@functools.cache
def service(name: str) -> Service:
    """The compiled model of `name` (`iam`, `sts`), built on first use and kept."""
    if name not in SERVICES:
        raise ValueError(f"`{name}` is not a service Ostiary serves")
    model = _load(name)
    nodes: dict[str, Node] = {}
    operations = {}
    for op_name in model.operation_names:
        op = model.operation_model(op_name)
        operations[op_name] = Operation(
            service=name,
            name=op_name,
            input=_node(op.input_shape, nodes) if op.input_shape is not None else None,
            output=_node(op.output_shape, nodes) if op.output_shape is not None else None,
            result_wrapper=op.output_shape.serialization.get("resultWrapper") if op.output_shape else None,
        )
    return Service(
        name=name,
        api_version=model.api_version,
        namespace=model.metadata["xmlNamespace"],
        operations=operations,
        model=model,
    )


def operation(service_name: str, name: str) -> Operation | None:
    """The operation `name` of a service, or None when the model has no such operation."""
    return service(service_name).operations.get(name)


def _node(shape: Shape, nodes: dict[str, Node]) -> Node:
    found = nodes.get(shape.name)
    if found is not None:
        return found
    meta = shape.metadata
    node = Node(name=shape.name, kind=shape.type_name, flattened=bool(shape.serialization.get("flattened")))
    nodes[shape.name] = node  # before recursing, so recursive shapes resolve to this node
    node.min, node.max = meta.get("min"), meta.get("max")
    if getattr(shape, "enum", None):
        node.enum = frozenset(shape.enum)
    pattern = meta.get("pattern") or _SERVICE_PATTERNS.get(shape.name)
    if pattern is not None:
        node.pattern = pattern
        node.regex = compile_pattern(pattern)
    if shape.type_name == "structure":
        for member_name, member in shape.members.items():
            node.members[member_name] = _node(member, nodes)
            node.wire_names[member_name] = member.serialization.get("name", member_name)
        node.required = tuple(meta.get("required", ()))
    elif shape.type_name == "list":
        node.member = _node(shape.member, nodes)
        node.member_wire = shape.member.serialization.get("name", "member")
    elif shape.type_name == "map":
        node.key, node.value = _node(shape.key, nodes), _node(shape.value, nodes)
        node.key_wire = shape.key.serialization.get("name", "key")
        node.value_wire = shape.value.serialization.get("name", "value")
    return node


_CATEGORY = re.compile(r"\\p\{(L|M|Z|S|N|P)\}")

# Patterns the service checks that botocore's model leaves out, as AWS's messages show them.
_SERVICE_PATTERNS = {
    # CreatePolicy's Description: a newline was refused with it (cfn-lint issue 345)
    "policyDescriptionType": r"[\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*",
}


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A model pattern (Java syntax) as a Python regex: ASCII `\\w` and `\\d`; `\\p{L}` and the like."""
    translated = _CATEGORY.sub(lambda m: _category_class(m.group(1)), pattern)
    return re.compile(translated, re.ASCII)


def _category_class(major: str) -> str:
    """The code points of a Unicode major category, as ranges for a character class."""
    return _category_classes()[major]


@functools.cache
def _category_classes() -> dict[str, str]:
    """Every major category's code points as character-class ranges: shipped for this Python's
    Unicode version (a restart serves sooner: the pass costs 0.3 to 1.5 s), else computed."""
    shipped = unicode_categories_file()
    if shipped.is_file():
        with gzip.open(shipped, "rt", encoding="utf-8") as f:
            return dict(json.load(f))
    return computed_category_classes()


def unicode_categories_file() -> Path:
    """Where the category classes of this Python's Unicode version are shipped."""
    return _DATA / f"unicode-categories-{unicodedata.unidata_version}.json.gz"


def computed_category_classes() -> dict[str, str]:
    """Every major category's code points as character-class ranges, found in one pass (the pass
    over all of Unicode, not the regex, is what costs)."""
    runs: dict[str, list[list[int]]] = {}
    category = unicodedata.category
    for cp in range(sys.maxunicode + 1):
        major = category(chr(cp))[0]
        ranges = runs.setdefault(major, [])
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return {major: "".join(_range(a, b) for a, b in ranges) for major, ranges in runs.items()}


def _range(start: int, end: int) -> str:
    return re.escape(chr(start)) if start == end else f"{re.escape(chr(start))}-{re.escape(chr(end))}"


def model_error_codes(service_name: str) -> dict[str, tuple[str, int]]:
    """Every error shape of a service: shape name → (code, HTTP status)."""
    model = service(service_name).model
    found: dict[str, tuple[str, int]] = {}
    for op_name in model.operation_names:
        for shape in model.operation_model(op_name).error_shapes:
            _add_error(found, shape.name, model)
    return found


def _add_error(found: dict[str, tuple[str, int]], shape_name: str, model: ServiceModel) -> None:
    shape: Any = model.shape_for(shape_name)
    error = shape.metadata.get("error", {})
    found[shape_name] = (error.get("code", shape_name), int(error.get("httpStatusCode", 400)))
