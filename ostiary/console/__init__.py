"""The web console under `/console`: server-rendered pages (Jinja2, htmx) where everything a person
does is an API call as that person (`calls`), in a sealed session cookie (`session`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ostiary.app import OstiaryApp

PREFIX = "/console"
_apps: dict[int, Any] = {}


def takes(scope: dict[str, Any]) -> bool:
    """Whether a request is the console's: its path is `/console` or under it."""
    path: str = scope.get("path", "")
    if not (path == PREFIX or path.startswith(PREFIX + "/")):
        return False
    # a signed request is an SDK's (S3's object `console/...` in a path-style bucket): never the console's
    signed = any(name == b"authorization" for name, _ in scope.get("headers", []))
    return not signed and b"X-Amz-Credential" not in scope.get("query_string", b"")


async def serve(app: OstiaryApp, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer a console request with the console of `app` (built on first use)."""
    console = _apps.get(id(app))
    if console is None:
        from ostiary.console.routes import console_app

        console = _apps[id(app)] = console_app(app)
    await console(scope, receive, send)
