"""The ASGI side of a streamed request, for the worker thread that forwards it: the client's body piece
by piece as it arrives, and the answer sent back piece by piece, each handed across to the event loop.

Memory stays bounded both ways: uvicorn stops reading the socket while a piece waits to be taken, and a
piece of the answer is sent (and drained to the client) before the next one is read from the backend.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any

from ostiary.gateway.forwarding import Answer


class ClientGone(Exception):
    """The client closed its connection before its request or our answer was whole."""


class Bridge:
    """One request's ASGI `receive` and `send`, called from a worker thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, receive: Any, send: Any) -> None:
        self._loop = loop
        self._receive = receive
        self._send = send
        self.started = False  # whether the answer's status and headers are sent
        self.body_read = False  # whether the client's body has been read to its end
        self._preloaded: bytes | None = None
        self.held: Answer | None = None  # a whole answer for the event loop to send

    async def preload(self, limit: int) -> None:
        """Read the client's body now, on the event loop, when its declared length is at most `limit`
        (a small body then costs the worker thread no hop back to the loop)."""
        parts: list[bytes] = []
        while not self.body_read:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientGone("the client closed the connection")
            self.body_read = not message.get("more_body", False)
            parts.append(message.get("body", b""))
            if sum(len(p) for p in parts) > limit:
                break
        self._preloaded = b"".join(parts)

    def preloaded_whole(self) -> bytes | None:
        """The client's whole body when `preload` read all of it (it stays there for `body`), else None."""
        return (self._preloaded or b"") if self.body_read else None

    def body(self) -> Iterator[bytes]:
        """The client's body, piece by piece as it arrives (once)."""
        preloaded, self._preloaded = self._preloaded, None
        if preloaded:
            yield preloaded
        while not self.body_read:
            message = self._call(self._receive())
            if message["type"] == "http.disconnect":
                raise ClientGone("the client closed the connection")
            self.body_read = not message.get("more_body", False)
            piece = message.get("body", b"")
            if piece:
                yield piece

    def start(self, status: int, headers: Sequence[tuple[str, str]]) -> None:
        """Send the answer's status and headers (names in lower case)."""
        encoded = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        self._call(self._send({"type": "http.response.start", "status": status, "headers": encoded}))
        self.started = True

    def piece(self, data: bytes, *, more: bool = True) -> None:
        """Send a piece of the answer's body; `more=False` ends it."""
        self._call(self._send({"type": "http.response.body", "body": data, "more_body": more}))

    def whole(self, answer: Answer) -> None:
        """Hand over a whole answer held in memory: the event loop sends it once the worker thread is
        done (`send_held`), which costs the thread no hop back to the loop."""
        self.held = answer
        self.started = True

    async def send_held(self) -> None:
        """Send the whole answer `whole` handed over, if any (on the event loop)."""
        answer, self.held = self.held, None
        if answer is None:
            return
        headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers if k != "content-length"
        ]
        headers.append((b"content-length", str(len(answer.body)).encode()))
        await self._send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await self._send({"type": "http.response.body", "body": answer.body})

    def _call(self, coroutine: Any) -> Any:
        try:
            return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()
        except OSError as exc:  # uvicorn's send on a closed connection
            raise ClientGone(str(exc)) from exc
