"""Forwarding: a request re-signed with the backend's credentials (botocore's SigV4Auth) and sent over a
pooled, kept-alive connection; the backend's answer comes back unchanged but for hop-by-hop headers.

`forward` sends a body held in memory and reads the whole answer (JSON services, small lookups);
`open_stream` sends a body as it arrives and hands back the answer unread, to be streamed (S3).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import urllib3
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ostiary.protocol import HttpRequest

# The client's signature and what the new one (or the connection) sets anew.
_NOT_FORWARDED = frozenset(
    {
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-content-sha256",
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


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, headers (lower-case names) and body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def answer_headers(response: urllib3.BaseHTTPResponse) -> tuple[tuple[str, str], ...]:
    """A backend answer's headers as the client gets them: names in lower case, hop-by-hop ones dropped."""
    return tuple((k.lower(), v) for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP)


class BackendUnavailable(Exception):
    """The backend did not answer: refused, reset or timed out."""


class _UnsignedPayloadAuth(S3SigV4Auth):  # type: ignore[misc]
    """S3's signer with `UNSIGNED-PAYLOAD`: a streamed body cannot be hashed before it is sent (and it was
    verified on its way in)."""

    def _should_sha256_sign_payload(self, request: AWSRequest) -> bool:
        return False


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
        self._credentials = Credentials(access_key_id, secret_access_key)
        self._pool = urllib3.PoolManager(
            num_pools=16,
            maxsize=pool_size,
            retries=False,
            timeout=urllib3.Timeout(connect=connect_timeout_seconds, read=read_timeout_seconds),
        )

    def forward(self, backend_url: str, request: HttpRequest, service: str, region: str) -> Answer:
        """The backend's answer to `request`, re-signed for `service` in `region`."""
        url = backend_url + request.path + (f"?{request.query_string}" if request.query_string else "")
        headers = {k: v for k, v in request.headers if k not in _NOT_FORWARDED}
        signed = AWSRequest(method=request.method, url=url, data=request.body, headers=headers)
        SigV4Auth(self._credentials, service, region).add_auth(signed)
        try:
            response = self._pool.request(
                request.method,
                url,
                body=request.body,
                headers=dict(signed.headers.items()),
                redirect=False,
                preload_content=True,
                decode_content=False,  # a gzip answer stays gzip, as its content-encoding says
            )
        except urllib3.exceptions.HTTPError as exc:
            raise BackendUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return Answer(response.status, answer_headers(response), response.data)

    def open_stream(
        self,
        backend_url: str,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | Iterable[bytes] | None,
        service: str,
        region: str,
    ) -> urllib3.BaseHTTPResponse:
        """Send a request whose body arrives piece by piece (`target`: the raw path and query); the answer
        is returned with its body unread (stream it, then `release_conn`).

        `headers` must hold the body's `content-length`. An exception raised by `body` stops the request
        before its body is complete: the connection is dropped, so the backend never gets a whole body.
        """
        url = backend_url + target
        kept = {k: v for k, v in headers if k not in _NOT_FORWARDED}
        signed = AWSRequest(method=method, url=url, data=b"", headers=kept)
        _UnsignedPayloadAuth(self._credentials, service, region).add_auth(signed)
        sent = dict(signed.headers.items())
        for name, value in headers:
            if name == "content-length":
                sent["Content-Length"] = value
        try:
            return self._pool.urlopen(
                method,
                url,
                body=body,
                headers=sent,
                redirect=False,
                retries=False,
                preload_content=False,
                decode_content=False,
                chunked=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise BackendUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.clear()
