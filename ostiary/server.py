"""Running the ASGI app under uvicorn, with a clean exit on SIGTERM."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import uvicorn


class GracefulServer(uvicorn.Server):
    """uvicorn's server, exiting with status 0 after a graceful shutdown on SIGTERM or SIGINT.

    uvicorn re-raises the captured signal once it has shut down; a clean stop is not a failure.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()  # private in uvicorn: the signals it would re-raise


def run_workers(
    factory: str, workers: int, *, host: str, port: int, log_level: str, trusted_proxies: str | None = None
) -> None:
    """Serve the app that `factory` (module:function) builds, in `workers` processes on one port."""
    uvicorn.run(
        factory,
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level=log_level,
        **_options(trusted_proxies),
    )


def run_server(app: Any, *, host: str, port: int, log_level: str, trusted_proxies: str | None = None) -> None:
    """Serve `app` until SIGTERM or SIGINT; in-flight requests finish first."""
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, **_options(trusted_proxies))
    GracefulServer(config).run()


def _options(trusted_proxies: str | None) -> dict[str, Any]:
    """uvicorn's options: no access log (the app logs what matters), no Server header (AWS sends none,
    and it would name our software); X-Forwarded-For and -Proto believed only from `trusted_proxies`."""
    return {
        "access_log": False,
        "lifespan": "on",
        "server_header": False,
        "proxy_headers": bool(trusted_proxies),
        "forwarded_allow_ips": trusted_proxies or None,
    }


async def answer_lifespan(receive: Any, send: Any) -> None:
    """Answer ASGI's lifespan messages: nothing to start or stop beyond what the app was given."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
