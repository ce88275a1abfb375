"""Forwarding: a request re-signed with the backend's credentials and sent over a pooled, kept-alive
connection (`backend_http.py`); the backend's answer comes back unchanged but for hop-by-hop headers.

`forward` sends a body held in memory and reads the whole answer (JSON services, small lookups);
`send_signed` sends a body as it arrives and hands back the answer unread, to be streamed (S3); the
event loop's requests go out through `backend_async` with what `outgoing` and `signed_for_stream` make.
Requests to `/` and S3's are signed here (SigV4, in a few microseconds); any other path with botocore's
signer, whose canonical path rules for each service it knows.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, quote, unquote, urlencode

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ostiary.auth.keyed_hmac import hmac_sha256
from ostiary.auth.sigv4 import payload_sha256
from ostiary.frozen import quick_init
from ostiary.gateway.backend_async import AsyncResponse
from ostiary.gateway.backend_http import BackendError, BackendHttp, BackendResponse
from ostiary.gateway.operations import Operation
from ostiary.gateway.s3_routes import virtual_bucket
from ostiary.protocol import HttpRequest
from ostiary.protocol.query import AUTH_PARAMS

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# The client's signature and what the new one (or the connection) sets anew.
_NOT_FORWARDED = frozenset(
    {
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-content-sha256",
        "x-amz-region-set",  # SigV4a's: the forwarder signs with SigV4
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "upgrade",
        "expect",
        "proxy-authorization",
        "proxy-connection",
    }
)
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authenticate"}
)
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-_.~/]*")  # what `quote(unquote(path), safe="/~")` leaves as it is
_SIGNED_TOO = frozenset({"content-type", "content-md5"})  # signed beside host and every x-amz-* header


@quick_init
@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, headers (lower-case names) and body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def answer_headers(response: BackendResponse | AsyncResponse) -> tuple[tuple[str, str], ...]:
    """A backend answer's headers as the client gets them: hop-by-hop ones dropped."""
    return tuple((k, v) for k, v in response.headers if k not in _HOP_BY_HOP)


@quick_init
@dataclass(frozen=True)
class Outgoing:
    """A request as sent to a backend: signed with the backend's credentials."""

    backend_url: str
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes


class BackendUnavailable(Exception):
    """The backend did not answer: refused, reset or timed out."""


class Forwarder:
    """Sends requests to backends, signed with one set of backend credentials, over pooled connections."""

    def __init__(
        self,
        access_key_id: str,
        secret_access_key: str,
        *,
        pool_size: int = 32,
        connect_timeout_seconds: float = 5.0,
        read_timeout_seconds: float = 60.0,
    ) -> None:
        self._access_key_id = access_key_id
        self._secret = secret_access_key
        self._http = BackendHttp(
            pool_size=pool_size, connect_timeout=connect_timeout_seconds, read_timeout=read_timeout_seconds
        )

    def forward(self, backend_url: str, request: HttpRequest, service: str, region: str) -> Answer:
        """The backend's whole answer to `request`, re-signed for `service` in `region`."""
        return self.send(self.outgoing(backend_url, request, service, region))

    def send(self, out: Outgoing) -> Answer:
        """The backend's whole answer to a request `outgoing` made."""
        try:
            response = self._http.send(out.backend_url, out.method, out.target, out.headers, out.body)
        except BackendError as exc:
            raise BackendUnavailable(str(exc)) from exc
        try:
            body = response.read()
        except BackendError as exc:
            raise BackendUnavailable(str(exc)) from exc
        finally:
            response.release()
        return Answer(response.status, answer_headers(response), body)

    def outgoing(self, backend_url: str, request: HttpRequest, service: str, region: str) -> Outgoing:
        """`request` as the backend gets it: re-signed for `service` in `region`, its body held whole."""
        target = request.path + (f"?{request.query_string}" if request.query_string else "")
        headers = forwarded_headers(request.headers)
        headers.append(("content-length", str(len(request.body))))
        payload_hash = payload_sha256(request.body)
        signed = self._signed(backend_url, request.method, target, headers, service, region, payload_hash)
        return Outgoing(backend_url, request.method, target, signed, request.body)

    def backend_path(self, target: str, service: str) -> str:
        """The raw path and query as the backend gets them: S3's path as botocore encodes it, so every S3
        backend reads one canonical form."""
        if service != "s3":
            return target
        path, mark, query = target.partition("?")
        if _PLAIN_PATH.fullmatch(path):  # nothing to decode nor to encode
            return target
        return quote(unquote(path), safe="/~") + mark + query

    def signed_for_stream(
        self, backend_url: str, method: str, target: str, headers: Sequence[tuple[str, str]], region: str
    ) -> list[tuple[str, str]]:
        """The headers of an S3 request whose body arrives piece by piece (`UNSIGNED-PAYLOAD`), signed
        for the backend; `headers` must hold the body's `content-length`."""
        kept = forwarded_headers(headers)
        length = next((v for k, v in headers if k == "content-length"), None)
        if length is not None:
            kept.append(("content-length", length))
        return self._signed(backend_url, method, target, kept, "s3", region, UNSIGNED_PAYLOAD)

    def send_signed(
        self,
        backend_url: str,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | Iterable[bytes] | None,
    ) -> BackendResponse:
        """Send a signed request; the answer is returned with its body unread (`stream` it, then
        `release`). An exception raised by `body` stops the request before its body is complete: the
        connection is dropped, so the backend never gets a whole body."""
        try:
            return self._http.send(backend_url, method, target, headers, body)
        except BackendError as exc:
            raise BackendUnavailable(str(exc)) from exc

    def _signed(
        self,
        backend_url: str,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        service: str,
        region: str,
        payload_hash: str,
    ) -> list[tuple[str, str]]:
        """`headers` with the backend credentials' SigV4 signature."""
        path = target.partition("?")[0]
        if service == "s3" or path in ("", "/"):
            return sign(
                method,
                target,
                _host(backend_url),
                headers,
                payload_hash,
                self._access_key_id,
                self._secret,
                service,
                region,
            )
        return self._botocore_signed(backend_url, method, target, headers, payload_hash, service, region)

    def _botocore_signed(
        self,
        backend_url: str,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        payload_hash: str,
        service: str,
        region: str,
    ) -> list[tuple[str, str]]:
        request = AWSRequest(method=method, url=backend_url + target, data=b"", headers=dict(headers))
        request.headers["X-Amz-Content-SHA256"] = payload_hash
        request.context["payload_signing_enabled"] = False

        class _Declared(SigV4Auth):  # type: ignore[misc]  # botocore is untyped
            def payload(self, request: AWSRequest) -> str:
                return payload_hash

        _Declared(Credentials(self._access_key_id, self._secret), service, region).add_auth(request)
        return [(k.lower(), v) for k, v in request.headers.items() if k.lower() != "host"]

    def close(self) -> None:
        """Close every pooled connection."""
        self._http.close()


def forwarded_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The client's headers a backend gets: not the signature's nor the connection's, and a repeated
    header once, its first (the one the gateway read: two `X-Amz-Target`s must not name one operation
    to the decision and another to the backend, which may join them or read the last)."""
    seen: set[str] = set()
    kept = []
    for name, value in headers:
        if name not in _NOT_FORWARDED and name not in seen:
            seen.add(name)
            kept.append((name, value))
    return kept


def sign(
    method: str,
    target: str,
    host: str,
    headers: list[tuple[str, str]],
    payload_hash: str,
    access_key_id: str,
    secret: str,
    service: str,
    region: str,
    now: datetime | None = None,
) -> list[tuple[str, str]]:
    """`headers` with SigV4's added (x-amz-date, x-amz-content-sha256, authorization), for a request whose
    path is canonical as it is (S3's, or `/`): host, every x-amz-* header, content-type and content-md5
    are signed."""
    stamp = _stamp(time.time() if now is None else now.timestamp())
    out = [*headers, ("x-amz-date", stamp), ("x-amz-content-sha256", payload_hash)]
    values: dict[str, str] = {"host": host}
    for name, value in out:
        if name.startswith("x-amz-") or name in _SIGNED_TOO:
            value = " ".join(value.split())
            values[name] = f"{values[name]},{value}" if name in values else value
    names = sorted(values)
    signed_names = ";".join(names)
    path, _, query = target.partition("?")
    canonical = (
        f"{method}\n{path or '/'}\n{_canonical_query(query)}\n"
        + "".join([f"{name}:{values[name]}\n" for name in names])
        + f"\n{signed_names}\n{payload_hash}"
    )
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac_sha256(_key(secret, stamp[:8], region, service), to_sign.encode()).hex()
    out.append(
        (
            "authorization",
            f"AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, SignedHeaders={signed_names}, "
            f"Signature={signature}",
        )
    )
    return out


_last_stamp: tuple[int, str] = (0, "")


def _stamp(moment: float) -> str:
    """SigV4's date (`20261204T160000Z`) of a time in seconds since the epoch, formatted once a second
    (strftime costs microseconds)."""
    global _last_stamp
    second = int(moment)
    last = _last_stamp
    if last[0] != second:
        last = _last_stamp = (second, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second)))
    return last[1]


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = sorted(
        (quote(name, safe="-_.~"), quote(value, safe="-_.~"))
        for name, value in parse_qsl(query, keep_blank_values=True)
    )
    return "&".join(f"{name}={value}" for name, value in pairs)


@functools.lru_cache(maxsize=64)
def _key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


def _host(backend_url: str) -> str:
    return backend_url.split("://", 1)[-1].split("/", 1)[0]


def backend_target(head: HttpRequest, operation: Operation) -> str:
    """The path and query the backend gets: path-style (a virtual-host bucket moves into the path, as
    `identify` read it from the host however the host spells it), without a presigned URL's signature,
    and each query parameter once, with the value the decision read."""
    path = head.path
    bucket = operation.params.get("Bucket")
    if isinstance(bucket, str) and bucket and virtual_bucket(head) == bucket:
        path = f"/{quote(bucket, safe='')}{path}"
    query = head.query_string
    if query and ("X-Amz-" in query or ("&" in query and _repeats_a_name(query))):
        kept = dict(parse_qsl(query, keep_blank_values=True))  # a repeated one: the last, as `identify` reads
        query = urlencode([(k, v) for k, v in kept.items() if k not in AUTH_PARAMS], quote_via=quote)
    return path + (f"?{query}" if query else "")


def _repeats_a_name(query: str) -> bool:
    """Whether a query string names a parameter twice (however it is encoded: decoded only then)."""
    names = [pair.partition("=")[0] for pair in query.split("&") if pair]
    if len(set(names)) != len(names):
        return True
    if "%" not in query and "+" not in query:
        return False
    decoded = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
    return len(decoded) != len(names)
