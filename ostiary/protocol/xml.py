"""Results and errors as AWS's query-protocol XML, written along the operation's output shape.

One generic writer for every operation: structures in model order, lists as `<member>`, maps as
`<entry><key/><value/></entry>`, timestamps in ISO 8601 as AWS writes them. Strings are built directly
(no ElementTree), with every text escaped.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

from ostiary.errors import AwsError
from ostiary.protocol import models
from ostiary.protocol.models import Node

_ESCAPES_BY_CHAR = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\r": "&#xD;",
    **{chr(c): "" for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)},  # not allowed in XML 1.0
    "\ufffe": "",
    "\uffff": "",
}
_ESCAPES = str.maketrans(_ESCAPES_BY_CHAR)


_NEEDS_ESCAPE = re.compile("[" + re.escape("".join(_ESCAPES_BY_CHAR)) + "]")


def escape(text: str) -> str:
    """Text safe inside an XML element: markup escaped, characters XML 1.0 forbids dropped."""
    if _NEEDS_ESCAPE.search(text) is None:  # the common case: nothing to translate
        return text
    return text.translate(_ESCAPES)


def serialize_result(service: str, operation: str, result: dict[str, Any] | None, request_id: str) -> bytes:
    """`<OperationResponse>` with its `<OperationResult>` (when the model has one) and the RequestId."""
    model = models.service(service)
    op = model.operations[operation]
    parts = [f'<{operation}Response xmlns="{model.namespace}">']
    if op.output is not None and op.result_wrapper:
        parts.append(f"<{op.result_wrapper}>")
        _structure(op.output, result or {}, parts)
        parts.append(f"</{op.result_wrapper}>")
    parts.append(f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>")
    parts.append(f"</{operation}Response>")
    return "".join(parts).encode()


def serialize_error(service: str, error: AwsError, request_id: str) -> bytes:
    """AWS's `<ErrorResponse>`: Type (Sender or Receiver), Code, Message, RequestId."""
    namespace = models.service(service if service in models.SERVICES else "iam").namespace
    kind = "Sender" if error.sender_fault else "Receiver"
    return (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type><Code>{escape(error.code)}</Code>'
        f"<Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
    ).encode()


def _structure(node: Node, value: dict[str, Any], parts: list[str]) -> None:
    wire = node.wire_names
    for name, member in node.members.items():
        item = value.get(name)
        if item is None:
            continue
        tag = wire[name]
        if member.kind == "list" and member.flattened:
            _flattened_list(member, tag, item, parts)
            continue
        parts.append(f"<{tag}>")
        _value(member, item, parts)
        parts.append(f"</{tag}>")


def _value(node: Node, value: Any, parts: list[str]) -> None:
    kind = node.kind
    if kind == "string":
        parts.append(escape(value if isinstance(value, str) else str(value)))
    elif kind == "structure":
        _structure(node, value, parts)
    elif kind == "list":
        assert node.member is not None  # a list shape always has a member
        tag = node.member_wire
        for item in value:
            parts.append(f"<{tag}>")
            _value(node.member, item, parts)
            parts.append(f"</{tag}>")
    elif kind == "map":
        _map(node, value, parts)
    else:
        parts.append(escape(_scalar(kind, value)))


def _flattened_list(node: Node, tag: str, value: list[Any], parts: list[str]) -> None:
    assert node.member is not None  # a list shape always has a member
    for item in value:
        parts.append(f"<{tag}>")
        _value(node.member, item, parts)
        parts.append(f"</{tag}>")


def _map(node: Node, value: dict[str, Any], parts: list[str]) -> None:
    assert node.key is not None and node.value is not None  # a map shape always has both
    for key, item in value.items():
        parts.append(f"<entry><{node.key_wire}>")
        _value(node.key, key, parts)
        parts.append(f"</{node.key_wire}><{node.value_wire}>")
        _value(node.value, item, parts)
        parts.append(f"</{node.value_wire}></entry>")


def _scalar(kind: str, value: Any) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return iso8601(value)
    if kind == "blob":
        return base64.b64encode(value if isinstance(value, bytes) else str(value).encode()).decode()
    return str(value)


def iso8601(value: datetime | str) -> str:
    """A timestamp as AWS writes it: `2026-11-30T02:16:43Z` (a naive datetime is UTC)."""
    if isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"
