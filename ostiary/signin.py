"""Console sign-in: an IAM user's password (and MFA code, when the user has a device) yields a session.

The session is what GetSessionToken gives the user (their own permissions, sealed token), marked
MFA-authenticated when a code was verified. A password that must be changed (PasswordResetRequired,
or older than the policy's MaxPasswordAge) yields a session narrowed to changing it, as the AWS
console does; with HardExpiry an expired password signs in no more.
"""

from __future__ import annotations

import functools
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher

from ostiary import ids
from ostiary.auth import tokens
from ostiary.auth.tokens import Session
from ostiary.errors import Throttling
from ostiary.services import throttle
from ostiary.services.mfa import accepts_code
from ostiary.services.passwords import password_matches
from ostiary.store import accounts, last_use, login_profiles, mfa, users
from ostiary.store.db import Database
from ostiary.store.keyring import Keyring

CONSOLE_SESSION_SECONDS = 12 * 3600  # unless the login profile's MaxSigninSessionDuration says otherwise
_CHANGE_ONLY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iam:ChangePassword", "iam:GetAccountPasswordPolicy"],
                "Resource": "*",
            }
        ],
    },
    separators=(",", ":"),
)


class SignInRefused(Exception):
    """The sign-in failed; the message is the console's (it never says which part was wrong).

    `paused_until` is set when the refusal is a pause: every sign-in of that name is refused until then.
    """

    def __init__(self, message: str, paused_until: datetime | None = None) -> None:
        super().__init__(message)
        self.paused_until = paused_until


class MfaRequired(SignInRefused):
    """The password was right, but the user has an MFA device and no valid code was given."""


@dataclass(frozen=True)
class _Account:
    user: Any
    profile: Any
    policy: dict[str, Any]
    serials: list[str]


_INCORRECT = "Your authentication information is incorrect. Please try again."


def sign_in(
    db: Database,
    keyring: Keyring,
    account: str,
    user_name: str,
    password: str,
    mfa_code: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Credentials of a console session for the user, or SignInRefused/MfaRequired.

    Failed passwords and codes are throttled per user, name and device; while paused, every sign-in
    of the user is refused with AWS's throttling text, before the password is looked at.
    """
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    found = _load(db, account, user_name)
    try:
        _check_password(db, account, user_name, password, found, now)
        assert found is not None  # a right password has its user
        is_mfa = _check_mfa(db, keyring, account, found, mfa_code, now)
    except Throttling as exc:
        raise SignInRefused(exc.message, exc.until if isinstance(exc, throttle.Paused) else None) from exc
    with db.transaction() as conn:
        last_use.record_password_use(conn, found.user.user_id, now)  # PasswordLastUsed
    return _credentials(keyring, account, found, is_mfa, _must_change(found, now), now)


def sign_in_with_mfa(
    db: Database, keyring: Keyring, account: str, user_name: str, mfa_code: str, now: datetime | None = None
) -> dict[str, Any]:
    """The second step of a sign-in whose password `sign_in` verified (it raised MfaRequired): the
    console asks for the code on its own page. The code is throttled as in `sign_in`."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    found = _load(db, account, user_name)
    if found is None:
        raise SignInRefused(_INCORRECT)
    try:
        is_mfa = _check_mfa(db, keyring, account, found, mfa_code, now)
    except Throttling as exc:
        raise SignInRefused(exc.message) from exc
    with db.transaction() as conn:
        last_use.record_password_use(conn, found.user.user_id, now)
    return _credentials(keyring, account, found, is_mfa, _must_change(found, now), now)


def _credentials(
    keyring: Keyring, account: str, found: _Account, is_mfa: bool, must_change: bool, now: datetime
) -> dict[str, Any]:
    session = Session(
        access_key_id=tokens.temporary_key_id(account),
        secret=ids.secret_access_key(),
        account_id=account,
        principal_type="User",
        arn=f"arn:aws:iam::{account}:user{found.user.path}{found.user.name}",
        user_id=found.user.user_id,
        issued_at=now,
        expires_at=now
        + timedelta(seconds=found.profile.max_signin_session_duration or CONSOLE_SESSION_SECONDS),
        user_name=found.user.name,
        user_path=found.user.path,
        source_user_id=found.user.user_id,
        is_mfa_authenticated=is_mfa,
        mfa_authenticated_at=now if is_mfa else None,
        policy=_CHANGE_ONLY if must_change else None,
        has_session_policy=must_change,
    )
    return {
        "AccountId": account,
        "UserName": found.user.name,
        "Arn": session.arn,
        "AccessKeyId": session.access_key_id,
        "SecretAccessKey": session.secret,
        "SessionToken": tokens.seal(keyring, session),
        "Expiration": session.expires_at.isoformat().replace("+00:00", "Z"),
        "MultiFactorAuthPresent": is_mfa,
        "PasswordResetRequired": must_change,
    }


def _load(db: Database, account: str, user_name: str) -> _Account | None:
    with db.read() as conn:
        user = users.find(conn, account, user_name)
        if user is None:
            return None
        profile = login_profiles.get(conn, user.user_id)
        if profile is None:
            return None
        serials = [row.serial_number for row in mfa.user_page(conn, user.user_id, None, 100).rows]
        return _Account(user, profile, accounts.password_policy(conn, account) or {}, serials)


def _check_password(
    db: Database, account: str, user_name: str, password: str, found: _Account | None, now: datetime
) -> None:
    """SignInRefused unless the password is right; Throttling while the user or its devices are paused.

    The devices are checked first too, so that a pause after the password would not tell that the
    password was right.
    """
    user_id = found.user.user_id if found is not None else None
    subjects = throttle.password_subjects(user_id, account, user_name)
    with db.transaction() as conn:
        if found is not None and found.serials:
            throttle.check(conn, throttle.mfa_subjects(found.user.user_id, found.serials), now)
        throttle.attempt(conn, subjects, now)
    password_hash = found.profile.password_hash if found is not None else _no_user_hash()
    if not password_matches(password_hash, password) or found is None:
        raise SignInRefused(_INCORRECT)
    with db.transaction() as conn:
        throttle.succeeded(conn, subjects)


@functools.cache
def _no_user_hash() -> str:
    """A hash no password matches, checked for a name with no user (or no password): refusing it takes
    as long as refusing a wrong password, so the time does not tell which names exist."""
    return PasswordHasher().hash(secrets.token_urlsafe(32))


def _check_mfa(
    db: Database, keyring: Keyring, account: str, found: _Account, code: str | None, now: datetime
) -> bool:
    """True when the user has a device and a code verified; MfaRequired when one has but none did.

    One code is one attempt, however many devices it is checked against.
    """
    if not found.serials:
        return False
    if code:
        subjects = throttle.mfa_subjects(found.user.user_id, found.serials)
        with db.transaction() as conn:
            throttle.attempt(conn, subjects, now)
            for serial in found.serials:
                row = mfa.find(conn, account, serial, lock=True)
                if row is not None and row.user_id == found.user.user_id:
                    if accepts_code(conn, keyring, row, code, now):
                        throttle.succeeded(conn, subjects)
                        return True
    raise MfaRequired(_INCORRECT)


def _must_change(found: _Account, now: datetime) -> bool:
    """Whether the password must be changed now; SignInRefused when it expired under HardExpiry."""
    max_age = found.policy.get("MaxPasswordAge")
    changed = found.profile.password_changed_at
    if changed is not None and changed.tzinfo is None:
        changed = changed.replace(tzinfo=UTC)
    expired = bool(max_age) and changed is not None and now >= changed + timedelta(days=int(max_age))
    if expired and found.policy.get("HardExpiry"):
        raise SignInRefused("Your password has expired. Contact your administrator.")
    return expired or bool(found.profile.password_reset_required)
