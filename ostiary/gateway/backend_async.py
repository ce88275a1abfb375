"""HTTP/1.1 to the backends from the event loop: what `backend_http` does for worker threads, for the
requests the gateway answers without leaving the loop (a hop to a thread and back costs more than the
rest of a small request).

Connections are kept alive and pooled per origin; an answer's body is read whole (`exchange`) or piece
by piece (`open`, then `pieces`), reading paused while a piece waits to be taken, so a slow client holds
the backend back instead of filling the memory. Framing as RFC 9112 says (`backend_http`'s rules).
A backend that sends nothing for `read_timeout` seconds fails the request (BackendError).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

from ostiary.gateway.backend_http import (
    MAX_HEAD_BYTES,
    BackendError,
    Origin,
    chunk_size,
    framing_of,
    keeps_alive,
    origin_of,
    parse_head,
)

_PAUSE_BYTES = 1024 * 1024  # buffered past this, reading pauses until the buffer is taken
_PIECE_BYTES = 256 * 1024


class _Connection(asyncio.Protocol):
    """One connection to a backend: what arrived, and a future to wait on for more."""

    def __init__(self, origin: Origin, loop: asyncio.AbstractEventLoop, read_timeout: float) -> None:
        self.origin = origin
        self.loop = loop
        self.read_timeout = read_timeout
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._arrived = 0.0  # when data last came

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._arrived = self.loop.time()
        if len(self.buffer) > _PAUSE_BYTES and not self._paused and self.transport is not None:
            self.transport.pause_reading()
            self._paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def more(self) -> None:
        """Wait until more data came (BackendError when the connection ends or falls silent)."""
        if self.closed:
            raise BackendError("the backend closed the connection mid-answer")
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        waiter = self._waiter = self.loop.create_future()
        timer = self.loop.call_at(self.loop.time() + self.read_timeout, self._silent, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _silent(self, waiter: asyncio.Future[None]) -> None:
        if waiter.done():
            return
        if self.loop.time() - self._arrived < self.read_timeout:  # data came meanwhile
            waiter.set_result(None)
            return
        waiter.set_exception(BackendError(f"the backend sent nothing for {self.read_timeout:g} s"))
        self.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class AsyncResponse:
    """A backend's answer whose head was read; the body is `read` whole or taken as `pieces`, then the
    connection goes back to the pool (or is closed when the body was not read to its end)."""

    def __init__(
        self,
        pool: AsyncBackend,
        conn: _Connection,
        status: int,
        headers: tuple[tuple[str, str], ...],
        framing: str,
        length: int,
    ) -> None:
        self.status = status
        self.headers = headers
        self._pool = pool
        self._conn: _Connection | None = conn
        self._framing = framing  # "length", "chunked" or "close"
        self._left = length
        self._done = framing == "length" and length == 0
        self._keep_alive = keeps_alive(framing, headers)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    async def read(self, limit: int | None = None) -> bytes:
        """The whole body (BackendError past `limit` bytes)."""
        conn = self._connection()
        if self._framing == "length":  # the usual answer: wait until it is all there, take it at once
            if limit is not None and self._left > limit:
                raise BackendError(f"the answer is longer than {limit} bytes")
            while len(conn.buffer) < self._left:
                await conn.more()
            data = bytes(conn.buffer[: self._left])
            del conn.buffer[: self._left]
            self._left, self._done = 0, True
            return data
        parts: list[bytes] = []
        total = 0
        async for piece in self.pieces():
            total += len(piece)
            if limit is not None and total > limit:
                raise BackendError(f"the answer is longer than {limit} bytes")
            parts.append(piece)
        return b"".join(parts)

    async def pieces(self, size: int = _PIECE_BYTES) -> AsyncIterator[bytes]:
        """The body as it arrives, at most `size` bytes a piece."""
        conn = self._connection()
        while not self._done:
            if self._framing == "chunked" and self._left == 0 and not await self._next_chunk(conn):
                return
            if not conn.buffer:
                if self._framing == "close" and conn.closed:
                    self._done = True
                    return
                await _more_or_end(conn, self._framing == "close")
                continue
            take = len(conn.buffer) if self._framing == "close" else min(self._left, len(conn.buffer))
            take = min(take, size)
            piece = bytes(conn.buffer[:take])
            del conn.buffer[:take]
            if self._framing != "close":
                self._left -= take
                if self._left == 0:
                    if self._framing == "chunked":
                        if await _exactly(conn, 2) != b"\r\n":
                            raise BackendError("a chunk without its CRLF")
                    else:
                        self._done = True
            yield piece

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._done and self._keep_alive and not conn.buffer and not conn.closed:
            self._pool.put_back(conn)
        else:
            conn.close()

    def _connection(self) -> _Connection:
        if self._conn is None:
            raise BackendError("the answer was released")
        return self._conn

    async def _next_chunk(self, conn: _Connection) -> bool:
        self._left = chunk_size(await _line(conn))
        if self._left:
            return True
        while await _line(conn):  # trailer fields, up to the empty line
            pass
        self._done = True
        return False


class AsyncBackend:
    """Connections to backends from the event loop, kept alive and pooled per origin."""

    def __init__(
        self, *, pool_size: int = 32, connect_timeout: float = 5.0, read_timeout: float = 60.0
    ) -> None:
        self._idle: dict[Origin, list[_Connection]] = {}
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._tls: ssl.SSLContext | None = None

    async def open(
        self, base_url: str, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> AsyncResponse:
        """Send a request whose body is in memory (`headers` frame it) and read the answer's head."""
        origin = origin_of(base_url)
        head = [f"{method} {target} HTTP/1.1\r\nhost: {origin.host_header}\r\n"]
        head.extend(f"{name}: {value}\r\n" for name, value in headers if name != "host")
        head.append("\r\n")
        data = "".join(head).encode("latin-1") + body
        conn = await self._take(origin)
        try:
            return await self._exchange(conn, data, method)
        except _Stale:
            conn.close()
            conn = await self._connect(origin)  # a kept-alive connection the backend had closed: once more
        except BaseException:
            conn.close()
            raise
        try:
            return await self._exchange(conn, data, method)
        except BaseException:
            conn.close()
            raise

    def put_back(self, conn: _Connection) -> None:
        conn.reused = True
        idle = self._idle.setdefault(conn.origin, [])
        if len(idle) < self._pool_size:
            idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        pools, self._idle = self._idle, {}
        for idle in pools.values():
            for conn in idle:
                conn.close()

    async def _take(self, origin: Origin) -> _Connection:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn.closed and not conn.buffer:
                return conn
            conn.close()
        return await self._connect(origin)

    async def _connect(self, origin: Origin) -> _Connection:
        loop = asyncio.get_running_loop()
        conn = _Connection(origin, loop, self._read_timeout)
        context: Any = None
        if origin.scheme == "https":
            context = self._tls = self._tls or ssl.create_default_context()
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: conn, origin.host, origin.port, ssl=context),
                self._connect_timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise BackendError(f"cannot connect to {origin.host}:{origin.port}: {exc}") from exc
        return conn

    async def _exchange(self, conn: _Connection, data: bytes, method: str) -> AsyncResponse:
        if conn.transport is None or conn.closed:
            raise _Stale() if conn.reused else BackendError("the connection to the backend closed")
        conn.transport.write(data)
        while True:
            status, headers = await _head(conn)
            if status >= 200 or status == 101:
                break  # 100 Continue and other interim answers are skipped
        return AsyncResponse(self, conn, status, headers, *framing_of(method, status, headers))


class _Stale(Exception):
    """A kept-alive connection turned out closed before any of the answer came."""


async def _head(conn: _Connection) -> tuple[int, tuple[tuple[str, str], ...]]:
    while True:
        end = conn.buffer.find(b"\r\n\r\n", 0, MAX_HEAD_BYTES + 4)
        if end >= 0:
            break
        if len(conn.buffer) > MAX_HEAD_BYTES:
            raise BackendError("the answer's head is too long")
        if conn.closed:
            if conn.reused and not conn.buffer:
                raise _Stale()
            raise BackendError("the backend closed the connection without an answer")
        await conn.more()
    head = bytes(conn.buffer[:end]).decode("latin-1")
    del conn.buffer[: end + 4]
    return parse_head(head)


async def _more_or_end(conn: _Connection, until_close: bool) -> None:
    if until_close and conn.closed:
        return
    await conn.more()


async def _line(conn: _Connection) -> bytes:
    while True:
        end = conn.buffer.find(b"\r\n")
        if end >= 0:
            line = bytes(conn.buffer[:end])
            del conn.buffer[: end + 2]
            return line
        if len(conn.buffer) > MAX_HEAD_BYTES:
            raise BackendError("a chunk line is too long")
        await conn.more()


async def _exactly(conn: _Connection, size: int) -> bytes:
    while len(conn.buffer) < size:
        await conn.more()
    data = bytes(conn.buffer[:size])
    del conn.buffer[:size]
    return data
