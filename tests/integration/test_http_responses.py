"""How answers leave the server over one kept-alive connection: HEAD, `Expect: 100-continue`,
pipelined requests, many requests in a row. (The server sends each answer in one write.)"""

from __future__ import annotations

import socket
from urllib.parse import urlencode, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import Server


def _signed(
    server: Server, body: str, *, method: str = "POST", expect: bool = False, close: bool = False
) -> tuple[bytes, bytes]:
    """A request signed as the root: (request line and headers, body)."""
    host = urlsplit(server.endpoint).netloc
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Host": host}
    if expect:
        headers["Expect"] = "100-continue"
    if close:
        headers["Connection"] = "close"
    req = AWSRequest(method, f"http://{host}/", data=body, headers=headers)
    SigV4Auth(Credentials(server.access_key_id, server.secret_access_key), "iam", "us-east-1").add_auth(req)
    lines = "".join(f"{k}: {v}\r\n" for k, v in req.headers.items())
    return f"{method} / HTTP/1.1\r\n{lines}Content-Length: {len(body)}\r\n\r\n".encode(), body.encode()


class _Connection:
    def __init__(self, server: Server) -> None:
        url = urlsplit(server.endpoint)
        self.sock = socket.create_connection((url.hostname, url.port), timeout=10)
        self.buffer = b""

    def head(self) -> tuple[int, dict[str, str]]:
        """The next answer's status and headers."""
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        return int(lines[0].split()[1]), headers

    def answer(self) -> tuple[int, bytes]:
        """The next answer's status and body."""
        status, headers = self.head()
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            self._read()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, body

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, "the server closed the connection"
        self.buffer += chunk


def _get_user(server: Server) -> bytes:
    head, body = _signed(server, urlencode({"Action": "GetUser", "Version": "2010-05-08"}))
    return head + body


def test_a_head_request_is_answered_without_a_body_and_the_connection_goes_on(server: Server) -> None:
    conn = _Connection(server)
    head, body = _signed(server, "", method="HEAD")
    conn.sock.sendall(head)
    status, headers = conn.head()
    assert status == 400 and int(headers["content-length"]) > 0  # the length of the body not sent
    conn.sock.sendall(_get_user(server))
    status, answer = conn.answer()
    assert status == 200 and b"<Arn>arn:aws:iam::" in answer


def test_expect_100_continue_is_answered_before_the_body_is_sent(server: Server) -> None:
    conn = _Connection(server)
    head, body = _signed(server, urlencode({"Action": "GetUser", "Version": "2010-05-08"}), expect=True)
    conn.sock.sendall(head)
    assert conn.head() == (100, {})
    conn.sock.sendall(body)
    status, answer = conn.answer()
    assert status == 200 and b"<GetUserResponse" in answer


def test_an_answer_before_the_server_closes_the_connection_arrives_whole(server: Server) -> None:
    conn = _Connection(server)
    conn.sock.sendall(b"".join(_signed(server, urlencode({"Action": "GetUser"}), close=True)))
    received = b""
    while chunk := conn.sock.recv(65536):
        received += chunk
    assert received.startswith(b"HTTP/1.1 200 OK\r\n") and received.endswith(b"</GetUserResponse>")


def test_pipelined_requests_are_answered_in_order(server: Server, unique: str) -> None:
    conn = _Connection(server)
    missing = _signed(server, urlencode({"Action": "GetUser", "UserName": f"none-{unique}"}))
    conn.sock.sendall(_get_user(server) + b"".join(missing) + _get_user(server))
    statuses = [conn.answer()[0] for _ in range(3)]
    assert statuses == [200, 404, 200]


def test_many_answers_in_a_row_arrive_whole(server: Server) -> None:
    conn = _Connection(server)
    request = _get_user(server)
    for _ in range(200):
        conn.sock.sendall(request)
        status, answer = conn.answer()
        assert status == 200 and answer.endswith(b"</GetUserResponse>")
    assert conn.buffer == b""
