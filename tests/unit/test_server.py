"""The transport a response's cycle writes to: one write a turn of the event loop."""

from __future__ import annotations

import asyncio
import gc

from ostiary.server import _OneWrite, answer_lifespan


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.peer = ("127.0.0.1", 1)

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> object:
        return self.peer if name == "peername" else None


def _turns(body: object) -> _Transport:
    """Run `body(writer)` on a fresh event loop, let two more turns pass; the transport underneath."""
    transport = _Transport()

    async def main() -> None:
        writer = _OneWrite(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
        await body(writer)  # type: ignore[operator]
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    asyncio.run(main())
    return transport


def test_what_is_written_in_one_turn_leaves_in_one_write() -> None:
    async def respond(writer: _OneWrite) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n")
        writer.write(b"<x/>")

    assert _turns(respond).writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n<x/>"]


def test_writes_of_later_turns_leave_in_order() -> None:
    async def respond(writer: _OneWrite) -> None:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n")
        writer.write(b"body")

    assert _turns(respond).writes == [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\nbody"]


def test_close_sends_what_is_pending_first() -> None:
    async def respond(writer: _OneWrite) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n")
        writer.close()

    transport = _turns(respond)
    assert transport.writes == [b"HTTP/1.1 200 OK\r\n\r\n"]
    assert transport.closed


def test_nothing_is_written_to_a_transport_closed_meanwhile() -> None:
    transport = _Transport()

    async def respond(writer: _OneWrite) -> None:
        writer.write(b"late")
        transport.close()  # the connection was lost before the turn ended

    async def main() -> None:
        await respond(_OneWrite(transport, asyncio.get_running_loop()))  # type: ignore[arg-type]
        await asyncio.sleep(0)

    asyncio.run(main())
    assert transport.writes == []


def test_everything_else_is_the_transport_s() -> None:
    async def look(writer: _OneWrite) -> None:
        assert writer.get_extra_info("peername") == ("127.0.0.1", 1)
        assert not writer.is_closing()

    _turns(look)


def test_start_up_is_set_aside_from_the_cyclic_collector() -> None:
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return messages.pop(0)

    async def send(message: dict[str, str]) -> None:
        sent.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            frozen.append(gc.get_freeze_count())

    frozen: list[int] = []
    gc.unfreeze()
    try:
        asyncio.run(answer_lifespan(receive, send))
    finally:
        gc.unfreeze()
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert frozen[0] > 0  # what existed at start-up is out of the generations a collection walks
