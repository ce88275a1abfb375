"""The console's session: a cookie sealed with the keyring's AEAD, holding the signed-in principal's
sealed session token (and, after a switch, the role's), the CSRF token and what the header shows.

The cookie is HttpOnly, SameSite=Strict, Secure when served over TLS; it expires with the session
token it holds (the console session of AWS: 12 hours for a user). Signing out is kept in the
database until the session would have expired (a `failed_attempts` subject paused until then, so
every node sees it), and a copy of the cookie taken before opens nothing after. A pending MFA step is
a second sealed cookie that lives five minutes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from ostiary.auth import tokens
from ostiary.auth.tokens import Session
from ostiary.errors import AwsError
from ostiary.store import attempts
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring, KeyringError

COOKIE = "ostiary-console"
PENDING_COOKIE = "ostiary-console-mfa"
PRE_CSRF_COOKIE = "ostiary-console-csrf"
PENDING_SECONDS = 300
_PURPOSE = b"console-session:v1"
_PENDING_PURPOSE = b"console-mfa-step:v1"
_MAX_COOKIE = 8192


@dataclass(frozen=True)
class ConsoleSession:
    """One signed-in person: their own session token, the role they switched to, the CSRF token.

    `must_change_password` narrows the console to the password change (the token's session policy
    allows nothing else, so the API would refuse the rest anyway).
    """

    token: str
    csrf: str
    role_token: str | None = None
    role_display: str | None = None
    role_colour: str | None = None
    must_change_password: bool = False

    def base(self, keyring: Keyring, now: datetime) -> Session:
        """The signed-in principal's session; AwsError when it no longer opens or has expired."""
        return tokens.open_token(keyring, self.token, now)

    def active(self, keyring: Keyring, now: datetime) -> Session:
        """The session the console acts as: the switched-to role's, else the principal's own; AwsError
        when either has expired (an expired role session: the page acts as the principal again)."""
        self.base(keyring, now)
        return tokens.open_token(keyring, self.role_token or self.token, now)

    def switched(self, role_token: str | None, display: str | None, colour: str | None) -> ConsoleSession:
        """The same person acting as another role (None: as themselves again)."""
        return replace(self, role_token=role_token, role_display=display, role_colour=colour)


def new(token: str, must_change_password: bool) -> ConsoleSession:
    return ConsoleSession(
        token=token, csrf=secrets.token_urlsafe(32), must_change_password=must_change_password
    )


def seal(keyring: Keyring, session: ConsoleSession) -> str:
    raw = json.dumps(asdict(session), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(keyring.seal(raw, _PURPOSE)).decode().rstrip("=")


def open_cookie(keyring: Keyring, value: str | None, now: datetime) -> ConsoleSession | None:
    """The session a cookie holds, or None when there is none, it does not open, or it has expired."""
    payload = _open(keyring, value, _PURPOSE)
    if payload is None:
        return None
    try:
        session = ConsoleSession(**payload)
        session.base(keyring, now)
    except (TypeError, AwsError):
        return None
    return session


def seal_pending(keyring: Keyring, account: str, user_name: str, now: datetime) -> str:
    """The proof that the password of `user_name` was right, for the MFA step."""
    raw = json.dumps({"a": account, "u": user_name, "t": int(now.timestamp())}).encode()
    return base64.urlsafe_b64encode(keyring.seal(raw, _PENDING_PURPOSE)).decode().rstrip("=")


def open_pending(keyring: Keyring, value: str | None, now: datetime) -> tuple[str, str] | None:
    """(account, user name) of a pending MFA step younger than five minutes, else None."""
    payload = _open(keyring, value, _PENDING_PURPOSE)
    if payload is None:
        return None
    try:
        if not 0 <= now.timestamp() - int(payload["t"]) < PENDING_SECONDS:
            return None
        return str(payload["a"]), str(payload["u"])
    except (KeyError, TypeError, ValueError):
        return None


def sign_out(db: Database, session: ConsoleSession, now: datetime, until: datetime) -> None:
    """End `session` on every node until `until` (when its own token expires anyway)."""
    subject = _signed_out_subject(session)
    with db.transaction() as conn:
        attempts.lock(conn, subject)
        attempts.save(conn, subject, last_failure_at=now, blocked_until=until)


def is_signed_out(db: Database, session: ConsoleSession, now: datetime) -> bool:
    """Whether the person signed out of `session` (a copy of its cookie then opens nothing)."""
    with db.read() as conn:
        until = attempts.blocked_until(conn, _signed_out_subject(session))
    return until is not None and now < until


def _signed_out_subject(session: ConsoleSession) -> str:
    """The session's name in the store: a digest of its CSRF token, which is drawn at sign-in and kept
    through a switch of role or a password change (the token itself is never stored)."""
    return "console-signout:" + hashlib.sha256(session.csrf.encode()).hexdigest()


def same_token(expected: str, given: str | None) -> bool:
    """Whether a form's CSRF token is the session's, compared in constant time."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def _open(keyring: Keyring, value: str | None, purpose: bytes) -> dict[str, Any] | None:
    if not value or len(value) > _MAX_COOKIE:
        return None
    try:
        sealed = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        payload = json.loads(keyring.open(sealed, purpose))
    except (KeyringError, binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None
