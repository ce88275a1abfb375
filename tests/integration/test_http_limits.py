"""Hostile connections: an endless request head is refused, a slow request is closed; requests go on."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, start_server, stop_server

_REQUEST_TIMEOUT = 1


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ostiary-limits")
    srv = start_server(
        data_dir, f"sqlite:///{data_dir / 'ostiary.db'}", "sqlite", "--request-timeout", str(_REQUEST_TIMEOUT)
    )
    yield srv
    stop_server(srv)


def _connect(server: Server) -> socket.socket:
    url = urlsplit(server.endpoint)
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _still_serving(server: Server) -> None:
    iam: Any = server.client("iam")
    assert iam.get_user()["User"]["Arn"] == f"arn:aws:iam::{server.account_id}:root"


def test_a_head_over_64_kib_is_refused_with_431_and_the_connection_closed(limited_server: Server) -> None:
    with _connect(limited_server) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert answer.endswith(b"Request header fields too large.")
    _still_serving(limited_server)


def test_a_complete_head_of_many_headers_over_the_bound_is_refused(limited_server: Server) -> None:
    headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 60) for i in range(1200))  # about 80 KiB
    with _connect(limited_server) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n" + headers + b"Content-Length: 0\r\n\r\n")
        assert _read_all(sock).startswith(b"HTTP/1.1 431 ")


def test_a_head_under_the_bound_is_served(limited_server: Server) -> None:
    iam: Any = limited_server.client("iam")

    def _add_header(request: Any, **_: Any) -> None:
        request.headers["X-Padding"] = "p" * 60_000

    iam.meta.events.register("before-send.iam.GetUser", _add_header)
    assert iam.get_user()["User"]["Arn"] == f"arn:aws:iam::{limited_server.account_id}:root"


def _rss_mib(server: Server) -> float:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def test_an_endless_header_is_cut_off_not_buffered(limited_server: Server) -> None:
    """64 MiB of one header: the server closes the connection long before, and holds none of it."""
    before = _rss_mib(limited_server)
    sent = 0
    with _connect(limited_server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        with pytest.raises(OSError):  # broken pipe or reset, once the server has closed
            for _ in range(64 * 16):
                sock.sendall(b"b" * 65536)
                sent += 65536
    assert sent < 32 * 1024 * 1024  # what the kernels' socket buffers took, at most
    assert _rss_mib(limited_server) - before < 16
    _still_serving(limited_server)


def test_a_head_that_stops_arriving_is_closed_after_the_request_timeout(limited_server: Server) -> None:
    with _connect(limited_server) as sock:
        started = time.monotonic()
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        assert _read_all(sock) == b""
        assert (
            _REQUEST_TIMEOUT - 0.1 <= time.monotonic() - started < _REQUEST_TIMEOUT + 5
        )  # timers may fire a hair early
    _still_serving(limited_server)


def test_a_connection_that_never_sends_is_closed_after_the_request_timeout(limited_server: Server) -> None:
    with _connect(limited_server) as sock:
        started = time.monotonic()
        assert _read_all(sock) == b""
        assert time.monotonic() - started < _REQUEST_TIMEOUT + 5


def test_a_body_that_stops_arriving_is_closed_after_the_request_timeout(limited_server: Server) -> None:
    with _connect(limited_server) as sock:
        started = time.monotonic()
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nAction=")  # 993 to come
        assert _read_all(sock) == b""
        assert (
            _REQUEST_TIMEOUT - 0.1 <= time.monotonic() - started < _REQUEST_TIMEOUT + 5
        )  # timers may fire a hair early
    _still_serving(limited_server)


def test_a_large_body_is_the_apps_to_judge_not_a_long_head(limited_server: Server, unique: str) -> None:
    """A 600 KB policy document arrives in the same reads as its head: AWS's error, not a 431."""
    iam: Any = limited_server.client("iam")
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::bucket/" + "k" * 600_000,
    }
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    with pytest.raises(ClientError) as exc:
        iam.create_policy(PolicyName=f"big-{unique}", PolicyDocument=document)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] != 431
    assert exc.value.response["Error"]["Code"] in (
        "LimitExceeded",
        "ValidationError",
        "MalformedPolicyDocument",
    )


def test_requests_on_a_kept_alive_connection_are_not_timed_between_requests(limited_server: Server) -> None:
    """A connection idle between two requests (within uvicorn's keep-alive time) is no slow request."""
    iam: Any = limited_server.client("iam")
    iam.get_user()
    time.sleep(_REQUEST_TIMEOUT + 0.5)
    iam.get_user()  # on the same pooled connection, unless the server closed it (then a new one)


def test_a_body_arriving_steadily_may_take_longer_than_the_request_timeout(limited_server: Server) -> None:
    """Each 64 KiB of body earns a second: an upload at a sane rate is not cut off, however long."""
    size = 4 * 128 * 1024
    with _connect(limited_server) as sock:
        started = time.monotonic()
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % size)
        for _ in range(4):
            sock.sendall(b"a" * (128 * 1024))
            time.sleep(_REQUEST_TIMEOUT * 0.75)
        answer = _read_all(sock)
    assert time.monotonic() - started > _REQUEST_TIMEOUT * 2
    assert answer.startswith(b"HTTP/1.1 ")  # answered (a refusal of the body's content), not cut off


def test_a_trickling_body_is_still_closed(limited_server: Server) -> None:
    with _connect(limited_server) as sock:
        started = time.monotonic()
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        closed = False
        for _ in range(int(_REQUEST_TIMEOUT * 10) + 20):
            try:
                sock.sendall(b"a")
            except OSError:
                closed = True
                break
            time.sleep(0.1)
            sock.setblocking(False)
            try:
                closed = sock.recv(1) == b""
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
            if closed:
                break
    assert closed
    assert time.monotonic() - started < _REQUEST_TIMEOUT + 2
