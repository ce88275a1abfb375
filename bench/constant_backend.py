"""A backend that costs next to nothing: what the gateway's benchmark and its streaming test forward to,
so that what they measure is the gateway's own cost.

It speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies) for what the gateway forwards:

- `PUT` (an S3 upload): the body is read and dropped; 200 with an ETag and the byte count in
  `x-constant-received`.
- `GET`/`HEAD` of `/BUCKET/size-N`: N bytes of a fixed pattern (streamed: any N in bounded memory);
  of any other path: 4 KiB.
- `POST` with `X-Amz-Target: DynamoDB_20120810.GetItem`: a constant item.

    python bench/constant_backend.py PORT
"""

from __future__ import annotations

import asyncio
import re
import sys

PATTERN = bytes(range(256)) * 4096  # 1 MiB
SMALL = PATTERN[:4096]
ITEM = b'{"Item":{"pk":{"S":"k"},"value":{"S":"' + b"v" * 200 + b'"}}}'
_SIZE = re.compile(rb"/size-(\d{1,13})(?:$|\?)")
_MAX_HEAD = 64 * 1024


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._to_drop = 0  # body bytes still to read and drop
        self._received = 0
        self._pending: tuple[bytes, bytes, bytes] | None = None  # the request whose body is arriving
        self._writable = asyncio.Event()
        self._writable.set()
        self._transport: asyncio.Transport | None = None
        self._busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport subclass

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def data_received(self, data: bytes) -> None:
        if self._to_drop:
            taken = min(self._to_drop, len(data))
            self._to_drop -= taken
            self._received += taken
            data = data[taken:]
            if self._to_drop == 0 and self._pending is not None:
                self._answer(*self._pending)
                self._pending = None
        if data:
            self._buffer += data
        self._parse()

    def _parse(self) -> None:
        while not self._to_drop and not self._busy:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > _MAX_HEAD and self._transport is not None:
                    self._transport.close()
                return
            head = bytes(self._buffer[:end])
            del self._buffer[: end + 4]
            line, _, header_text = head.partition(b"\r\n")
            method, target, _ = line.split(b" ", 2)
            headers = {}
            for row in header_text.split(b"\r\n"):
                name, _, value = row.partition(b":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get(b"content-length", b"0"))
            target_header = headers.get(b"x-amz-target", b"")
            in_buffer = min(length, len(self._buffer))
            del self._buffer[:in_buffer]
            self._received = in_buffer
            self._to_drop = length - in_buffer
            if self._to_drop:
                self._pending = (method, target, target_header)
                return
            self._answer(method, target, target_header)

    def _answer(self, method: bytes, target: bytes, amz_target: bytes) -> None:
        transport = self._transport
        if transport is None:
            return
        if method == b"PUT":
            transport.write(
                b'HTTP/1.1 200 OK\r\netag: "0"\r\nx-constant-received: %d\r\ncontent-length: 0\r\n\r\n'
                % self._received
            )
        elif method == b"POST" and amz_target.endswith(b".GetItem"):
            transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: %d\r\n\r\n%s"
                % (len(ITEM), ITEM)
            )
        else:
            found = _SIZE.search(target)
            size = int(found[1]) if found else len(SMALL)
            head = b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: %d\r\n\r\n"
            if method == b"HEAD" or size <= len(SMALL):
                transport.write(head % size + (b"" if method == b"HEAD" else SMALL[:size]))
            else:
                self._busy = True
                transport.write(head % size)
                asyncio.get_running_loop().create_task(self._stream(size))
        self._parse()

    async def _stream(self, size: int) -> None:
        transport = self._transport
        while size > 0 and transport is not None and not transport.is_closing():
            await self._writable.wait()
            piece = PATTERN if size >= len(PATTERN) else PATTERN[:size]
            transport.write(piece)
            size -= len(piece)
        self._busy = False
        self._parse()


async def serve(port: int) -> None:
    """Answer on 127.0.0.1:`port` until cancelled."""
    server = await asyncio.get_running_loop().create_server(_Connection, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(int(sys.argv[1])))
