"""Which AWS operation an HTTP request is, read with botocore's service models.

S3 (REST-XML) is routed as its model describes each operation: the HTTP method, the request URI (bucket
and key in the path, or the bucket in a virtual host) and the query sub-resources, required query
members and required headers, the most specific match winning (`s3_routes`). DynamoDB (JSON 1.0),
KMS (JSON 1.1) and every other JSON service name the operation in `X-Amz-Target`. No request makes
`identify` raise: what cannot be identified is an `UnknownOperation` that says why.
"""

from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

from ostiary.frozen import quick_init
from ostiary.gateway import s3_routes
from ostiary.gateway.s3_routes import (
    DEFAULT_VIRTUAL_HOSTS,
    MAX_QUERY_FIELDS,
    SIGNATURE_PARAMS,
    Target,
)
from ostiary.protocol import HttpRequest

MAX_TARGET_CHARS = 256
MAX_XML_BODY_BYTES = 2 * 1024 * 1024  # DeleteObjects: 1,000 keys of up to 1,024 bytes


@quick_init
@dataclass(frozen=True)
class Operation:
    """An identified call: the service's model name (`s3`), the operation (`GetObject`), its input members.

    `params` holds the members the request carries, by model name: for S3 the URI, query and header
    members (numbers as ints, booleans as bools) and an XML payload's structure; for JSON services the
    body as sent (blobs stay base64 text).
    """

    service: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UnknownOperation:
    """A request that is no operation of the service's model, and why (our own words).

    `operation` is set when the request names a known operation whose input cannot be read.
    """

    service: str
    reason: str
    operation: str | None = None


def identify(
    service: str, request: HttpRequest, *, virtual_hosts: tuple[str, ...] = DEFAULT_VIRTUAL_HOSTS
) -> Operation | UnknownOperation:
    """The operation a request for `service` calls, or UnknownOperation; never raises.

    `virtual_hosts` are the host names under which `BUCKET.HOST` names a bucket (besides AWS's own).
    """
    model = service_model(service)
    if model is None:
        return UnknownOperation(service, f"no model of service `{service[:64]}`")
    protocol = model.metadata.get("protocol")
    if protocol == "rest-xml" and service == "s3":
        return _identify_rest(model, request, virtual_hosts)
    if protocol == "json":
        return _identify_json(model, request)
    if protocol in ("query", "ec2"):
        return _identify_query(model, request)
    if protocol in ("rest-json", "rest-xml"):
        return _identify_uri(model, request)
    return UnknownOperation(service, f"protocol `{protocol}` is not read by the gateway")


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


# SigV4 signing names that are not the model's name (a request's scope says the signing name).
_MODEL_OF_SIGNING_NAME = {
    "monitoring": "cloudwatch",
    "states": "stepfunctions",
    "email": "ses",
    "execute-api": "apigatewaymanagementapi",
    "iotdata": "iot-data",
    "mobiletargeting": "pinpoint",
}


@functools.lru_cache(maxsize=64)
def service_model(service: str) -> ServiceModel | None:
    """botocore's model of a service (`s3`, `dynamodb`, `kms` ...) by its name or its SigV4 signing name,
    or None when botocore has none."""
    if not re.fullmatch(r"[a-z0-9-]{1,64}", service):
        return None
    name = _MODEL_OF_SIGNING_NAME.get(service, service)
    if name not in _session().get_available_services():
        return None
    return _session().get_service_model(name)


# -- JSON services ---------------------------------------------------------------------------------


def _identify_json(model: ServiceModel, request: HttpRequest) -> Operation | UnknownOperation:
    service = model.service_name
    target = request.header("x-amz-target")
    if target is None:
        return UnknownOperation(service, "the request has no `X-Amz-Target` header")
    if len(target) > MAX_TARGET_CHARS:
        return UnknownOperation(service, "the `X-Amz-Target` header is too long")
    prefix, _, name = target.partition(".")
    if prefix != model.metadata.get("targetPrefix") or name not in _operation_names(model):
        return UnknownOperation(service, f"unknown target `{target}`")
    params = _json_body(request.body)
    if params is None:
        return UnknownOperation(service, "the body is not a JSON object", name)
    return Operation(service, name, params)


@functools.lru_cache(maxsize=64)
def _operation_names(model: ServiceModel) -> frozenset[str]:
    return frozenset(model.operation_names)


def _json_body(body: bytes) -> dict[str, Any] | None:
    """The body's JSON object; None when it is none, or names one member twice in an object: which of
    the two a backend reads is its parser's choice, and the decision must read the request it forwards."""
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body, object_pairs_hook=_unique_members)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return parsed if isinstance(parsed, dict) else None


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("a member named twice")
    return found


# -- query and EC2 services: `Action` in the query string or the form body ------------------------


def _identify_query(model: ServiceModel, request: HttpRequest) -> Operation | UnknownOperation:
    service = model.service_name
    text = request.query_string
    content_type = (request.header("content-type") or "").lower()
    if request.method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        try:
            text = (text + "&" if text else "") + request.body.decode("utf-8")
        except UnicodeDecodeError:
            return UnknownOperation(service, "the form body is not UTF-8")
    try:
        fields = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
    except ValueError:
        return UnknownOperation(service, "the query string or form body is malformed")
    params: dict[str, Any] = {}
    for name, value in fields:
        if name.lower() not in SIGNATURE_PARAMS:  # a presigned URL's credentials: no parameter
            params.setdefault(name, value)
    if text is not request.query_string and request.query_string and _in_both(request.query_string, text):
        return UnknownOperation(service, "a parameter is in both the query string and the form body")
    action = params.pop("Action", None)
    if action is None:
        return UnknownOperation(service, "the request names no `Action`")
    if action not in _operation_names(model):
        return UnknownOperation(service, f"unknown action `{action[:64]}`")
    params.pop("Version", None)
    return Operation(service, action, params)


def _in_both(query: str, text: str) -> bool:
    """Whether a parameter of the query string is also in the form body (`text` is the two joined): a
    backend may read either (moto reads the body alone), never what the gateway decided on."""
    try:
        asked, sent = (
            {name for name, _ in parse_qsl(part, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)}
            for part in (query, text[len(query) + 1 :])
        )
    except ValueError:
        return True
    return bool(asked & sent)


# -- other REST services: the operation's URI template, method and required members ----------------


@dataclass(frozen=True)
class _UriRoute:
    operation: str
    method: str
    pattern: re.Pattern[str]
    query: tuple[tuple[str, str | None], ...]
    rank: tuple[int, int]


@functools.lru_cache(maxsize=32)
def _uri_routes(model: ServiceModel) -> tuple[_UriRoute, ...]:
    routes = []
    for name in model.operation_names:
        op = model.operation_model(name)
        path, _, query_text = op.http["requestUri"].partition("?")
        query = tuple(
            (key, value if sep else None)
            for key, sep, value in (item.partition("=") for item in query_text.split("&") if item)
        )
        parts = re.split(r"(\{[^}]+\})", path)
        regex = "".join(
            (f"(?P<{_group(p[1:-1])}>.+)" if p.endswith("+}") else f"(?P<{_group(p[1:-1])}>[^/]+)")
            if p.startswith("{")
            else re.escape(p)
            for p in parts
        )
        literal = sum(len(p) for p in parts if not p.startswith("{"))
        routes.append(
            _UriRoute(name, op.http["method"], re.compile(regex + "/?$"), query, (len(query), literal))
        )
    return tuple(routes)


def _group(name: str) -> str:
    return "m_" + re.sub(r"\W", "_", name.rstrip("+"))


def _identify_uri(model: ServiceModel, request: HttpRequest) -> Operation | UnknownOperation:
    service = model.service_name
    path = request.path
    try:
        query = dict(parse_qsl(request.query_string, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS))
    except ValueError:
        return UnknownOperation(service, "the query string is malformed")
    found = []
    for route in _uri_routes(model):
        if route.method != request.method:
            continue
        if any(k not in query or (v is not None and query[k] != v) for k, v in route.query):
            continue
        match = route.pattern.match(path)
        if match:
            found.append((route.rank, route, match))
    if not found:
        return UnknownOperation(service, f"no {service} operation is `{request.method[:16]}` on this path")
    _, route, match = max(found, key=lambda item: item[0])
    op = model.operation_model(route.operation)
    params: dict[str, Any] = {}
    shape = op.input_shape
    if shape is not None:
        for name, member in shape.members.items():
            location = s3_routes.location(member)
            wire = member.serialization.get("name", name)
            if location == "uri":
                raw = match.groupdict().get(_group(wire))
                if raw is not None:
                    params[name] = unquote(raw)
            elif location == "querystring" and wire in query:
                params[name] = _scalar(member, query[wire])
            elif location == "header":
                raw_header = request.header(wire.lower())
                if raw_header is not None:
                    params[name] = _scalar(member, raw_header)
        if model.metadata.get("protocol") == "rest-json" and not shape.serialization.get("payload"):
            body = _json_body(request.body)
            if body is not None:
                for name, value in body.items():
                    params.setdefault(name, value)
    return Operation(service, route.operation, params)


# -- S3: REST-XML, routed by `s3_routes` ----------------------------------------------------------


def _identify_rest(
    model: ServiceModel, request: HttpRequest, virtual_hosts: tuple[str, ...]
) -> Operation | UnknownOperation:
    service = model.service_name
    target = s3_routes.target(request, virtual_hosts)
    if isinstance(target, str):
        return UnknownOperation(service, target)
    hoisted = s3_routes.with_query_headers(request, target.query)
    if isinstance(hoisted, str):
        return UnknownOperation(service, hoisted)
    request = hoisted
    shape = (request.method, target.bucket is not None, target.key is not None)
    best = s3_routes.best_route(model, shape, request, target)
    if best is None:
        return UnknownOperation(service, f"no {service} operation is `{request.method[:16]}` on this path")
    op = model.operation_model(best.operation)
    return Operation(service, best.operation, _rest_params(op, request, target))


# -- S3: the members a request carries -----------------------------------------------------------


def _rest_params(op: OperationModel, request: HttpRequest, target: Target) -> dict[str, Any]:
    shape = op.input_shape
    if shape is None:
        return {}
    read = _members_read(op)
    found: list[tuple[int, str, Any]] = []  # (the member's place in the model, its name, its value)
    for at, name, wire in read.uri:
        part = target.bucket if wire == "Bucket" else target.key
        if part is not None:
            found.append((at, name, part))
    if target.query:
        for wire, raw in target.query.items():
            member = read.query.get(wire)
            if member is not None:
                found.append((member[0], member[1], _scalar(member[2], raw)))
    seen: set[str] = set()
    for header, text in request.headers:
        if header in seen:
            continue  # the first of a repeated header, as `request.header` reads
        seen.add(header)
        member = read.header.get(header)
        if member is not None:
            found.append((member[0], member[1], _scalar(member[2], text)))
    for at, name, wire in read.prefixed:  # a map of every header under a prefix (x-amz-meta-)
        cut = len(wire)
        under = {k[cut:]: v for k, v in request.headers if k.startswith(wire) and len(k) > cut}
        if under:
            found.append((at, name, under))
    found.sort(key=_place)
    params: dict[str, Any] = {name: value for _, name, value in found}
    payload = shape.serialization.get("payload")
    if payload and shape.members[payload].type_name == "structure" and request.body:
        parsed = _xml_payload(shape.members[payload], request.body)
        if parsed is not None:
            params[payload] = parsed
    elif payload and shape.members[payload].type_name == "string" and request.body:  # PutBucketPolicy
        params[payload] = request.body.decode("utf-8", errors="replace")
    return params


def _place(item: tuple[int, str, Any]) -> int:
    return item[0]


@dataclass(frozen=True)
class _MembersRead:
    """An operation's input members a request carries, each with its place in the model's order, by
    where it is read: the URI's (name, wire name), the query's and the headers' by wire name (lower-cased
    for headers), and the maps of headers under a prefix."""

    uri: tuple[tuple[int, str, str], ...]
    query: dict[str, tuple[int, str, Shape]]
    header: dict[str, tuple[int, str, Shape]]
    prefixed: tuple[tuple[int, str, str], ...]


@functools.lru_cache(maxsize=256)
def _members_read(op: OperationModel) -> _MembersRead:
    """Where each input member of an operation is read from a request (a repeated wire name: the first
    member in the model's order)."""
    shape = op.input_shape
    uri: list[tuple[int, str, str]] = []
    query: dict[str, tuple[int, str, Shape]] = {}
    header: dict[str, tuple[int, str, Shape]] = {}
    prefixed: list[tuple[int, str, str]] = []
    for at, (name, member) in enumerate(shape.members.items() if shape is not None else ()):
        location = s3_routes.location(member)
        wire = member.serialization.get("name", member.name)
        if location == "header":
            header.setdefault(wire.lower(), (at, name, member))
        elif location == "headers":
            prefixed.append((at, name, wire.lower()))
        elif location == "uri":
            uri.append((at, name, wire))
        elif location == "querystring" and member.type_name != "map":
            query.setdefault(wire, (at, name, member))
    return _MembersRead(tuple(uri), query, header, tuple(prefixed))


def _scalar(member: Shape, raw: str) -> Any:
    kind = member.type_name
    if kind in ("integer", "long") and re.fullmatch(r"-?\d{1,19}", raw.strip()):
        return int(raw)
    if kind == "boolean" and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    if kind == "list":
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def _xml_payload(shape: Shape, body: bytes) -> dict[str, Any] | None:
    """An XML payload read by its model shape; None when it is too large or not XML."""
    if len(body) > MAX_XML_BODY_BYTES:
        return None
    try:
        root = ElementTree.fromstring(body)  # expat: no external entities, bounded entity expansion
    except (ElementTree.ParseError, ValueError, RecursionError):
        return None
    value = _xml_value(shape, root, depth=0)
    return value if isinstance(value, dict) else None


def _xml_value(shape: Shape, element: ElementTree.Element, depth: int) -> Any:
    if depth > 32:
        return None
    if shape.type_name == "structure":
        out: dict[str, Any] = {}
        members: dict[str, Shape] = getattr(shape, "members", {})
        for name, member in members.items():
            wire = member.serialization.get("name", name)
            children = [c for c in element if _local(c.tag) == wire]
            if not children:
                continue
            if member.type_name == "list" and member.serialization.get("flattened"):
                out[name] = [_xml_value(member.member, c, depth + 1) for c in children]
            else:
                out[name] = _xml_value(member, children[0], depth + 1)
        return out
    if shape.type_name == "list":
        item: Shape = shape.member
        item_wire = item.serialization.get("name", "member")
        return [_xml_value(item, c, depth + 1) for c in element if _local(c.tag) == item_wire]
    return _scalar(shape, element.text or "") if shape.type_name != "map" else None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def needs_body(operation: Operation) -> bool:
    """Whether the operation's input is read from its body (an XML document: DeleteObjects,
    PutBucketPolicy...), as opposed to a body that is data and streams through (PutObject, UploadPart)."""
    model = service_model(operation.service)
    if model is None or model.metadata.get("protocol") != "rest-xml":
        return True
    shape = model.operation_model(operation.name).input_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    if not payload:
        return False
    member = shape.members[payload]
    return member.type_name == "structure" or (member.type_name == "string" and not _is_streaming(member))


def _is_streaming(member: Shape) -> bool:
    return bool(member.serialization.get("eventstream") or member.metadata.get("streaming"))
