"""S3's REST-XML routing, read from its botocore model: where a request points (its bucket and key,
path-style or in a virtual host, and the `x-amz-*` headers a presigned URL hoists into its query), and
which operation's request line it matches (the HTTP method, the request URI, the query sub-resources,
required query members and required headers), the most specific match winning; the matches are
remembered by what matching reads.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from botocore.model import OperationModel, ServiceModel, Shape

from ostiary.frozen import quick_init
from ostiary.protocol import HttpRequest

MAX_QUERY_FIELDS = 1000
MAX_KEY_BYTES = 1024
DEFAULT_VIRTUAL_HOSTS = ("localhost",)

# A bucket in a virtual host of AWS's own S3 endpoints: bucket.s3.amazonaws.com, bucket.s3.REGION..., ...
_AWS_VIRTUAL_HOST = re.compile(
    r"^(?P<bucket>.+)\.s3(?:-[a-z0-9-]+|\.dualstack\.[a-z0-9-]+|\.[a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$"
)
# Bucket names as S3 has ever accepted them (legacy us-east-1 names: capitals, `_`, up to 255)
_BUCKET = re.compile(r"[A-Za-z0-9._-]{1,255}")
_IP_HOST = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\])$")

# Operations that are the same request on the wire as another: the general one is meant.
_SAME_ON_THE_WIRE = frozenset({"ListDirectoryBuckets"})  # only on S3 Express zonal endpoints


@dataclass(frozen=True)
class _Route:
    """One operation's request line, as its model gives it."""

    operation: str
    method: str
    literal_path: str | None  # "/WriteGetObjectResponse": no bucket in the path
    has_bucket: bool
    has_key: bool
    query: tuple[tuple[str, str | None], ...]  # sub-resources: ("uploads", None), ("list-type", "2")
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    rank: tuple[int, int]  # specificity, then the general operation before its deprecated twin


@functools.lru_cache(maxsize=8)
def _routes(model: ServiceModel) -> tuple[_Route, ...]:
    return tuple(_route(model.operation_model(name)) for name in model.operation_names)


@functools.lru_cache(maxsize=8)
def _routes_by_shape(model: ServiceModel) -> dict[tuple[str, bool, bool], tuple[_Route, ...]]:
    """The routes a request can match, by its method and whether it names a bucket and a key (a route
    with a literal path, `/WriteGetObjectResponse`, is a candidate for every request of its method)."""
    grouped: dict[tuple[str, bool, bool], list[_Route]] = {}
    for route in _routes(model):
        for has_bucket in (False, True):
            for has_key in (False, True):
                fits = route.literal_path is not None or (route.has_bucket, route.has_key) == (
                    has_bucket,
                    has_key,
                )
                if fits:
                    grouped.setdefault((route.method, has_bucket, has_key), []).append(route)
    return {shape: tuple(routes) for shape, routes in grouped.items()}


def _route(op: OperationModel) -> _Route:
    path, _, query_text = op.http["requestUri"].partition("?")
    query = tuple(
        (name, value if sep else None)
        for name, sep, value in (item.partition("=") for item in query_text.split("&") if item)
        if name != "x-id"
    )
    shape = op.input_shape
    required = set(shape.required_members) if shape is not None else set()
    members = shape.members.items() if shape is not None else ()
    required_query = tuple(
        m.serialization.get("name", n) for n, m in members if n in required and location(m) == "querystring"
    )
    required_headers = tuple(
        m.serialization.get("name", n).lower()
        for n, m in members
        if n in required and location(m) == "header"
    )
    literal = None if "{" in path or path == "/" else path
    specificity = len(query) + len(required_query) + len(required_headers) + (literal is not None)
    is_general = not (op.deprecated or op.name in _SAME_ON_THE_WIRE)
    return _Route(
        operation=op.name,
        method=op.http["method"],
        literal_path=literal,
        has_bucket="{Bucket}" in path,
        has_key="{Key+}" in path,
        query=query,
        required_query=required_query,
        required_headers=required_headers,
        rank=(specificity, int(is_general)),
    )


def location(member: Shape) -> str | None:
    location: str | None = member.serialization.get("location")
    return location


@quick_init
@dataclass(frozen=True)
class Target:
    """Where an S3 request points: its bucket and key (decoded), its raw path and its query."""

    bucket: str | None
    key: str | None
    path: str
    is_virtual_host: bool
    query: dict[str, str]


@dataclass(frozen=True)
class _Candidates:
    """The routes of one request shape (method, bucket named, key named), and all that their matching
    reads of a request: the literal paths, the query names (with their values), the required headers."""

    routes: tuple[_Route, ...]
    literal_paths: frozenset[str]
    query_names: tuple[str, ...]
    header_names: tuple[str, ...]


@functools.lru_cache(maxsize=8)
def _candidates(model: ServiceModel) -> dict[tuple[str, bool, bool], _Candidates]:
    return {
        shape: _Candidates(
            routes,
            frozenset(r.literal_path for r in routes if r.literal_path is not None),
            tuple(
                sorted(
                    {name for r in routes for name, _ in r.query}
                    | {n for r in routes for n in r.required_query}
                )
            ),
            tuple(sorted({name for r in routes for name in r.required_headers})),
        )
        for shape, routes in _routes_by_shape(model).items()
    }


_MATCHED_KEPT = 4096
_matched: dict[tuple[Any, ...], _Route | None] = {}


def best_route(
    model: ServiceModel, shape: tuple[str, bool, bool], request: HttpRequest, target: Target
) -> _Route | None:
    """The most specific route a request matches, or None. Remembered by what matching reads (the
    shape, the path when a literal route has it, the values of the query names the routes name, which
    of their required headers are present): the same answer for every request that reads the same."""
    candidates = _candidates(model).get(shape)
    if candidates is None:
        return None
    query = target.query
    key = (
        id(model),
        shape,
        target.path if target.path in candidates.literal_paths else None,
        tuple(query.get(name) for name in candidates.query_names),
        tuple(request.header(name) is not None for name in candidates.header_names),
    )
    if key in _matched:
        return _matched[key]
    matches = [route for route in candidates.routes if _matches(route, request, target)]
    best = max(matches, key=lambda route: route.rank) if matches else None
    if len(_matched) >= _MATCHED_KEPT:
        _matched.clear()
    _matched[key] = best
    return best


def target(request: HttpRequest, virtual_hosts: tuple[str, ...]) -> Target | str:
    path = request.path
    if not path.startswith("/"):
        return "the path does not start with `/`"
    try:
        query = (
            dict(parse_qsl(request.query_string, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS))
            if request.query_string
            else {}
        )
        host_bucket = _virtual_bucket(request.header("host") or "", virtual_hosts)
        if host_bucket is not None:
            bucket, key = host_bucket, unquote(path[1:], errors="strict")
        else:
            first, _, rest = path[1:].partition("/")
            bucket, key = unquote(first, errors="strict"), unquote(rest, errors="strict")
    except (ValueError, UnicodeDecodeError):
        return "the path or query string is malformed"
    if bucket and not _BUCKET.fullmatch(bucket):
        return "the bucket name is malformed"
    if len(key.encode()) > MAX_KEY_BYTES:
        return f"the key is longer than {MAX_KEY_BYTES} bytes"
    return Target(bucket or None, key or None, path, host_bucket is not None, query)


# A presigned URL's own parameters: never a header the request sets.
SIGNATURE_PARAMS = frozenset(
    {
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-signedheaders",
        "x-amz-signature",
        "x-amz-security-token",
    }
)


def with_query_headers(request: HttpRequest, query: dict[str, str]) -> HttpRequest | str:
    """The request with the `x-amz-*` headers a presigned URL names in its query string (`x-amz-acl=`,
    as some SDKs hoist them), which S3 applies as if they were headers: what it is decided on is what
    the backend applies. A header the query names again with another value is refused."""
    if not query or "x-amz-" not in request.query_string.lower():
        return request
    hoisted: list[tuple[str, str]] = []
    for name, value in query.items():
        header = name.lower()
        if not header.startswith("x-amz-") or header in SIGNATURE_PARAMS:
            continue
        sent = request.header(header)
        if sent is None:
            hoisted.append((header, value))
        elif sent != value:
            return f"the header `{header[:64]}` is also in the query string, with another value"
    if not hoisted:
        return request
    return dataclasses.replace(request, headers=(*request.headers, *hoisted))


def virtual_bucket(
    request: HttpRequest, virtual_hosts: tuple[str, ...] = DEFAULT_VIRTUAL_HOSTS
) -> str | None:
    """The bucket a request's Host header names (a virtual-hosted request), as `identify` reads it, or
    None (path-style): the backend must be sent the bucket `identify` found, however the host spells it."""
    return _virtual_bucket(request.header("host") or "", virtual_hosts)


@functools.lru_cache(maxsize=1024)  # a server sees a few hosts (one a bucket with virtual hosts)
def _virtual_bucket(host: str, virtual_hosts: tuple[str, ...]) -> str | None:
    """The bucket a Host header names (`bucket.s3.amazonaws.com`, `bucket.localhost:9000`), or None."""
    name = host.strip().lower()
    if name.startswith("["):  # an IPv6 literal, maybe with a port
        return None
    name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
    if not name or _IP_HOST.match(name):
        return None
    found = _AWS_VIRTUAL_HOST.match(name)
    if found:
        return found["bucket"]
    for suffix in virtual_hosts:
        if name.endswith("." + suffix.lower()) and len(name) > len(suffix) + 1:
            return name[: -len(suffix) - 1]
    return None


def _matches(route: _Route, request: HttpRequest, target: Target) -> bool:
    if route.method != request.method:
        return False
    if route.literal_path is not None:  # an endpoint host prefix may look like a virtual host
        if target.path != route.literal_path:
            return False
    elif (target.bucket is not None) != route.has_bucket or (target.key is not None) != route.has_key:
        return False
    for name, value in route.query:
        if name not in target.query or (value is not None and target.query[name] != value):
            return False
    if any(name not in target.query for name in route.required_query):
        return False
    return all(request.header(name) is not None for name in route.required_headers)
