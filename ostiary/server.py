"""Running the ASGI app under uvicorn: a clean exit on SIGTERM, and bounds on each request."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import os
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ostiary.protocol import HttpRequest

MAX_HEAD_BYTES = 64 * 1024  # request line and headers
MIN_BODY_BYTES_PER_SECOND = 64 * 1024  # each body byte adds 1/this seconds to the request's time
_DISCARD_BYTES = 1024 * 1024  # what a refused connection may still send while its refusal is read
_DISCARD_SECONDS = 2.0
_HARD_STOP_SECONDS = 3.0  # after the graceful shutdown's own timeout
_TOO_LARGE = b"Request header fields too large."
_REFUSAL = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TOO_LARGE), _TOO_LARGE)
)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the two bounds on a request that httptools lacks.

    httptools buffers a head however long it grows, and waits for a request however slowly it comes:
    one connection could fill the memory, a few thousand trickling ones the file descriptors. Here a
    head longer than MAX_HEAD_BYTES is refused with 431 and its connection closed (one still arriving
    is cut off once the reads after its first exceed the bound), and a connection whose request has
    not fully arrived `request_timeout` seconds after it began (or after the connection opened) is
    closed, plus a second for every MIN_BODY_BYTES_PER_SECOND bytes of its body that arrived (an upload
    of any size goes through at that average rate or faster; a trickle is still cut off). Between
    requests, uvicorn's keep-alive timeout applies.
    """

    def __init__(self, *args: Any, request_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_timeout = request_timeout
        self._arriving_since: float | None = None  # when the request now arriving began, if one is
        self._in_head = False  # whether that request's head is still arriving
        self._head_bytes = 0  # bytes of that head in the reads after the one it began in
        self._head_began = False  # whether a head began in the read being parsed
        self._read_bytes = 0  # the length of the read being parsed
        self._too_long = False
        self._discarded: int | None = None  # once refused: the bytes read and dropped since
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arriving_since, self._in_head = self.loop.time(), True
        self._timer = self.loop.call_later(self._request_timeout, self._check_time)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._discarded is not None:
            self._discarded += len(data)
            if self._discarded > _DISCARD_BYTES:
                self.transport.close()
            return
        self._read_bytes = len(data)
        self._head_began = False
        if not self._in_head and self._arriving_since is not None:  # a body arriving earns its time
            self._arriving_since += len(data) / MIN_BODY_BYTES_PER_SECOND
        super().data_received(data)
        if (
            not self._in_head
            or self._head_began
            or self._discarded is not None
            or self.transport.is_closing()
        ):
            return
        self._head_bytes += len(data)  # a read wholly inside a head still arriving
        if self._head_bytes > MAX_HEAD_BYTES:
            self._refuse()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arriving_since, self._in_head = self.loop.time(), True
        self._head_bytes = 0
        self._head_began = True

    def on_headers_complete(self) -> None:
        # The head is at most what came before this read and this read: measure it only when that
        # bound is over the limit (a raise here ends the parse; uvicorn then calls send_400_response).
        if (
            self._head_bytes + self._read_bytes > MAX_HEAD_BYTES
            and _head_size(self.url, self.headers) > MAX_HEAD_BYTES
        ):
            self._too_long = True
            raise ValueError("request head too long")
        self._in_head = False
        before = self.cycle
        super().on_headers_complete()
        if self.cycle is not before:  # no new cycle when the request asks to upgrade the connection
            self.cycle.transport = _OneWrite(self.transport, self.loop)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        self._arriving_since = None
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        if self._too_long:
            self._refuse()
        else:
            super().send_400_response(msg)

    def _refuse(self) -> None:
        """Answer 431 and close, gently: closing with the client's bytes unread would reset the
        connection and could destroy the answer before the client reads it, so the rest of what it
        sends is read and dropped (up to a bound, for a while) after our side is shut."""
        self.transport.write(_REFUSAL)
        self._discarded = 0
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_DISCARD_SECONDS, self.transport.close)

    def _check_time(self) -> None:
        """One timer a connection, not one a request: it looks again while the connection lives."""
        since, limit = self._arriving_since, self._request_timeout
        if since is not None and self.loop.time() - since >= limit:
            self.transport.close()
            return
        wait = limit if since is None else since + limit - self.loop.time()
        self._timer = self.loop.call_later(wait, self._check_time)


class _OneWrite:
    """The transport as a response's cycle sees it: what the cycle writes in one turn of the event loop
    leaves in one write, at the end of the turn.

    uvicorn writes a response's head and its body separately: two system calls and two TCP segments,
    and the client woken twice. Here they leave together (measured: 10 to 20% more single-client
    requests a second on uvicorn alone, and less CPU a request on both sides).
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._parts:
            self._loop.call_soon(self.flush)
        self._parts.append(data)

    def flush(self) -> None:
        parts, self._parts = self._parts, []
        if parts and not self._transport.is_closing():
            self._transport.write(b"".join(parts))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:  # whatever else a uvicorn version asks of its transport
        return getattr(self._transport, name)


def _head_size(url: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """The length of a request's line and headers, near enough (separators counted, not the method)."""
    return len(url) + 16 + sum(len(name) + len(value) + 4 for name, value in headers)


class GracefulServer(uvicorn.Server):
    """uvicorn's server, exiting with status 0 after a graceful shutdown on SIGTERM or SIGINT.

    uvicorn re-raises the captured signal once it has shut down; a clean stop is not a failure. The
    requests under way get `timeout_graceful_shutdown` seconds, then uvicorn cancels them; a request
    stuck where no cancellation reaches (a thread waiting on the database) cannot hold the process
    either: _HARD_STOP_SECONDS later it exits with status 1, saying so.
    """

    _hard_stop: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        grace = self.config.timeout_graceful_shutdown
        if self._hard_stop is None and grace is not None:
            self._hard_stop = threading.Timer(grace + _HARD_STOP_SECONDS, _hard_stop, args=(grace,))
            self._hard_stop.daemon = True
            self._hard_stop.start()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()  # private in uvicorn: the signals it would re-raise


def _hard_stop(grace: float) -> None:
    logging.getLogger("ostiary").error(
        "stopping now: requests still under way %.0f s after SIGTERM (--shutdown-timeout %.0f)",
        grace + _HARD_STOP_SECONDS,
        grace,
    )
    logging.shutdown()
    os._exit(1)


def run_workers(
    factory: str,
    workers: int,
    *,
    host: str,
    port: int,
    log_level: str,
    trusted_proxies: str | None = None,
    request_timeout: float = 30.0,
    log_format: str = "text",
    shutdown_timeout: int = 10,
) -> None:
    """Serve the app that `factory` (module:function) builds, in `workers` processes on one port."""
    uvicorn.run(
        factory,
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=shutdown_timeout,
        **_options(trusted_proxies, request_timeout, log_format),
    )


def run_server(
    app: Any,
    *,
    host: str,
    port: int,
    log_level: str,
    trusted_proxies: str | None = None,
    request_timeout: float = 30.0,
    log_format: str = "text",
    shutdown_timeout: int = 10,
) -> None:
    """Serve `app` until SIGTERM or SIGINT; in-flight requests finish first, within `shutdown_timeout`."""
    options = _options(trusted_proxies, request_timeout, log_format)
    options["timeout_graceful_shutdown"] = shutdown_timeout
    GracefulServer(uvicorn.Config(app, host=host, port=port, log_level=log_level, **options)).run()


def _options(trusted_proxies: str | None, request_timeout: float, log_format: str) -> dict[str, Any]:
    """uvicorn's options: no access log (the app logs what matters), no Server header (AWS sends none,
    and it would name our software); X-Forwarded-For and -Proto believed only from `trusted_proxies`;
    heads bounded by `HttpProtocol`; in JSON, uvicorn's own lines go through the app's log handler."""
    json_logs = {"log_config": None} if log_format == "json" else {}
    return json_logs | {
        "access_log": False,
        "lifespan": "on",
        "server_header": False,
        "proxy_headers": bool(trusted_proxies),
        "forwarded_allow_ips": trusted_proxies or None,
        "http": functools.partial(HttpProtocol, request_timeout=request_timeout),
    }


async def answer_lifespan(receive: Any, send: Any) -> None:
    """Answer ASGI's lifespan messages: nothing to start or stop beyond what the app was given, but
    what start-up made is set aside from the cyclic collector (`freeze_start_up`)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            freeze_start_up()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def freeze_start_up() -> None:
    """Collect once, then move every object left (the service models, the policy catalogs, the caches
    start-up filled) out of the cyclic collector's generations. They live as long as the process: a
    full collection walking them all is a pause of 50 to 140 ms in whichever request triggers it, every
    few seconds under load (measured; 2 to 6 ms after)."""
    gc.collect()
    gc.freeze()


def http_request(scope: dict[str, Any], body: bytes) -> HttpRequest:
    """An ASGI HTTP scope and its body as the request the protocol layer reads."""
    return HttpRequest(
        method=scope["method"],
        path=scope.get("raw_path", scope["path"].encode()).decode("latin-1"),
        query_string=scope.get("query_string", b"").decode("latin-1"),
        headers=tuple([(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]),
        body=body,
        client_ip=(scope.get("client") or ("127.0.0.1", 0))[0],
        is_secure=scope.get("scheme") == "https",
    )


async def read_body(receive: Any, limit: int) -> tuple[bytes, bool]:
    """The request's body up to `limit` bytes, and whether it was longer (the rest is read and dropped)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks), size > limit
