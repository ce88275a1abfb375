"""Login profiles: console passwords of users, hashed with argon2id, checked against the password policy."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher

from ostiary.errors import EntityAlreadyExistsException, NoSuchEntityException, ValidationError
from ostiary.services import Context, operation
from ostiary.services._signin_duration import signin_change, with_signin
from ostiary.services.account import check_password
from ostiary.services.passwords import check_reuse
from ostiary.services.users import own_name
from ostiary.services.users import require as require_user
from ostiary.store import login_profiles as store
from ostiary.store.users import utc

_hasher = PasswordHasher()  # argon2id with argon2-cffi's defaults; slow by design, so only here


def _hash(ctx: Context, user_id: str, password: str | None) -> str:
    """The argon2id hash of a password that the account policy accepts (reuse prevention included)."""
    if password is None:
        raise ValidationError("Password is required.")
    check_password(ctx, password)
    check_reuse(ctx, user_id, password)
    return _hasher.hash(password)


def _not_found(name: str) -> NoSuchEntityException:
    return NoSuchEntityException(f"Login Profile for User {name} cannot be found.")


@operation("CreateLoginProfile", blocking=True)  # argon2
def create_login_profile(
    ctx: Context,
    user_name: str | None = None,
    password: str | None = None,
    password_reset_required: bool = False,
    max_signin_session_duration: int | None = None,
) -> dict[str, Any]:
    name = own_name(ctx, user_name)
    with ctx.db.read() as conn:
        user = require_user(conn, ctx.account_id, name)
    password_hash = _hash(ctx, user.user_id, password)  # outside the write transaction: it takes a while
    taken = EntityAlreadyExistsException(f"Login Profile for user {name} already exists.")
    with ctx.db.transaction(on_conflict=taken) as conn:
        user = require_user(conn, ctx.account_id, name)
        if store.get(conn, user.user_id) is not None:
            raise taken
        store.insert(
            conn, user.user_id, password_hash, password_reset_required, ctx.now, max_signin_session_duration
        )
    profile = {"UserName": user.name, "CreateDate": ctx.now, "PasswordResetRequired": password_reset_required}
    return {"LoginProfile": with_signin(profile, max_signin_session_duration)}


@operation("GetLoginProfile")
def get_login_profile(ctx: Context, user_name: str | None = None) -> dict[str, Any]:
    name = own_name(ctx, user_name)
    with ctx.db.read() as conn:
        user = require_user(conn, ctx.account_id, name)
        profile = store.get(conn, user.user_id)
    if profile is None:
        raise _not_found(user.name)
    shape = {
        "UserName": user.name,
        "CreateDate": utc(profile.created_at),
        "PasswordResetRequired": profile.password_reset_required,
    }
    return {"LoginProfile": with_signin(shape, profile.max_signin_session_duration)}


@operation("UpdateLoginProfile", blocking=True)
def update_login_profile(
    ctx: Context,
    user_name: str,
    password: str | None = None,
    password_reset_required: bool | None = None,
    max_signin_session_duration: int | None = None,
    reset_max_signin_session_duration: bool | None = None,
) -> dict[str, Any]:
    signin = signin_change(max_signin_session_duration, reset_max_signin_session_duration)
    with ctx.db.read() as conn:
        user = require_user(conn, ctx.account_id, user_name)
        if store.get(conn, user.user_id) is None:
            raise _not_found(user.name)
    password_hash = _hash(ctx, user.user_id, password) if password is not None else None
    with ctx.db.transaction() as conn:
        user = require_user(conn, ctx.account_id, user_name)
        if store.get(conn, user.user_id) is None:
            raise _not_found(user.name)
        store.update_profile(
            conn,
            user.user_id,
            password_hash=password_hash,
            reset_required=password_reset_required,
            now=ctx.now,
            signin=signin,
        )
    return {}


@operation("DeleteLoginProfile")
def delete_login_profile(ctx: Context, user_name: str | None = None) -> dict[str, Any]:
    name = own_name(ctx, user_name)
    with ctx.db.transaction() as conn:
        user = require_user(conn, ctx.account_id, name)
        if store.get(conn, user.user_id) is None:
            raise _not_found(user.name)
        store.delete_profile(conn, user.user_id, ctx.now)
    return {}
