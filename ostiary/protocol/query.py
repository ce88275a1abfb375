"""The query protocol (IAM, STS): a form-encoded request → ApiCall, generically from the service model.

Parameters arrive flat (`Tags.member.1.Key=k`); they are gathered into a tree by their dotted names and
decoded along the operation's input shape. Values are checked against the model's constraints and every
violation is reported at once in AWS's ValidationError text. Parameters the model does not know are
ignored, as AWS's query services ignore them.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import unquote_plus

from ostiary.errors import AwsError, InvalidAction, MalformedQueryString, MissingAction, ValidationError
from ostiary.protocol import ApiCall, HttpRequest, models
from ostiary.protocol.models import Node

log = logging.getLogger("ostiary.protocol")

AUTH_PARAMS = frozenset(  # a presigned URL's signature, never a parameter of the call
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
    }
)
_FORM = "application/x-www-form-urlencoded"
# IAM stopped echoing rejected values in 2025 ("Value at 'path' ..."); STS still shows them.
_ECHOES_VALUES = {"iam": False, "sts": True}
Tree = dict[str, Any]


class Scoped(Protocol):
    """What service_of needs of a signature (auth.sigv4.SignedRequest): its credential scope's service."""

    @property
    def service(self) -> str: ...


def service_of(request: HttpRequest, signed: Scoped | None) -> str:
    """`iam` or `sts`: the signed credential scope's service, else the service that has the Action."""
    if signed is not None and signed.service in models.SERVICES:
        return signed.service
    action = action_name(request) or ""
    for name in models.SERVICES:
        if models.operation(name, action) is not None:
            return name
    return "iam"


def parse(service: str, request: HttpRequest) -> ApiCall:
    """Decode a query-protocol request of `service` into an ApiCall; raise AWS's error when it is bad.

    Any unexpected exception is a parser bug: it is logged and answered as a 400, never a crash.
    """
    try:
        return _parse(service, request)
    except AwsError:
        raise
    except Exception as exc:  # noqa: BLE001 - the parser's one guard: a bug here must not become a 500
        log.exception("query parser failed on a %s request (a parser bug)", service)
        raise MalformedQueryString("The request could not be parsed.") from exc


_ACTION = re.compile(rb"(?:^|&)Action=([A-Za-z0-9]+)")


def action_name(request: HttpRequest) -> str | None:
    """The Action parameter, read cheaply before parsing (to choose where to run the request)."""
    for source in (request.body, request.query_string.encode("latin-1")):
        match = _ACTION.search(source)
        if match is not None:
            return match.group(1).decode()
    return None


def _parse(service: str, request: HttpRequest) -> ApiCall:
    pairs = _pairs(request)
    tree: Tree = {}
    action, version = "", None
    for key, value in pairs:
        if key == "Action":
            action = value
        elif key == "Version":
            version = value
        elif key not in AUTH_PARAMS:
            _insert(tree, key, value)
    if not action:
        raise MissingAction("The request must contain the parameter Action.")
    op = models.operation(service, action)
    if op is None:
        version = version or models.service(service).api_version
        raise InvalidAction(f"Could not find operation {action} for version {version}")
    if op.input is None:
        return ApiCall(service, action, {})
    decoder = _Decoder(_ECHOES_VALUES.get(service, True))
    params = decoder.structure(op.input, tree, "")
    if decoder.violations:
        raise ValidationError(decoder.message())
    if decoder.has_invalid_path:
        raise ValidationError(_INVALID_PATH)
    return ApiCall(service, action, params)


def _pairs(request: HttpRequest) -> list[tuple[str, str]]:
    """Every parameter: the query string's, then the form body's."""
    pairs = _form_pairs(request.query_string)
    if request.body and _media_type(request.header("content-type") or _FORM) == _FORM:
        pairs += _form_pairs(request.body.decode("utf-8", "replace"))
    return pairs


def _media_type(content_type: str) -> str:
    """`type/subtype` of a Content-Type, in lower case (media types ignore case), without parameters."""
    return content_type.partition(";")[0].strip().lower()


def _form_pairs(text: str) -> list[tuple[str, str]]:
    """`name=value&...` decoded as `parse_qsl(text, keep_blank_values=True)` decodes it, at a quarter of
    its cost: most parameters need no unquoting."""
    pairs = []
    for part in text.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in part or "+" in part:
            name, value = unquote_plus(name), unquote_plus(value)
        pairs.append((name, value))
    return pairs


def _insert(tree: Tree, key: str, value: str) -> None:
    parts = key.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {} if child is None else {"": child}
        node = child
    last = parts[-1]
    if isinstance(node.get(last), dict):
        node[last][""] = value
    else:
        node[last] = value


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


# An entity's path failing pathType's pattern: AWS checks it in the service, with this text, not as a
# constraint violation (recorded for CreateVirtualMFADevice; cfn-lint issue 722 shows it for a role)
_INVALID_PATH = (
    "The specified value for path is invalid. "
    "It must begin and end with / and contain only alphanumeric characters and/or / characters."
)


# Ostiary's own constraint: AWS's text for a NUL in a string without a pattern is not recorded.
_NO_NUL = "Member must not contain the character U+0000"


class _Decoder:
    """Decodes one request's tree along a shape and collects constraint violations."""

    def __init__(self, echoes_values: bool) -> None:
        self.echoes_values = echoes_values
        self.violations: list[tuple[str, str, str]] = []  # (path, shown value, constraint)
        self.has_invalid_path = False

    def message(self) -> str:
        """AWS's text for the collected violations, in the order AWS lists them."""
        ordered = _java_hash_order(self.violations)
        count = len(ordered)
        head = f"{count} validation error{'s' if count > 1 else ''} detected: "
        return head + "; ".join(
            f"Value{shown} at '{path}' failed to satisfy constraint: {constraint}"
            for path, shown, constraint in ordered
        )

    def value(self, node: Node, raw: Any, path: str) -> Any:
        kind = node.kind
        if kind == "structure":
            return self.structure(node, raw if isinstance(raw, dict) else {}, path)
        if kind == "list":
            return self.list(node, raw, path)
        if kind == "map":
            return self.map(node, raw, path)
        text = raw.get("", "") if isinstance(raw, dict) else raw
        return self.scalar(node, text, path)

    def structure(self, node: Node, tree: Tree, path: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        prefix = f"{path}." if path else ""
        for name, member in node.members.items():
            raw = tree.get(node.wire_names[name])
            if raw is None:
                continue
            result[name] = self.value(member, raw, prefix + _lower_camel(name))
        for name in node.required:
            if name not in result:
                self.violations.append((prefix + _lower_camel(name), " null", "Member must not be null"))
        return result

    def list(self, node: Node, raw: Any, path: str) -> list[Any]:
        assert node.member is not None  # a list shape always has a member
        items = raw if node.flattened else (raw.get(node.member_wire) if isinstance(raw, dict) else None)
        ordered = _indexed(items)
        element = node.member
        if element.kind in ("structure", "list", "map"):
            values = [self.value(element, item, f"{path}.{i}.member") for i, item in ordered]
        else:
            values, failed = [], False
            for _, item in ordered:
                try:
                    values.append(self.value(element, item, ""))
                except _ElementViolation:
                    failed = True
                    values.append(item)
            if failed:
                self.element_failed(element, path, values)
        self._check_bounds(node, len(values), path, values, "length")
        return values

    def map(self, node: Node, raw: Any, path: str) -> dict[str, Any]:
        assert node.key is not None and node.value is not None  # a map shape always has both
        entries = raw if node.flattened else (raw.get("entry") if isinstance(raw, dict) else None)
        result: dict[str, Any] = {}
        for i, entry in _indexed(entries):
            if not isinstance(entry, dict) or node.key_wire not in entry:
                continue
            key = self.value(node.key, entry[node.key_wire], f"{path}.{i}.key")
            result[key] = self.value(node.value, entry.get(node.value_wire, ""), f"{path}.{i}.value")
        self._check_bounds(node, len(result), path, result, "length")
        return result

    def scalar(self, node: Node, text: str, path: str) -> Any:
        kind = node.kind
        if kind == "string":
            self._check_string(node, text, path)
            return text
        try:
            value = _convert(kind, text)
        except ValueError:
            self._violation(path, text, f"Member must be a valid {kind}")
            return None
        if kind in ("integer", "long", "float", "double"):
            self._check_bounds(node, value, path, text, "value")
        return value

    # -- constraints ---------------------------------------------------------------------------

    def _violation(self, path: str, value: Any, constraint: str) -> None:
        if not path:  # a list element: the list reports it
            raise _ElementViolation
        shown = f" '{_show(value)}'" if self.echoes_values else ""
        self.violations.append((path, shown, constraint))

    def _check_string(self, node: Node, text: str, path: str) -> None:
        self._check_bounds(node, len(text), path, text, "length")
        if node.regex is not None and node.regex.fullmatch(text) is None:
            if node.name == "pathType" and path in ("path", "newPath"):
                self.has_invalid_path = True
                return
            self._violation(path, text, f"Member must satisfy regular expression pattern: {node.pattern}")
        elif "\x00" in text:  # no pattern refused it; no store can hold it (PostgreSQL's text cannot)
            self._violation(path, text, _NO_NUL)
        if node.enum is not None and text not in node.enum:
            self._violation(path, text, "Member must satisfy enum value set")

    def _check_bounds(self, node: Node, measure: Any, path: str, shown: Any, what: str) -> None:
        """The model's max and min on a number's value or on a string's, list's or map's length."""
        if node.max is not None and measure > node.max:
            self._violation(path, shown, f"Member must have {what} less than or equal to {node.max}")
        if node.min is not None and measure < node.min:
            self._violation(path, shown, f"Member must have {what} greater than or equal to {node.min}")

    def element_failed(self, node: Node, path: str, value: Any) -> None:
        self._violation(path, value, f"Member must satisfy constraint: [{', '.join(_all_constraints(node))}]")


class _ElementViolation(Exception):
    """A scalar inside a list failed a constraint; the list reports all of the element's constraints."""


def _all_constraints(node: Node) -> list[str]:
    found = []
    if node.max is not None:
        found.append(f"Member must have length less than or equal to {node.max}")
    if node.min is not None:
        found.append(f"Member must have length greater than or equal to {node.min}")
    if node.pattern is not None:
        found.append(f"Member must satisfy regular expression pattern: {node.pattern}")
        found.append("Member must not be null")
    if node.enum is not None:
        found.append("Member must satisfy enum value set")
    return found


def _indexed(items: Any) -> list[tuple[int, Any]]:
    """The `1`, `2`, ... children of a list or map node, in index order; an empty value is no items.

    Only up to 10 ASCII digits make an index: `²`, `١` or 5,000 nines is a name like any other, ignored."""
    if not isinstance(items, dict):
        return []
    found = [(int(k), v) for k, v in items.items() if len(k) <= 10 and k.isascii() and k.isdigit()]
    found.sort(key=lambda pair: pair[0])
    return found


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _convert(kind: str, text: str) -> Any:
    if kind in ("integer", "long"):
        if _INTEGER.fullmatch(text) is None:  # int() would also take `1_000`, ` 5 ` and `١`
            raise ValueError(text)
        return int(text)
    if kind in ("float", "double"):
        return float(text)
    if kind == "boolean":
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise ValueError(text)
        return lowered == "true"
    if kind == "timestamp":
        return _timestamp(text)
    if kind == "blob":
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise ValueError(text) from exc
    return text


def _timestamp(text: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    return str(value)


def _java_hash_order(violations: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Violations in the order AWS lists them: the iteration order of a Java HashSet keyed by path."""
    capacity = 16
    while len(violations) > capacity * 3 // 4:
        capacity *= 2

    def bucket(path: str) -> int:
        h = 0
        for ch in path:
            h = (31 * h + ord(ch)) & 0xFFFFFFFF
        return (h ^ (h >> 16)) & (capacity - 1)

    return [v for _, _, v in sorted((bucket(v[0]), i, v) for i, v in enumerate(violations))]
