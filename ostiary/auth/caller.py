"""The Caller: who a verified request comes from, in IAM's terms."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ostiary.auth.tokens import Session
from ostiary.frozen import quick_init


@quick_init
@dataclass(frozen=True)
class Caller:
    """An authenticated principal.

    `principal_type` is the value of aws:PrincipalType: Account (root), User, AssumedRole,
    FederatedUser, or Service (service-principal credentials). `user_id` is aws:userid (the account
    id for root, AIDA... for users, AROA...:session for assumed roles, account:name for federated
    users). `session` carries the facts of temporary credentials (None for long-term keys):
    issue time, MFA, session policies and tags, the role and, for federated users and
    GetSessionToken sessions, the user whose permissions the session inherits.
    """

    account_id: str
    arn: str
    user_id: str
    principal_type: str
    access_key_id: str
    user_name: str | None = None
    path: str | None = None
    session: Session | None = None

    @property
    def is_root(self) -> bool:
        return self.principal_type == "Account"

    @property
    def is_temporary(self) -> bool:
        return self.session is not None


@functools.lru_cache(maxsize=4096)  # the same immutable caller at each request of a key
def root_caller(account_id: str, access_key_id: str) -> Caller:
    return Caller(
        account_id=account_id,
        arn=f"arn:aws:iam::{account_id}:root",
        user_id=account_id,
        principal_type="Account",
        access_key_id=access_key_id,
    )


@functools.lru_cache(maxsize=4096)
def user_caller(account_id: str, user_id: str, name: str, path: str, access_key_id: str) -> Caller:
    return Caller(
        account_id=account_id,
        arn=f"arn:aws:iam::{account_id}:user{path}{name}",
        user_id=user_id,
        principal_type="User",
        access_key_id=access_key_id,
        user_name=name,
        path=path,
    )


def session_caller(session: Session) -> Caller:
    """The caller that temporary credentials stand for (user name and path only for IAM users)."""
    return Caller(
        account_id=session.account_id,
        arn=session.arn,
        user_id=session.user_id,
        principal_type=session.principal_type,
        access_key_id=session.access_key_id,
        user_name=session.user_name if session.principal_type == "User" else None,
        path=session.user_path if session.principal_type == "User" else None,
        session=session,
    )
