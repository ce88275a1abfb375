"""Requests as botocore itself builds them: a real boto3 client whose `before-send` keeps the prepared
request and stops the call before anything is sent; and sample inputs for every operation of a model."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.model import OperationModel, Shape

from ostiary.protocol import HttpRequest

ENDPOINTS = {"path": "http://127.0.0.1:9000", "virtual": "http://localhost:9000"}
BUCKET = "amzn-bucket"
KEY = "dir/obj key+ü.txt"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"

# Member names with a value of their own kind (the rest get "v" or what their constraints ask).
_NAMED_VALUES: dict[str, Any] = {
    "Bucket": BUCKET,
    "Key": KEY,
    "TableName": "Music",
    "KeyId": KEY_ID,
    "CopySource": "src-bucket/src/key.txt",
    "RenameSource": "amzn-bucket/old-key.txt",
    "Prefix": "photos/",
    "Delimiter": "/",
}
# Members botocore rewrites before sending (computed digests, encoded keys): not sent as given.
REWRITTEN = frozenset(
    {
        "SSECustomerKey",
        "SSECustomerKeyMD5",
        "CopySourceSSECustomerKey",
        "CopySourceSSECustomerKeyMD5",
        "ContentMD5",
        "ChecksumAlgorithm",
        "ChecksumCRC32",
        "ChecksumCRC32C",
        "ChecksumCRC64NVME",
        "ChecksumSHA1",
        "ChecksumSHA256",
        "ChecksumType",
        "Expires",
        "RequestRoute",
    }
)


class Captured(Exception):
    """Raised from `before-send` once the request is kept: nothing reaches the network."""


@functools.lru_cache(maxsize=8)
def client(service: str, addressing: str = "path") -> Any:
    """A boto3 client of `service` whose requests are kept in `client.sent` and never sent."""
    made = boto3.client(
        service,
        endpoint_url=ENDPOINTS[addressing],
        region_name="us-east-1",
        aws_access_key_id="AKIAEXAMPLEEXAMPLE00",
        aws_secret_access_key="secret",
        config=Config(
            retries={"max_attempts": 1},
            s3={"addressing_style": addressing},
            request_checksum_calculation="when_required",
        ),
    )
    made.sent = []

    def keep(request: Any, **_: Any) -> None:
        made.sent.append(request)
        raise Captured

    made.meta.events.register("before-send", keep)
    return made


def built_request(
    service: str, operation: str, params: dict[str, Any], addressing: str = "path"
) -> HttpRequest:
    """The HTTP request botocore sends for one call, as the gateway receives it."""
    made = client(service, addressing)
    try:
        getattr(made, xform_name(operation))(**params)
    except Captured:
        pass
    sent = made.sent.pop()
    url = urlsplit(sent.url)
    headers = tuple(
        (k.lower(), v.decode() if isinstance(v, bytes) else str(v)) for k, v in sent.headers.items()
    )
    body = sent.body
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    return HttpRequest(
        method=sent.method,
        path=url.path or "/",
        query_string=url.query,
        headers=(("host", url.netloc), *headers),
        body=body or b"",
    )


def sample_input(op: OperationModel, *, with_located: bool = False) -> dict[str, Any]:
    """A valid input for `op`: its required members, and with `with_located` every URI, query and header
    member too (those an S3 request carries outside its body)."""
    shape = op.input_shape
    if shape is None:
        return {}
    out = {}
    for name, member in shape.members.items():
        located = member.serialization.get("location") in ("uri", "querystring", "header", "headers")
        optional = with_located and located and name not in REWRITTEN and member.type_name != "timestamp"
        if name in shape.required_members or optional:
            out[name] = _value(name, member, 0)
    return out


def _value(name: str, shape: Shape, depth: int) -> Any:
    kind = shape.type_name
    if name in _NAMED_VALUES and kind == "string":
        return _NAMED_VALUES[name]
    if kind == "structure":
        return _structure(shape, depth)
    if kind == "list":
        return [_value(name, shape.member, depth + 1) for _ in range(max(1, shape.metadata.get("min", 1)))]
    if kind == "map":
        return {"k": _value("v", shape.value, depth + 1)}
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        return "v" * max(1, shape.metadata.get("min", 1))
    if kind in ("integer", "long"):
        return max(1, int(shape.metadata.get("min", 1)))
    if kind in ("float", "double"):
        return 1.0
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return datetime(2026, 1, 1, tzinfo=UTC)
    if kind == "blob":
        return b"data" * max(1, shape.metadata.get("min", 1))
    return None


def _structure(shape: Shape, depth: int) -> dict[str, Any]:
    members = shape.members
    if shape.metadata.get("union") or shape.is_document_type:
        first = next(iter(members), None)
        return {first: _value(first, members[first], depth + 1)} if first else {}
    return {n: _value(n, m, depth + 1) for n, m in members.items() if n in shape.required_members}
