"""Sign-in, the MFA step, the forced password change and sign-out.

An IAM user signs in as AWS's console asks: account ID or alias, IAM user name, password, then the MFA
code on a second page when the user has a device (`ostiary.signin` checks and throttles both). The
root user has no password in Ostiary: it signs in with one of its access keys (ID and secret), the
credential `ostiary root-credentials` hands out, throttled as a password is.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hmac
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from ostiary import signin
from ostiary.auth import tokens
from ostiary.auth.tokens import Session
from ostiary.console import login_event, pages, pauses
from ostiary.console import session as cookies
from ostiary.errors import AccessDenied, AwsError, Throttling
from ostiary.services import throttle
from ostiary.signin import CONSOLE_SESSION_SECONDS, MfaRequired, SignInRefused
from ostiary.store import access_keys, accounts, users

if TYPE_CHECKING:
    from ostiary.app import OstiaryApp

_ACCOUNT_FIELD_MAX = 64
# Password and key checks (argon2: slow and memory-hard by design) run on threads of their own, two at
# once: anyone may send sign-ins, and a flood of them then waits here, never on the threads the API's
# slow calls (paged reads, federated sign-ins) are served on.
_CHECKS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="console-sign-in")
_T = TypeVar("_T")
# Names (and roots) this process saw paused: refused at once, never queued behind the checks above.
_PAUSES = pauses.Pauses()
_MAX_PASSWORD = 128
_INCORRECT = "Your authentication information is incorrect. Please try again."


async def sign_in_page(request: Request) -> Response:
    """GET: the form; POST: check the password (and go to the MFA step when the user has a device)."""
    app = pages.ostiary_app(request)
    if request.method == "GET":
        return _form(request, "signin.html", account=request.query_params.get("account", ""))
    form = await _checked_form(request)
    if form is None:
        return _form(request, "signin.html", 403, error="The form's CSRF token is missing or wrong.")
    account_text, user_name = form.get("account", "").strip(), form.get("username", "").strip()
    account = _account_of(request, account_text)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        credentials = await _unless_paused(
            throttle.password_subjects(None, account, user_name)[0],
            now,
            signin.sign_in,
            app.db,
            app.keyring,
            account,
            user_name,
            _bounded(form.get("password", "")),
        )
    except MfaRequired:
        response = pages.redirect("/console/signin/mfa")
        pending = cookies.seal_pending(app.keyring, account, user_name, now)
        response.set_cookie(
            cookies.PENDING_COOKIE,
            pending,
            max_age=cookies.PENDING_SECONDS,
            path="/console/signin",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response
    except SignInRefused as exc:
        _record_failure(request, account, user_name, now)
        return _form(request, "signin.html", 401, error=str(exc), account=account_text, username=user_name)
    return _signed_in(request, credentials, now)


async def mfa_page(request: Request) -> Response:
    """The second step: the MFA code of a user whose password was right a moment ago."""
    app = pages.ostiary_app(request)
    now = datetime.now(UTC).replace(microsecond=0)
    pending = cookies.open_pending(app.keyring, request.cookies.get(cookies.PENDING_COOKIE), now)
    if pending is None:
        return pages.redirect("/console/signin")
    if request.method == "GET":
        return _form(request, "mfa.html")
    form = await _checked_form(request)
    if form is None:
        return _form(request, "mfa.html", 403, error="The form's CSRF token is missing or wrong.")
    account, user_name = pending
    code = form.get("mfacode", "").strip()
    try:
        credentials = await _checked(signin.sign_in_with_mfa, app.db, app.keyring, account, user_name, code)
    except SignInRefused as exc:
        _record_failure(request, account, user_name, now, is_mfa=True)
        return _form(request, "mfa.html", 401, error=str(exc))
    response = _signed_in(request, credentials, now)
    response.delete_cookie(cookies.PENDING_COOKIE, path="/console/signin")
    return response


async def root_sign_in_page(request: Request) -> Response:
    """The root user's sign-in: the account and one of its root access keys."""
    app = pages.ostiary_app(request)
    if request.method == "GET":
        return _form(request, "signin_root.html", account=request.query_params.get("account", ""))
    form = await _checked_form(request)
    if form is None:
        return _form(request, "signin_root.html", 403, error="The form's CSRF token is missing or wrong.")
    account_text = form.get("account", "").strip()
    account = _account_of(request, account_text)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        token = await _unless_paused(
            throttle.root_sign_in_subjects(account)[0],
            now,
            _root_token,
            app,
            account,
            form.get("accesskeyid", "").strip(),
            form.get("secretkey", ""),
            now,
        )
    except SignInRefused as exc:
        _record_failure(request, account, "root", now, is_root=True)
        return _form(request, "signin_root.html", 401, error=str(exc), account=account_text)
    login_event.record(
        app.db,
        login_event.identity(account, f"arn:aws:iam::{account}:root", account, None),
        is_success=True,
        is_mfa=False,
        source_ip=_ip(request),
        user_agent=_agent(request),
        now=now,
        login_to=_login_to(request),
    )
    response = pages.redirect("/console/home")
    return pages.set_session(response, request, app, cookies.new(token, must_change_password=False))


async def sign_out(request: Request) -> Response:
    """POST only, with the session's CSRF token: the session ends (every copy of its cookie with it)
    and the cookie is cleared."""
    app = pages.ostiary_app(request)
    console = cookies.open_cookie(app.keyring, request.cookies.get(cookies.COOKIE), datetime.now(UTC))
    try:
        form = dict(await pages.read_form(request))
    except pages.FormRefused:
        form = {}
    if console is not None and not cookies.same_token(console.csrf, form.get(pages.CSRF_FIELD)):
        return pages.render(request, "refused.html", 403, message="the form's CSRF token is missing or wrong")
    if console is not None:  # ended for every copy of the cookie, on every node
        now = datetime.now(UTC)
        until = console.base(app.keyring, now).expires_at
        await asyncio.to_thread(cookies.sign_out, app.db, console, now, until)
    response = pages.redirect("/console/signin")
    response.delete_cookie(cookies.COOKIE, path="/console")
    return response


@pages.page
async def password_page(visit: pages.Visit) -> Response:
    """ChangePassword as the person (the only call a must-change session may make), then the console."""
    if visit.request.method == "GET":
        policy = await _password_policy(visit)
        return visit.render("password.html", policy=policy)
    new, again = visit.form.get("newpassword", ""), visit.form.get("confirmpassword", "")
    if not hmac.compare_digest(new.encode(), again.encode()):
        policy = await _password_policy(visit)
        return visit.render("password.html", 400, policy=policy, error="The new passwords do not match.")
    try:
        await visit.call("ChangePassword", OldPassword=visit.form.get("oldpassword", ""), NewPassword=new)
    except AwsError as exc:
        if isinstance(exc, AccessDenied):
            raise
        policy = await _password_policy(visit)
        return visit.render("password.html", exc.status, policy=policy, error=exc)
    console = visit.session
    if console.must_change_password:  # the change is made: the session loses its narrowing
        base = console.base(visit.app.keyring, datetime.now(UTC))
        # new credentials, not the narrowed ones widened: whatever was decided for those stays theirs
        widened = replace(
            base,
            access_key_id=tokens.temporary_key_id(base.account_id),
            secret=secrets.token_urlsafe(30),
            policy=None,
            has_session_policy=False,
        )
        console = replace(console, token=tokens.seal(visit.app.keyring, widened), must_change_password=False)
    response = pages.redirect("/console/home?changed=1")
    return pages.set_session(response, visit.request, visit.app, console)


async def _password_policy(visit: pages.Visit) -> dict[str, Any] | None:
    try:
        policy: dict[str, Any] = (await visit.call("GetAccountPasswordPolicy"))["PasswordPolicy"]
    except AwsError:  # none set, or not allowed to read it: the form does without
        return None
    return policy


def _signed_in(request: Request, credentials: dict[str, Any], now: datetime) -> Response:
    app = pages.ostiary_app(request)
    account, must_change = credentials["AccountId"], bool(credentials["PasswordResetRequired"])
    session = tokens.open_token(app.keyring, credentials["SessionToken"], now)
    login_event.record(
        app.db,
        login_event.identity(account, session.arn, session.user_id, credentials["UserName"]),
        is_success=True,
        is_mfa=bool(credentials["MultiFactorAuthPresent"]),
        source_ip=_ip(request),
        user_agent=_agent(request),
        now=now,
        login_to=_login_to(request),
    )
    response = pages.redirect("/console/password" if must_change else "/console/home")
    return pages.set_session(response, request, app, cookies.new(credentials["SessionToken"], must_change))


def _root_token(app: OstiaryApp, account: str, key_id: str, secret: str, now: datetime) -> str:
    """The sealed session of the root, when the key is one of the account's active root keys."""
    subjects = throttle.root_sign_in_subjects(account)
    try:
        with app.db.transaction() as conn:
            throttle.attempt(conn, subjects, now)
    except Throttling as exc:
        raise SignInRefused(exc.message, exc.until if isinstance(exc, throttle.Paused) else None) from exc
    with app.db.read() as conn:
        owner = access_keys.find_owner(conn, app.keyring, key_id) if key_id.isalnum() else None
    expected = owner.secret if owner is not None else secrets.token_urlsafe(30)
    matches = hmac.compare_digest(expected.encode(), secret.encode())
    if owner is None or not matches or owner.user_id is not None or owner.account_id != account:
        raise SignInRefused(_INCORRECT)
    if owner.status != "Active":
        raise SignInRefused(_INCORRECT)
    with app.db.transaction() as conn:
        throttle.succeeded(conn, subjects)
    session = Session(
        access_key_id=tokens.temporary_key_id(account),
        secret=secrets.token_urlsafe(30),
        account_id=account,
        principal_type="Account",
        arn=f"arn:aws:iam::{account}:root",
        user_id=account,
        issued_at=now,
        expires_at=now + timedelta(seconds=CONSOLE_SESSION_SECONDS),
    )
    return tokens.seal(app.keyring, session)


def _account_of(request: Request, text: str) -> str:
    """The account an `Account ID or alias` names (unknown aliases stay as typed: refused later, alike)."""
    text = text[:_ACCOUNT_FIELD_MAX]
    if text.isascii() and text.isdigit() and len(text) == 12:
        return text
    app = pages.ostiary_app(request)
    with app.db.read() as conn:
        found = accounts.with_alias(conn, text.lower()) if text else None
    return found or text


def _record_failure(
    request: Request,
    account: str,
    user_name: str,
    now: datetime,
    *,
    is_mfa: bool = False,
    is_root: bool = False,
) -> None:
    app = pages.ostiary_app(request)
    if not (account.isascii() and account.isdigit() and len(account) == 12):
        return  # no account to hold the record
    with app.db.read() as conn:
        if not accounts.exists(conn, account):
            return
        user = None if is_root else users.find(conn, account, user_name)
    # the trail names a user that exists (never a name that does not: it may be a mistyped password)
    arn, principal_id = (f"arn:aws:iam::{account}:root", account) if is_root else (None, None)
    if user is not None:
        arn, principal_id = f"arn:aws:iam::{account}:user{user.path}{user.name}", user.user_id
    login_event.record(
        app.db,
        login_event.identity(account, arn, principal_id, user_name),
        is_success=False,
        is_mfa=is_mfa,
        source_ip=_ip(request),
        user_agent=_agent(request),
        now=now,
        login_to=_login_to(request),
    )


async def _checked_form(request: Request) -> dict[str, str] | None:
    """The form, when its CSRF token is the one the sign-in cookie holds; None otherwise."""
    try:
        form = dict(await pages.read_form(request))
    except pages.FormRefused:
        return None
    if not cookies.same_token(request.cookies.get(cookies.PRE_CSRF_COOKIE, ""), form.get(pages.CSRF_FIELD)):
        return None
    return form


def _form(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """A sign-in form with a fresh pre-session CSRF token (double submit: cookie and field)."""
    token = request.cookies.get(cookies.PRE_CSRF_COOKIE) or secrets.token_urlsafe(32)
    if len(token) != 43:
        token = secrets.token_urlsafe(32)
    response = pages.render(request, template, status, csrf=token, **context)
    response.set_cookie(
        cookies.PRE_CSRF_COOKIE,
        token,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def _unless_paused(subject: str, now: datetime, check: Callable[..., _T], *args: Any) -> _T:
    """`check(*args)` on the sign-in threads, unless this process saw `subject` paused: then refused at
    once, as the store would refuse it (a refusal that carries a pause's end is remembered)."""
    if _PAUSES.is_paused(subject, now):
        raise SignInRefused(throttle.RATE_EXCEEDED)
    try:
        return await _checked(check, *args)
    except SignInRefused as exc:
        if exc.paused_until is not None:
            _PAUSES.remember(subject, exc.paused_until, now)
        raise


async def _checked(check: Callable[..., _T], *args: Any) -> _T:
    """`check(*args)` on the sign-in threads (as `asyncio.to_thread` would, context included)."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, check, *args)
    return await asyncio.get_running_loop().run_in_executor(_CHECKS, call)


def _bounded(password: str) -> str:
    """The password as typed when IAM could hold it (at most 128 characters), else one that never matches:
    argon2 is not asked to hash a form's worth of text."""
    return password if len(password) <= _MAX_PASSWORD else ""


def _ip(request: Request) -> str:
    return request.client.host if request.client else "127.0.0.1"


def _agent(request: Request) -> str:
    return request.headers.get("user-agent", "")[:256]


def _login_to(request: Request) -> str:
    return str(request.url_for("home"))
