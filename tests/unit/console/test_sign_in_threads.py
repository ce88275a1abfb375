"""Sign-ins' password and key checks run on threads of their own, never on the event loop's default
pool that the API's slow calls use: a flood of sign-ins (argon2, slow by design) queues only itself."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from ostiary.console import sign_in

_seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="")


def test_a_check_runs_on_the_sign_in_threads_with_the_callers_context() -> None:
    async def main() -> tuple[str, str]:
        _seen.set("the request's")
        return await sign_in._checked(lambda: (threading.current_thread().name, _seen.get()))

    name, seen = asyncio.run(main())
    assert name.startswith("console-sign-in") and seen == "the request's"
