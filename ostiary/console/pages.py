"""What every console page shares: the signed-in visit, forms with their CSRF check, templates, and
AWS errors shown as pages (AccessDenied with AWS's message, 403) instead of a blank one."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ostiary.auth.tokens import Session
from ostiary.console import session as cookies
from ostiary.console.calls import Principal, call_async
from ostiary.console.session import ConsoleSession
from ostiary.errors import AwsError

if TYPE_CHECKING:
    from ostiary.app import OstiaryApp

MAX_FORM_BYTES = 256 * 1024
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


class FormRefused(Exception):
    """A form that cannot be taken: too large, not a form, or without the session's CSRF token."""


@dataclass
class Visit:
    """One request of a signed-in person: who they act as, their session, and the form sent."""

    request: Request
    app: OstiaryApp
    session: ConsoleSession
    principal: Principal
    form: dict[str, str] = field(default_factory=dict)
    form_lists: dict[str, list[str]] = field(default_factory=dict)

    async def call(self, operation: str, service: str = "iam", **params: Any) -> dict[str, Any]:
        """The answer of an API call made as the person (None values left out)."""
        given = {k: v for k, v in params.items() if v is not None}
        return await call_async(self.app, self.principal, service, operation, given)

    def render(self, template: str, status: int = 200, /, **context: Any) -> HTMLResponse:
        return render(self.request, template, status, visit=self, **context)


def ostiary_app(request: Request) -> OstiaryApp:
    app: OstiaryApp = request.app.state.ostiary
    return app


def render(request: Request, template: str, status: int = 200, /, **context: Any) -> HTMLResponse:
    """A page from its template, with the security headers every page carries."""
    html = _TEMPLATES.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


async def read_form(request: Request) -> list[tuple[str, str]]:
    """The pairs of a urlencoded form; FormRefused for any other body, or one over 256 KiB."""
    if request.method != "POST":
        return []
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise FormRefused("the console takes urlencoded forms only")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormRefused("the form is too large")
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=1000)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormRefused("the form could not be read") from exc


def principal_of(request: Request, session: Session) -> Principal:
    """Who acts for one request: the session, and the browser's address and agent."""
    return Principal(
        session=session,
        source_ip=request.client.host if request.client else "127.0.0.1",
        user_agent=request.headers.get("user-agent", "")[:256],
        is_secure=request.url.scheme == "https",
    )


Handler = Callable[[Visit], Awaitable[Response]]


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A signed-in page: the session opened and not signed out of (else the sign-in page), a POST's
    CSRF token checked (else 403 and nothing done), and an AWS error shown as AWS's refusal."""

    @functools.wraps(handler)
    async def serve(request: Request) -> Response:
        app = ostiary_app(request)
        now = datetime.now(UTC)
        console = cookies.open_cookie(app.keyring, request.cookies.get(cookies.COOKIE), now)
        if console is None or await asyncio.to_thread(cookies.is_signed_out, app.db, console, now):
            return redirect("/console/signin")
        try:
            active = console.active(app.keyring, now)
        except AwsError:  # the role session expired: back to the principal's own
            console = console.switched(None, None, None)
            active = console.base(app.keyring, now)
        if console.must_change_password and request.url.path != "/console/password":
            return redirect("/console/password")
        visit = Visit(request, app, console, principal_of(request, active))
        try:
            pairs = await read_form(request)
        except FormRefused as exc:
            return render(request, "refused.html", 400, message=str(exc))
        if request.method == "POST":
            given = dict(pairs).get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
            if not cookies.same_token(console.csrf, given):
                return render(
                    request, "refused.html", 403, message="the form's CSRF token is missing or wrong"
                )
        visit.form = {k: v for k, v in pairs if k != CSRF_FIELD}
        for key, value in pairs:
            visit.form_lists.setdefault(key, []).append(value)
        try:
            return await handler(visit)
        except AwsError as exc:  # AccessDenied (IAM's) and AccessDeniedException (Access Analyzer's): 403
            return visit.render("denied.html" if exc.status == 403 else "error.html", exc.status, error=exc)

    return serve


def set_session(response: Response, request: Request, app: OstiaryApp, console: ConsoleSession) -> Response:
    """The session cookie on a response: HttpOnly, SameSite=Strict, Secure over TLS."""
    response.set_cookie(
        cookies.COOKIE,
        cookies.seal(app.keyring, console),
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response
