"""Results and errors as AWS's query-protocol XML, written along the operation's output shape.

One generic writer for every operation: structures in model order, lists as `<member>`, maps as
`<entry><key/><value/></entry>`, timestamps in ISO 8601 as AWS writes them. Strings are built directly
(no ElementTree), with every text escaped.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
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
        _writer(op.output)(result or {}, parts)
        parts.append(f"</{op.result_wrapper}>")
    parts.append(f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>")
    parts.append(f"</{operation}Response>")
    return "".join(parts).encode()


def serialize_error(service: str, error: AwsError, request_id: str) -> bytes:
    """AWS's `<ErrorResponse>`: Type (Sender or Receiver), Code, Message, RequestId."""
    namespace = models.service(service).namespace
    kind = "Sender" if error.sender_fault else "Receiver"
    return (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type><Code>{escape(error.code)}</Code>'
        f"<Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
    ).encode()


Writer = Callable[[Any, list[str]], None]
_WRITERS: dict[int, Writer] = {}


def _writer(node: Node) -> Writer:
    """The function that writes a value of this shape; built once per shape, then reused."""
    found = _WRITERS.get(id(node))
    if found is None:
        built: list[Writer] = []
        _WRITERS[id(node)] = lambda value, parts: built[0](value, parts)  # for shapes that nest themselves
        built.append(_build(node))
        found = _WRITERS[id(node)] = built[0]
    return found


def _build(node: Node) -> Writer:
    kind = node.kind
    if kind == "structure":
        return _structure_writer(node)
    if kind == "list":
        assert node.member is not None  # a list shape always has a member
        return _list_writer(_writer(node.member), f"<{node.member_wire}>", f"</{node.member_wire}>")
    if kind == "map":
        return _map_writer(node)
    text = _text(kind)
    return lambda value, parts: parts.append(text(value))


def _text(kind: str) -> Callable[[Any], str]:
    """How a scalar of this kind reads as element text."""
    if kind == "string":
        return lambda value: escape(value if isinstance(value, str) else str(value))
    return lambda value: escape(_scalar(kind, value))


def _structure_writer(node: Node) -> Writer:
    # (member, open tag, close tag, text of a scalar member or None, writer of any other member)
    fields: list[tuple[str, str, str, Callable[[Any], str] | None, Writer | None]] = []
    for name, member in node.members.items():
        tag = node.wire_names[name]
        if member.kind == "list" and member.flattened:
            assert member.member is not None  # a list shape always has a member
            fields.append((name, "", "", None, _list_writer(_writer(member.member), f"<{tag}>", f"</{tag}>")))
        elif member.kind in ("structure", "list", "map"):
            fields.append((name, f"<{tag}>", f"</{tag}>", None, _writer(member)))
        else:
            fields.append((name, f"<{tag}>", f"</{tag}>", _text(member.kind), None))

    def write(value: dict[str, Any], parts: list[str]) -> None:
        get = value.get
        for name, opening, closing, text, nested in fields:
            item = get(name)
            if item is None:
                continue
            if text is not None:
                parts.append(opening + text(item) + closing)
            else:
                assert nested is not None  # every field has a text or a writer
                parts.append(opening)
                nested(item, parts)
                parts.append(closing)

    return write


def _list_writer(item_writer: Writer, opening: str, closing: str) -> Writer:
    def write(value: list[Any], parts: list[str]) -> None:
        for item in value:
            parts.append(opening)
            item_writer(item, parts)
            parts.append(closing)

    return write


def _map_writer(node: Node) -> Writer:
    assert node.key is not None and node.value is not None  # a map shape always has both
    key_writer, value_writer = _writer(node.key), _writer(node.value)
    key_open, between = f"<entry><{node.key_wire}>", f"</{node.key_wire}><{node.value_wire}>"
    value_close = f"</{node.value_wire}></entry>"

    def write(value: dict[str, Any], parts: list[str]) -> None:
        for key, item in value.items():
            parts.append(key_open)
            key_writer(key, parts)
            parts.append(between)
            value_writer(item, parts)
            parts.append(value_close)

    return write


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
        if value.utcoffset():
            value = value.astimezone(UTC)
        value = value.replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"
