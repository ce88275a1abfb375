"""Work tried on the event loop: code that would wait for I/O (a database read, a call to a backend)
raises `WouldBlock` there instead, and the caller runs the whole work again on a thread.

The gateway decides a request on the event loop when everything it needs is cached (nearly always:
credentials, policies, owners and backend facts are kept for a while), which saves the hop to a worker
thread; a cache miss costs one retry on a thread. `WouldBlock` is a BaseException so that no `except
Exception` on the way mistakes it for a failure (and writes it down as one).
"""

from __future__ import annotations

from contextvars import ContextVar

_ON_LOOP: ContextVar[bool] = ContextVar("ostiary_on_loop", default=False)


class WouldBlock(BaseException):  # noqa: N818 - a signal, not an error
    """Raised by I/O attempted under `on_loop()`."""


class on_loop:  # noqa: N801 - used as a function: `with blocking.on_loop():`
    """Run the block with I/O refused (`WouldBlock`). (A class: a generator's context manager costs
    microseconds, twice on every gateway request.)"""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        self._token = _ON_LOOP.set(True)

    def __exit__(self, *exc: object) -> None:
        _ON_LOOP.reset(self._token)


def check() -> None:
    """Raise WouldBlock when I/O is refused here."""
    if _ON_LOOP.get():
        raise WouldBlock()
