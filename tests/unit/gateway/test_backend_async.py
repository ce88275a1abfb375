"""The event loop's HTTP/1.1 client to backends: framing, keep-alive, a closed kept-alive connection,
a silent backend, garbled answers, and a large body taken piece by piece."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from ostiary.gateway.backend_async import AsyncBackend
from ostiary.gateway.backend_http import BackendError

Answerer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _serve(answer: Answerer) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def _request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + (await reader.readexactly(length) if length else b"")


def _run(answer: Answerer, scenario: Callable[[AsyncBackend, str], Awaitable[None]]) -> None:
    async def main() -> None:
        server, url = await _serve(answer)
        backend = AsyncBackend(read_timeout=0.5)
        try:
            await scenario(backend, url)
        finally:
            backend.close()
            server.close()

    asyncio.run(main())


def test_a_length_framed_answer_is_read_whole_and_the_connection_kept() -> None:
    connections = 0

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            try:
                request = await _request(reader)
            except asyncio.IncompleteReadError:
                return
            body = request.split(b"\r\n\r\n", 1)[1]
            head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Echo: yes\r\n\r\n" % len(body)
            writer.write(head + body)
            await writer.drain()

    async def scenario(backend: AsyncBackend, url: str) -> None:
        for text in (b"one", b"two", b""):
            response = await backend.open(url, "POST", "/", [("content-length", str(len(text)))], text)
            assert (response.status, response.header("x-echo"), await response.read()) == (200, "yes", text)
            response.release()

    _run(answer, scenario)
    assert connections == 1


def test_chunked_answers_with_trailers_and_close_delimited_answers() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _request(reader)
        if b"/chunked" in request:
            writer.write(
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
            )
        else:
            writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    async def scenario(backend: AsyncBackend, url: str) -> None:
        response = await backend.open(url, "GET", "/chunked", [], b"")
        assert await response.read() == b"hello world"
        response.release()
        response = await backend.open(url, "GET", "/close", [], b"")
        assert b"".join([piece async for piece in response.pieces()]) == b"until the end"
        response.release()

    _run(answer, scenario)


def test_head_and_204_answers_have_no_body() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                request = await _request(reader)
            except asyncio.IncompleteReadError:
                return
            if request.startswith(b"HEAD"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()

    async def scenario(backend: AsyncBackend, url: str) -> None:
        for method in ("HEAD", "DELETE", "HEAD"):
            response = await backend.open(url, method, "/o", [], b"")
            assert await response.read() == b""
            response.release()

    _run(answer, scenario)


def test_a_kept_alive_connection_the_backend_closed_is_replaced_once() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # one answer per connection, without saying so

    async def scenario(backend: AsyncBackend, url: str) -> None:
        for _ in range(3):
            response = await backend.open(url, "GET", "/", [], b"")
            assert await response.read() == b"ok"
            response.release()
            await asyncio.sleep(0.01)

    _run(answer, scenario)


def test_a_silent_backend_fails_the_request_after_the_read_timeout() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request(reader)
        await asyncio.sleep(5)

    async def scenario(backend: AsyncBackend, url: str) -> None:
        with pytest.raises(BackendError, match="sent nothing"):
            await backend.open(url, "GET", "/", [], b"")

    _run(answer, scenario)


@pytest.mark.parametrize(
    "garbled",
    [
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X: " + b"a" * 70_000 + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_a_garbled_answer_is_a_backend_error(garbled: bytes) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request(reader)
        writer.write(garbled)
        await writer.drain()
        writer.close()

    async def scenario(backend: AsyncBackend, url: str) -> None:
        with pytest.raises(BackendError):
            response = await backend.open(url, "GET", "/", [], b"")
            await response.read()

    _run(answer, scenario)


def test_a_large_body_comes_piece_by_piece_and_a_limit_refuses_it() -> None:
    size = 8 * 1024 * 1024
    piece = bytes(range(256)) * 4096

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await _request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
            for _ in range(size // len(piece)):
                writer.write(piece)
                await writer.drain()

    async def scenario(backend: AsyncBackend, url: str) -> None:
        response = await backend.open(url, "GET", "/big", [], b"")
        received = 0
        async for part in response.pieces():
            assert len(part) <= 256 * 1024
            received += len(part)
        assert received == size
        response.release()
        response = await backend.open(url, "GET", "/big", [], b"")
        with pytest.raises(BackendError, match="longer than"):
            await response.read(limit=1024)
        response.release()

    _run(answer, scenario)


def test_an_unreachable_backend_is_a_backend_error() -> None:
    async def scenario() -> None:
        backend = AsyncBackend(connect_timeout=1)
        with pytest.raises(BackendError, match="cannot connect"):
            await backend.open("http://127.0.0.1:9", "GET", "/", [], b"")

    asyncio.run(scenario())
