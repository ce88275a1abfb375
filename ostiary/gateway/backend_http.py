"""HTTP/1.1 to the backends: kept-alive connections in a pool, a request's body sent as it comes, an
answer's body read as it is asked for.

Small on purpose: the backend is one the operator named, and a request through the gateway should cost
microseconds here (urllib3 and http.client cost a few hundred a request). Framing as RFC 9112 says:
Content-Length or chunked bodies, none for HEAD, 1xx, 204 and 304, else until the connection closes.
"""

from __future__ import annotations

import functools
import select
import socket
import ssl
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ostiary import blocking

MAX_HEAD_BYTES = 64 * 1024
_READ_BYTES = 256 * 1024
NO_BODY = frozenset({204, 304})


class BackendError(Exception):
    """The backend could not be reached, or broke off or garbled its answer."""


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


@dataclass
class _Connection:
    origin: Origin
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)
    reused: bool = False


class BackendResponse:
    """A backend's answer: status and headers read, body left to `stream` or `read`; `release` gives the
    connection back to the pool when the body was read whole (else closes it)."""

    def __init__(
        self,
        pool: BackendHttp,
        conn: _Connection,
        status: int,
        headers: tuple[tuple[str, str], ...],
        framing: str,
        length: int,
    ) -> None:
        self.status = status
        self.headers = headers  # names in lower case, in the order sent
        self._pool = pool
        self._conn: _Connection | None = conn
        self._framing = framing  # "length", "chunked" or "close"
        self._left = length  # of a "length" body, or of the current chunk
        self._done = framing == "length" and length == 0
        self._keep_alive = keeps_alive(framing, headers)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def stream(self, size: int = _READ_BYTES) -> Iterator[bytes]:
        """The body, piece by piece (at most `size` bytes each), as it arrives."""
        while not self._done:
            piece = self._next(size)
            if piece:
                yield piece

    def read(self, limit: int | None = None) -> bytes:
        """The whole body (BackendError past `limit` bytes)."""
        parts: list[bytes] = []
        total = 0
        for piece in self.stream():
            total += len(piece)
            if limit is not None and total > limit:
                raise BackendError(f"the answer is longer than {limit} bytes")
            parts.append(piece)
        return b"".join(parts)

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._done and self._keep_alive and not conn.buffer:
            self._pool.put_back(conn)
        else:
            conn.sock.close()

    def _next(self, size: int) -> bytes:
        conn = self._conn
        if conn is None:
            raise BackendError("the answer was released")
        if self._framing == "close":
            data = _take(conn, size) or _recv(conn, size, allow_eof=True)
            self._done = not data
            return data
        if self._framing == "chunked" and self._left == 0 and not self._next_chunk(conn):
            return b""
        data = _take(conn, min(size, self._left)) or _recv(conn, min(size, self._left))
        self._left -= len(data)
        if self._left == 0:
            if self._framing == "chunked":
                if _exactly(conn, 2) != b"\r\n":
                    raise BackendError("a chunk without its CRLF")
            else:
                self._done = True
        return data

    def _next_chunk(self, conn: _Connection) -> bool:
        """Read a chunk's size line: True when a chunk with data follows, False at the last chunk."""
        self._left = chunk_size(_line(conn))
        if self._left:
            return True
        while _line(conn):  # trailer fields, up to the empty line
            pass
        self._done = True
        return False


class BackendHttp:
    """Connections to backends, kept alive and pooled per origin (at most `pool_size` idle each)."""

    def __init__(
        self, *, pool_size: int = 32, connect_timeout: float = 5.0, read_timeout: float = 60.0
    ) -> None:
        self._idle: dict[Origin, list[_Connection]] = {}
        self._lock = threading.Lock()
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._tls = ssl.create_default_context()

    def send(
        self,
        base_url: str,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | Iterable[bytes] | None,
    ) -> BackendResponse:
        """Send a request (`target`: path and query; `headers` must frame `body` with content-length) and
        read the answer's head. A body that is an iterable is sent as it yields; an exception it raises
        drops the connection before the body is complete. BackendError when the backend fails; WouldBlock
        on the event loop (`ostiary.blocking`)."""
        blocking.check()
        origin = origin_of(base_url)
        head = [f"{method} {target} HTTP/1.1\r\nhost: {origin.host_header}\r\n"]
        head.extend(f"{name}: {value}\r\n" for name, value in headers if name != "host")
        head.append("\r\n")
        encoded = "".join(head).encode("latin-1")
        replayable = body is None or isinstance(body, bytes)
        conn = self._take(origin)
        try:
            self._send(conn, encoded, body)
            return self._answer(conn, method)
        except _Stale:
            conn.sock.close()
            if not replayable:
                raise BackendError("the kept-alive connection was closed by the backend") from None
            conn = self._connect(origin)  # a closed kept-alive connection: once more on a new one
            try:
                self._send(conn, encoded, body)
                return self._answer(conn, method)
            except BaseException:
                conn.sock.close()
                raise
        except BaseException:
            conn.sock.close()
            raise

    def put_back(self, conn: _Connection) -> None:
        conn.reused = True
        with self._lock:
            idle = self._idle.setdefault(conn.origin, [])
            if len(idle) < self._pool_size:
                idle.append(conn)
                return
        conn.sock.close()

    def close(self) -> None:
        with self._lock:
            pools, self._idle = self._idle, {}
        for idle in pools.values():
            for conn in idle:
                conn.sock.close()

    def _take(self, origin: Origin) -> _Connection:
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                conn = idle.pop() if idle else None
            if conn is None:
                return self._connect(origin)
            if _still_open(conn.sock):
                return conn
            conn.sock.close()

    def _connect(self, origin: Origin) -> _Connection:
        try:
            sock = socket.create_connection((origin.host, origin.port), timeout=self._connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if origin.scheme == "https":
                sock = self._tls.wrap_socket(sock, server_hostname=origin.host)
            sock.settimeout(self._read_timeout)
        except OSError as exc:
            raise BackendError(f"cannot connect to {origin.host}:{origin.port}: {exc}") from exc
        return _Connection(origin, sock)

    def _send(self, conn: _Connection, head: bytes, body: bytes | Iterable[bytes] | None) -> None:
        try:
            if body is None or isinstance(body, bytes):
                conn.sock.sendall(head + (body or b""))
                return
            conn.sock.sendall(head)
            for piece in body:
                conn.sock.sendall(piece)
        except OSError as exc:
            if conn.reused:
                raise _Stale() from exc
            raise BackendError(f"sending to the backend failed: {exc}") from exc

    def _answer(self, conn: _Connection, method: str) -> BackendResponse:
        while True:
            status, headers = _head(conn)
            if status >= 200 or status == 101:
                break  # 100 Continue and other interim answers are skipped
        return BackendResponse(self, conn, status, headers, *framing_of(method, status, headers))


class _Stale(Exception):
    """A kept-alive connection turned out closed before any of the answer came."""


@functools.lru_cache(maxsize=256)
def origin_of(base_url: str) -> Origin:
    """Where a backend URL points (backends are few: each is parsed once)."""
    parts = urlsplit(base_url)
    scheme = parts.scheme or "http"
    return Origin(scheme, parts.hostname or "127.0.0.1", parts.port or (443 if scheme == "https" else 80))


def _still_open(sock: socket.socket) -> bool:
    """Whether an idle connection is still usable: not closed by the backend, nothing unasked waiting."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _head(conn: _Connection) -> tuple[int, tuple[tuple[str, str], ...]]:
    while True:
        end = conn.buffer.find(b"\r\n\r\n")
        if end >= 0:
            break
        if len(conn.buffer) > MAX_HEAD_BYTES:
            raise BackendError("the answer's head is too long")
        try:
            data = conn.sock.recv(_READ_BYTES)
        except OSError as exc:
            if conn.reused and not conn.buffer:
                raise _Stale() from exc
            raise BackendError(f"reading the backend's answer failed: {exc}") from exc
        if not data:
            if conn.reused and not conn.buffer:
                raise _Stale()
            raise BackendError("the backend closed the connection without an answer")
        conn.buffer += data
    head = bytes(conn.buffer[:end]).decode("latin-1")
    del conn.buffer[: end + 4]
    return parse_head(head)


def framing_of(method: str, status: int, headers: tuple[tuple[str, str], ...]) -> tuple[str, int]:
    """How an answer's body is framed, as RFC 9112 says: ("length", its length) (none for HEAD, 1xx,
    204 and 304), ("chunked", 0), or ("close", 0): until the connection closes."""
    if method == "HEAD" or status in NO_BODY or status < 200:
        return "length", 0
    if any(k == "transfer-encoding" for k, _ in headers):
        return "chunked", 0
    length = next((v for k, v in headers if k == "content-length"), None)
    if length is None:
        return "close", 0
    if not length.strip().isdigit():
        raise BackendError("a malformed content-length")
    return "length", int(length)


def keeps_alive(framing: str, headers: tuple[tuple[str, str], ...]) -> bool:
    """Whether the connection serves again once the answer is read: not when it ends the body, nor when
    the backend says `connection: close`."""
    return framing != "close" and all(not (k == "connection" and v.lower() == "close") for k, v in headers)


def chunk_size(line: bytes) -> int:
    """A chunk's size from its size line (extensions after `;` ignored); BackendError when malformed."""
    size_text = line.split(b";", 1)[0].strip()
    if not size_text or len(size_text) > 16:
        raise BackendError("a malformed chunk size")
    try:
        return int(size_text, 16)
    except ValueError:
        raise BackendError("a malformed chunk size") from None


def parse_head(head: str) -> tuple[int, tuple[tuple[str, str], ...]]:
    """An answer's status and headers (names in lower case) from its head, without the blank line."""
    status_line, _, rest = head.partition("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise BackendError("the backend's answer is not HTTP/1.1")
    headers = []
    for line in rest.split("\r\n") if rest else ():
        name, colon, value = line.partition(":")
        if not colon:
            raise BackendError("a malformed header in the backend's answer")
        headers.append((name.strip().lower(), value.strip()))
    return int(parts[1]), tuple(headers)


def _take(conn: _Connection, size: int) -> bytes:
    if not conn.buffer:
        return b""
    data = bytes(conn.buffer[:size])
    del conn.buffer[:size]
    return data


def _recv(conn: _Connection, size: int, *, allow_eof: bool = False) -> bytes:
    try:
        data = conn.sock.recv(size)
    except OSError as exc:
        raise BackendError(f"reading the backend's answer failed: {exc}") from exc
    if not data and not allow_eof:
        raise BackendError("the backend closed the connection mid-answer")
    return data


def _line(conn: _Connection) -> bytes:
    while True:
        end = conn.buffer.find(b"\r\n")
        if end >= 0:
            line = bytes(conn.buffer[:end])
            del conn.buffer[: end + 2]
            return line
        if len(conn.buffer) > MAX_HEAD_BYTES:
            raise BackendError("a chunk line is too long")
        data = _recv(conn, _READ_BYTES)
        conn.buffer += data


def _exactly(conn: _Connection, size: int) -> bytes:
    while len(conn.buffer) < size:
        conn.buffer += _recv(conn, _READ_BYTES)
    return _take(conn, size)
