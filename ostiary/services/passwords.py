"""ChangePassword: an IAM user changes their own console password.

The old password is checked with argon2; the new one must satisfy the account's password policy
and, when the policy prevents reuse, differ from each of the user's last N passwords (the current one
and the history kept by the store). A change clears PasswordResetRequired.
"""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ostiary.errors import (
    InvalidUserTypeException,
    NoSuchEntityException,
    PasswordPolicyViolationException,
)
from ostiary.services import Context, operation, throttle
from ostiary.services.account import check_password
from ostiary.store import accounts
from ostiary.store import login_profiles as store

_hasher = PasswordHasher()  # argon2id; slow by design, so only on password paths
_POLICY_VIOLATION = "Password does not conform to the account password policy."


def password_matches(password_hash: str, password: str) -> bool:
    """Whether `password` is the one hashed in `password_hash` (argon2id)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_reuse(ctx: Context, user_id: str, password: str) -> None:
    """Refuse a password equal to one of the user's last N, N being the policy's PasswordReusePrevention."""
    with ctx.db.read() as conn:
        count = (accounts.password_policy(conn, ctx.account_id) or {}).get("PasswordReusePrevention") or 0
        hashes = store.recent_hashes(conn, user_id, count) if count else []
    if any(password_matches(old, password) for old in hashes):
        raise PasswordPolicyViolationException(_POLICY_VIOLATION)


@operation("ChangePassword", blocking=True)  # argon2
def change_password(ctx: Context, old_password: str, new_password: str) -> dict[str, Any]:
    """Change the calling IAM user's own console password."""
    caller = ctx.caller
    if caller.principal_type != "User" or caller.user_name is None:
        raise InvalidUserTypeException("Only IAM Users can change their own password.")
    with ctx.db.read() as conn:
        profile = store.get(conn, caller.user_id)
    if profile is None:
        raise NoSuchEntityException(f"Login Profile for User {caller.user_name} cannot be found.")
    subjects = throttle.password_subjects(caller.user_id)  # else a guessing oracle for the password
    with ctx.db.transaction() as conn:
        throttle.attempt(conn, subjects, ctx.now)
    if not password_matches(profile.password_hash, old_password):
        raise InvalidUserTypeException("The old password is incorrect.")
    with ctx.db.transaction() as conn:
        throttle.succeeded(conn, subjects)
    check_password(ctx, new_password)
    check_reuse(ctx, caller.user_id, new_password)
    new_hash = _hasher.hash(new_password)  # outside the write transaction: it takes a while
    with ctx.db.transaction() as conn:
        store.update_profile(conn, caller.user_id, password_hash=new_hash, reset_required=False, now=ctx.now)
    return {}
