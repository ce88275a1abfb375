"""Forwarding against a real HTTP server on loopback: re-signed with the backend's credentials, the
client's signature dropped, the answer returned byte for byte (a gzip body stays gzip)."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ostiary.errors import SignatureDoesNotMatch
from ostiary.gateway.forwarding import BackendUnavailable, Forwarder
from ostiary.protocol import HttpRequest

_ANSWER = gzip.compress(b'{"TableNames": []}')


class _Backend(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["content-length"]))
        _Backend.seen.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
        self.send_response(200)
        self.send_header("content-type", "application/x-amz-json-1.0")
        self.send_header("content-encoding", "gzip")
        self.send_header("x-amzn-requestid", "backend-1")
        self.send_header("content-length", str(len(_ANSWER)))
        self.end_headers()
        self.wfile.write(_ANSWER)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _request() -> HttpRequest:
    return HttpRequest(
        method="POST",
        path="/",
        query_string="",
        headers=(
            ("host", "gateway.example:4566"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIACLIENT/20260101/us-east-1/dynamodb/aws4_request",
            ),
            ("x-amz-security-token", "client-session"),
            ("x-amz-target", "DynamoDB_20120810.ListTables"),
            ("content-type", "application/x-amz-json-1.0"),
            ("accept-encoding", "gzip"),
        ),
        body=b"{}",
    )


def test_a_request_is_re_signed_with_the_backends_keys_and_its_answer_kept_as_sent(backend: str) -> None:
    answer = Forwarder("BACKENDKEY", "backend-secret").forward(backend, _request(), "dynamodb", "eu-west-1")
    assert answer.status == 200 and answer.body == _ANSWER
    assert ("content-encoding", "gzip") in answer.headers and (
        "x-amzn-requestid",
        "backend-1",
    ) in answer.headers
    sent = _Backend.seen[-1]
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=BACKENDKEY/")
    assert "/eu-west-1/dynamodb/aws4_request" in headers["authorization"]
    assert "x-amz-security-token" not in headers and headers["host"] == backend.removeprefix("http://")
    assert headers["x-amz-target"] == "DynamoDB_20120810.ListTables" and sent["body"] == b"{}"


def test_a_backend_that_is_not_there_is_backend_unavailable() -> None:
    with pytest.raises(BackendUnavailable):
        Forwarder("k", "s", connect_timeout_seconds=1.0).forward(
            "http://127.0.0.1:9", _request(), "dynamodb", "us-east-1"
        )


@pytest.mark.parametrize(
    ("service", "method", "target", "extra"),
    [
        ("dynamodb", "POST", "/", [("x-amz-target", "DynamoDB_20120810.GetItem")]),
        (
            "s3",
            "GET",
            "/bucket/a%20key?versionId=3&response-content-type=text%2Fplain&acl",
            [("x-amz-meta-note", "  two   spaces  "), ("x-amz-meta-note", "again"), ("content-md5", "abc==")],
        ),
    ],
)
def test_the_backend_signature_verifies_as_sigv4_says(
    service: str, method: str, target: str, extra: list[tuple[str, str]]
) -> None:
    from datetime import UTC, datetime

    from ostiary.auth import sigv4
    from ostiary.gateway.forwarding import sign

    now = datetime(2026, 12, 5, 2, 30, 7, tzinfo=UTC)
    body_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    headers = [("content-type", "application/x-amz-json-1.0"), ("user-agent", "test"), *extra]
    out = sign(
        method,
        target,
        "backend:4566",
        headers,
        body_hash,
        "BACKENDKEY",
        "backend-secret",
        service,
        "eu-west-1",
        now,
    )
    assert ("x-amz-date", "20261205T023007Z") in out
    path, _, query = target.partition("?")
    received = HttpRequest(method, path, query, (("host", "backend:4566"), *out), b"")
    signed = sigv4.parse(received)
    assert signed is not None and signed.access_key_id == "BACKENDKEY"
    sigv4.verify(received, signed, "backend-secret", now, frozenset({service}))
    with pytest.raises(SignatureDoesNotMatch):
        sigv4.verify(received, signed, "another-secret", now, frozenset({service}))
    tampered = HttpRequest(method, path + "x", query, received.headers, b"")
    with pytest.raises(SignatureDoesNotMatch):
        sigv4.verify(tampered, signed, "backend-secret", now, frozenset({service}))
